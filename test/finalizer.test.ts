import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { MemoryWindow } from '../src/capture/backend.ts'
import { MemoryFinalizer } from '../src/capture/finalizer.ts'
import { fakeTracker } from './helpers.ts'

function windowAt (startMs: number): MemoryWindow {
  return { startMs, endMs: startMs + 1, heapUsedBefore: 1000, heapUsedAfter: 1000, externalBefore: 0, externalAfter: 0, forcedFromMs: Infinity }
}

test('records wait in a bounded ring and are completed oldest first: by size, by GC report, or when read', async () => {
  const { tracker, gcs } = fakeTracker()
  const f = new MemoryFinalizer(tracker, 3)
  const built = [0, 10, 20, 30, 40].map((t) => {
    const w = windowAt(t)
    return { id: `r${t}`, w, m: f.build('test', w, 0, 0, false, []) }
  })
  for (const b of built) assert.equal(b.m.final, false)
  // A GC inside r10's window, reported only after its record was built.
  gcs.push({ startMs: 10.5, durationMs: 0.2, kind: 'minor', heapUsedBefore: 5000, heapUsedAfter: 500 })
  for (const b of built) f.finalizeLater(b.id, b.w, b.m)
  // Capacity 3: the two oldest were completed to make room, r10 with the GC it missed.
  assert.deepEqual(built.map((b) => b.m.final), [true, true, false, false, false])
  assert.equal(built[1]?.m.gc.count, 1)
  assert.equal(built[0]?.m.gc.count, 0)
  // A GC reported that started after r30 ended: r20 and r30 are final, r40 waits.
  f.onGcReported(35)
  assert.deepEqual(built.map((b) => b.m.final), [true, true, true, true, false])
  await f.settle('r40')
  assert.equal(built[4]?.m.final, true)
  await f.settle('unknown')
  // The ring is empty and reusable.
  const w = windowAt(50)
  const m = f.build('test', w, 0, 0, false, [])
  f.finalizeLater('r50', w, m)
  f.clear()
  f.onGcReported(1e9)
  assert.equal(m.final, false, 'cleared records are forgotten, not completed')
})

test('settling without pairing completes records up to the first whose window waits for a GC\'s figures; pairing completes the rest', async () => {
  const { tracker, unpaired } = fakeTracker()
  const f = new MemoryFinalizer(tracker, 10)
  const built = [0, 10, 20].map((t) => {
    const w = windowAt(t)
    const b = { id: `r${t}`, w, m: f.build('test', w, 0, 0, false, []) }
    f.finalizeLater(b.id, b.w, b.m)
    return b
  })
  // A GC in r10's window was reported; its heap figures need a profiler swap.
  unpaired.push({ startMs: 10.5, durationMs: 0.2, kind: 'minor', heapUsedBefore: 5000, heapUsedAfter: 500 })
  assert.equal(await f.settle('r20', false), false)
  assert.deepEqual(built.map((b) => b.m.final), [true, false, false])
  assert.equal(unpaired.length, 1, 'nothing was paired')
  assert.equal(await f.settle('r20'), true)
  assert.deepEqual(built.map((b) => b.m.final), [true, true, true])
  assert.equal(built[1]?.m.gc.count, 1)
  assert.equal(built[2]?.m.gc.count, 0)
  // Records that left the ring are final already.
  assert.equal(await f.settle('r0', false), true)
})
