import { test } from 'node:test'
import assert from 'node:assert/strict'
import { performance, PerformanceObserver } from 'node:perf_hooks'
import { setImmediate as tick } from 'node:timers/promises'
import { GcTracker } from '../src/capture/gc-tracker.ts'
import { buildArrays, forceGc, MiB } from './helpers.ts'

test('pairs each GC\'s time with its heap figures', async (t) => {
  const tracker = new GcTracker()
  assert.equal(tracker.acquire(), undefined)
  t.after(() => tracker.release())
  let chunks: number[][] | null = buildArrays(20)
  const from = performance.now()
  chunks = null
  await forceGc()
  const to = performance.now()
  await tick()
  tracker.sync()
  const gcs = tracker.between(from, to)
  const major = gcs.find((g) => g.kind === 'major')
  assert.ok(major, `a major GC between ${from} and ${to}: ${JSON.stringify(gcs)}`)
  // The forced collection frees the arrays, but not always alone: young ones can go in a scavenge
  // just before it, and marking V8 had started while they were alive can finish first. Together
  // the window's GCs free them.
  const freed = gcs.reduce((sum, g) => sum + g.heapUsedBefore - g.heapUsedAfter, 0)
  assert.ok(freed >= 20 * MiB, `the window's GCs freed the 20 MiB: ${JSON.stringify(gcs)}`)
  assert.ok(major.durationMs > 0)
  assert.equal(chunks, null)
})

test('stays in step over many GCs of every kind', async (t) => {
  const tracker = new GcTracker()
  tracker.acquire()
  t.after(() => tracker.release())
  const from = performance.now()
  let junk: unknown[] = []
  for (let round = 0; round < 40; round++) {
    for (let i = 0; i < 20000; i++) junk.push({ i, s: `x${i}` })
    if (round % 5 === 0) junk = []
    await tick()
  }
  await forceGc()
  await tick()
  tracker.sync()
  const gcs = tracker.between(from, performance.now())
  assert.ok(gcs.length >= 3, `saw ${gcs.length} GCs`)
  for (const g of gcs) {
    assert.ok(g.heapUsedBefore > 0 && g.heapUsedAfter > 0)
    if (g.kind === 'minor' || g.kind === 'major') assert.ok(g.heapUsedAfter <= g.heapUsedBefore + 64 * 1024, JSON.stringify(g))
  }
  for (let i = 1; i < gcs.length; i++) assert.ok((gcs[i]?.startMs ?? 0) >= (gcs[i - 1]?.startMs ?? 0))
})

test('release by the last user stops tracking; a new acquire starts clean', () => {
  const tracker = new GcTracker()
  tracker.acquire()
  tracker.acquire()
  tracker.release()
  assert.equal(tracker.active, true)
  tracker.release()
  assert.equal(tracker.active, false)
  assert.equal(tracker.events.length, 0)
  tracker.release()
  assert.equal(tracker.acquire(), undefined)
  tracker.release()
})

test('pairs reported GCs when a window asks for them, not on every report (a swapped profiler writes until collected)', async (t) => {
  const tracker = new GcTracker()
  tracker.acquire()
  t.after(() => tracker.release())
  let reported = 0
  const observer = new PerformanceObserver((list) => { reported += list.getEntries().length })
  observer.observe({ entryTypes: ['gc'] })
  t.after(() => observer.disconnect())
  const from = performance.now()
  let junk: unknown[] = []
  // A few scavenges, each reported before the next: fewer than a batch.
  for (let round = 0; round < 200; round++) {
    if (reported >= 3) break
    for (let i = 0; i < 20000; i++) junk.push({ i })
    junk = []
    await tick()
    await tick()
  }
  assert.ok(reported >= 1, 'the observer reported GCs')
  assert.equal(tracker.events.length, 0, 'reported GCs wait for a window or a reader')
  const gcs = tracker.between(from, performance.now())
  assert.ok(gcs.length >= reported, `a window asking for them gets them paired: ${gcs.length} of ${reported}`)
  for (const g of gcs) assert.ok(g.heapUsedBefore > 0 && g.heapUsedAfter > 0)
})
