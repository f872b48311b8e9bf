import { test } from 'node:test'
import assert from 'node:assert/strict'
import { windowFigures, MAX_GC_EVENTS } from '../src/capture/figures.ts'
import type { MemoryWindow } from '../src/capture/backend.ts'
import type { TrackedGc } from '../src/capture/gc-tracker.ts'

const MB = 1_000_000
const w = (before: number, after: number, forcedFromMs = Infinity): MemoryWindow => ({ startMs: 100, endMs: 200, heapUsedBefore: before, heapUsedAfter: after, externalBefore: 0, externalAfter: 0, forcedFromMs })
const gc = (startMs: number, before: number, after: number, kind: TrackedGc['kind'] = 'major'): TrackedGc => ({ startMs, durationMs: 2, kind, heapUsedBefore: before, heapUsedAfter: after })

test('without GCs the peak is the higher end and allocated is the delta', () => {
  const f = windowFigures(w(10 * MB, 12 * MB), [])
  assert.equal(f.peakHeapUsed, 12 * MB)
  assert.equal(f.allocatedBytes, 2 * MB)
  assert.equal(f.gc.count, 0)
})

test('a 50 MB spike freed by a GC before the reply shows +50 MB peak while the delta is 0', () => {
  const f = windowFigures(w(10 * MB, 10 * MB), [gc(150, 60 * MB, 10 * MB)])
  assert.equal(f.peakHeapUsed, 60 * MB)
  assert.equal(f.allocatedBytes, 50 * MB)
  assert.equal(f.gc.count, 1)
  assert.equal(f.gc.events[0]?.offsetMs, 50)
})

test('allocated adds what every GC inside the window reclaimed', () => {
  const f = windowFigures(w(10 * MB, 15 * MB), [gc(120, 20 * MB, 8 * MB, 'minor'), gc(160, 30 * MB, 12 * MB)])
  assert.equal(f.allocatedBytes, 5 * MB + 12 * MB + 18 * MB)
  assert.equal(f.peakHeapUsed, 30 * MB)
  assert.equal(f.gc.pauseMs, 4)
})

test('GCs forced by precise mode count for peak and allocated but not as the request\'s GCs', () => {
  const f = windowFigures(w(10 * MB, 10 * MB, 190), [gc(150, 20 * MB, 15 * MB), gc(190, 40 * MB, 10 * MB)])
  assert.equal(f.gc.count, 1)
  assert.equal(f.gc.forced, 1)
  assert.equal(f.peakHeapUsed, 40 * MB)
})

test('lists at most MAX_GC_EVENTS GCs but counts them all', () => {
  const many = Array.from({ length: MAX_GC_EVENTS + 10 }, (_, i) => gc(101 + i / 10, 11 * MB, 10 * MB, 'minor'))
  const f = windowFigures(w(10 * MB, 10 * MB), many)
  assert.equal(f.gc.events.length, MAX_GC_EVENTS)
  assert.equal(f.gc.count, MAX_GC_EVENTS + 10)
})
