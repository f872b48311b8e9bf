// Ground truth for allocation sites: a handler calls a named function that allocates a known
// amount (measured here with forced GCs, outside any request), and the record's top site must be
// that function, in its file, with bytes within the tolerances asserted below.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import v8 from 'node:v8'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { appWithToolbar, forceGc, MiB, recordOf } from './helpers.ts'
import { buildDoubleArrays, buildPoints } from './fixtures/allocators.ts'
import type { AllocationsRecord, ProfileNode } from '../src/allocations/types.ts'
import { chooseSampler } from '../src/capture/sampler.ts'

let kept: unknown[] = []

/** Bytes a call leaves on the heap, after full GCs on both sides (the call's result is kept). */
async function retainedBy (fn: () => unknown): Promise<number> {
  await forceGc()
  await forceGc()
  const before = v8.getHeapStatistics().used_heap_size
  const result = fn()
  await forceGc()
  const after = v8.getHeapStatistics().used_heap_size
  kept.push(result)
  return after - before
}

async function samplingApp (sampler: 'native' | 'inspector') {
  return await appWithToolbar({ maxRequests: 200, allocations: { sampler } }, (a) => {
    a.get('/doubles', async () => { kept.push(buildDoubleArrays(128)); return { ok: true } })
    a.get('/points', async () => { kept.push(buildPoints(150_000)); return { ok: true } })
    a.get('/retain-24', async () => { kept.push(buildDoubleArrays(384)); return { ok: true } })
    a.get('/churn', async () => ({ n: buildPoints(150_000).length }))
  })
}

async function sitesOf (app: Awaited<ReturnType<typeof samplingApp>>, url: string): Promise<AllocationsRecord> {
  const res = await app.inject(url)
  assert.equal(res.statusCode, 200)
  const r = await recordOf(app, res.headers['x-debug-toolbar-id'])
  const a = r.memory.allocations
  assert.ok(a !== undefined && 'sites' in a, `sampled: ${JSON.stringify(a)}`)
  return a
}

function within (actual: number, truth: number, tolerance: number, label: string, t?: { diagnostic: (m: string) => void }): void {
  const error = (actual - truth) / truth
  t?.diagnostic(`${label}: ${(actual / MiB).toFixed(2)} MiB sampled, ${(truth / MiB).toFixed(2)} MiB true (${(error * 100).toFixed(1)}%)`)
  assert.ok(Math.abs(error) <= tolerance, `${label}: ${(actual / MiB).toFixed(2)} MiB against ${(truth / MiB).toFixed(2)} MiB (${(error * 100).toFixed(1)}%, allowed ±${tolerance * 100}%)`)
}

for (const [path, fn, name] of [
  ['/doubles', () => buildDoubleArrays(128), 'buildDoubleArrays'],
  ['/points', () => buildPoints(150_000), 'buildPoints']
] as const) {
  test(`native sampler at the default interval: ${name} is the top site, in its file, within ±15% of what it allocated`, async (t) => {
    const app = await samplingApp('native')
    t.after(async () => { kept = []; await app.close() })
    const truth = await retainedBy(fn)
    kept = []
    // Warm the route once (first calls compile code and allocate feedback vectors).
    await sitesOf(app, path)
    const measured: number[] = []
    for (let i = 0; i < 5; i++) {
      const a = await sitesOf(app, path)
      kept = []
      assert.equal(a.sampler, 'native')
      assert.equal(a.meaning, 'allocated')
      assert.equal(a.intervalBytes, 16384)
      const top = a.sites[0]
      assert.ok(top !== undefined)
      assert.equal(top.functionName, name)
      assert.match(top.url, /\/test\/fixtures\/allocators\.ts$/)
      // The line of the function's definition, mapped back to the .ts source through tsx's source map.
      assert.equal(top.source?.url.endsWith('/test/fixtures/allocators.ts'), true)
      assert.equal(top.source?.line, name === 'buildDoubleArrays' ? 7 : 14)
      assert.ok(top.stack.at(-1)?.functionName === name && top.stack.length >= 2, 'the stack ends at the site, below its callers')
      // One request is one random draw of V8's sampler: each within ±30% but at most one of the five
      // (on Node 24 a request now and then reads about a third over), their median within ±15%.
      // (The objects stay reachable through the window, so a GC inside it removes none of them.)
      measured.push(top.bytes)
    }
    const outside = measured.map((bytes, i) => ({ bytes, i })).filter(({ bytes }) => Math.abs(bytes - truth) / truth > 0.30)
    for (const { bytes, i } of outside) t.diagnostic(`request ${i} outside ±30%: ${(bytes / MiB).toFixed(2)} MiB against ${(truth / MiB).toFixed(2)} MiB`)
    assert.ok(outside.length <= 1, `${outside.length} of 5 requests outside ±30%: ${measured.map((b) => (b / MiB).toFixed(2)).join(', ')} MiB against ${(truth / MiB).toFixed(2)} MiB`)
    within(measured.sort((x, y) => x - y)[measured.length >> 1] as number, truth, 0.15, 'median', t)
  })
}

