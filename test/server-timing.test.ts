import { test } from 'node:test'
import assert from 'node:assert/strict'
import { compactBytes } from '../src/format.ts'
import { appendServerTiming, serverTimingValue } from '../src/server-timing.ts'

test('formats bytes compactly in SI units', () => {
  assert.equal(compactBytes(0), '0B')
  assert.equal(compactBytes(999), '999B')
  assert.equal(compactBytes(13_600), '13.6kB')
  assert.equal(compactBytes(-2_345_678), '-2.3MB')
  assert.equal(compactBytes(150_000_000), '150MB')
})

test('has memory-profiling with a duration and a memory entry describing the request', () => {
  const v = serverTimingValue({ overheadMs: 0.0123, heapUsedDelta: 2_300_000, peakDelta: 50_000_000, allocatedBytes: 52_000_000, externalDelta: 0, gcCount: 2, precise: true })
  assert.equal(v, 'memory-profiling;dur=0.012, memory;desc="heap +2.3MB, peak +50.0MB, alloc 52.0MB, ext 0B, gc 2, precise"')
})

test('a sampled request adds memory-sampling with the sampler\'s share, naming the inspector\'s forced GC', () => {
  const base = { overheadMs: 1, heapUsedDelta: 0, peakDelta: 0, allocatedBytes: 0, externalDelta: 0, gcCount: 0, precise: false }
  assert.match(serverTimingValue({ ...base, sampling: { sampler: 'native', overheadMs: 0.0456 } }), /, memory-sampling;dur=0\.046;desc="native"$/)
  assert.match(serverTimingValue({ ...base, sampling: { sampler: 'inspector', overheadMs: 7.5 } }), /, memory-sampling;dur=7\.500;desc="inspector, forced full GC"$/)
})

test('appends to the Server-Timing the app set', () => {
  assert.equal(appendServerTiming('db;dur=3', 'x'), 'db;dur=3, x')
  assert.equal(appendServerTiming(['a', 'b'], 'x'), 'a, b, x')
  assert.equal(appendServerTiming(undefined, 'x'), 'x')
})