test('inspector sampler: a request that retains 24 MiB shows the retaining function within ±10%', async (t) => {
  const app = await samplingApp('inspector')
  t.after(async () => { kept = []; await app.close() })
  const truth = await retainedBy(() => buildDoubleArrays(384))
  kept = []
  await sitesOf(app, '/doubles')
  for (let i = 0; i < 3; i++) {
    const a = await sitesOf(app, '/retain-24')
    assert.equal(a.sampler, 'inspector')
    assert.equal(a.meaning, 'retained')
    const top = a.sites[0]
    assert.ok(top !== undefined)
    assert.equal(top.functionName, 'buildDoubleArrays')
    within(top.bytes, truth, 0.10, `request ${i}`, t)
  }
})

test('inspector sampler: what a request allocated and dropped is not retained', async (t) => {
  const app = await samplingApp('inspector')
  t.after(async () => { kept = []; await app.close() })
  await sitesOf(app, '/churn')
  const a = await sitesOf(app, '/churn')
  const points = a.sites.find((s) => s.functionName === 'buildPoints')
  assert.ok(points === undefined || points.bytes < 0.5 * MiB, `buildPoints retained ${points?.bytes ?? 0} bytes`)
})

test('native sampler: one global handle per live sample, so a window with no new handle and no GC rarely hides a sample', async (t) => {
  const sampler = chooseSampler('native', 16384, 64, () => {})
  assert.ok(!(sampler instanceof Error), 'the native sampler loads here')
  let judged = 0
  let sampledWindows = 0
  /** Windows with samples but no new handle (another handle was released meanwhile): their samples would be skipped. */
  const missed: number[] = []
  /** Windows with a new handle but no sample: read for nothing, harmless. */
  let extraReads = 0
  for (let i = 0; i < 600; i++) {
    const before = v8.getHeapStatistics()
    const hold = sampler.start()
    assert.ok(typeof hold === 'object', `window ${i} opened (${String(hold)})`)
    // 0 to ~100 KB of small objects: from "surely no sample" to "surely several".
    const n = (i % 12) * 250
    const made: Array<{ i: number }> = []
    for (let j = 0; j < n; j++) made.push({ i: j })
    kept.push(made)
    const after = v8.getHeapStatistics()
    const profile = hold.stop(false)
    assert.ok(profile !== undefined)
    if (kept.length > 20) kept.shift()
    if (after.used_heap_size < before.used_heap_size) continue // a GC ran inside the window: always read
    judged++
    const samples = sampleCount(profile.root)
    const newHandle = after.used_global_handles_size !== before.used_global_handles_size
    if (samples > 0) sampledWindows++
    if (samples > 0 && !newHandle) missed.push(samples)
    if (samples === 0 && newHandle) extraReads++
  }
  kept = []
  t.diagnostic(`${judged} windows without a GC, ${sampledWindows} with samples; skipped with samples: ${missed.length} (${missed.join(', ') || 'none'} samples); read with none: ${extraReads}`)
  assert.ok(judged > 400 && sampledWindows > 200)
  // About 1% of windows on Node 20, up to 1.3% seen on Node 22 (8 of 597), each with one sample.
  assert.ok(missed.length <= judged / 40, `${missed.length} windows would have lost samples`)
  for (const m of missed) assert.ok(m <= 2, `a skipped window had ${m} samples`)
})

test('native sampler: a request with no sample skips the read and says so; one with samples is read', (t) => {
  // At one sample a MiB, a ~2 KB request is rarely sampled; an 8 MiB one always is.
  const out = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fixtures/skip-read.ts', import.meta.url))], { encoding: 'utf8', timeout: 60_000 })
  const { tiny, big } = JSON.parse(out.trim().split('\n').at(-1) as string) as { tiny: AllocationsRecord[], big: { unread?: boolean, samples: number, top?: string } }
  const unread = tiny.filter((a) => a.unread === true)
  t.diagnostic(`${unread.length} of ${tiny.length} tiny requests skipped the read`)
  for (const a of unread) {
    assert.equal(a.samples, 0)
    assert.equal(a.hasProfile, false)
    assert.deepEqual(a.sites, [])
  }
  assert.ok(unread.length >= 12, `${unread.length} of 20 tiny requests skipped the read`)
  assert.notEqual(big.unread, true)
  assert.ok(big.samples > 0 && big.top === 'buildDoubleArrays', JSON.stringify(big))
})

function sampleCount (n: ProfileNode): number {
  let c = n.selfSamples
  for (const k of n.children) c += sampleCount(k)
  return c
}
