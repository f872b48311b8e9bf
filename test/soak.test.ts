// A scaled-down `npm run soak` (bench/soak.ts): a real app with the toolbar on 127.0.0.1 driven by
// autocannon with the soak's request mix, sampled after forced GCs. The full 200,000-request run is
// `npm run soak`; this one keeps the same checks with bounds sized for a few thousand requests.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { gcTracker } from '../src/capture/gc-tracker.ts'
import { SOAK_CONSTANT_BYTES, activeResources, buildSoakApp, drive, judge, listenerTotal, sample, storeFigures, table, type SoakSample } from '../bench/soak.ts'

/** Small enough that an unbounded store (about 2.5 kB a record) would overflow it within the run. */
const MAX_STORE_BYTES = 256 * 1024
const MAX_REQUESTS = 50
const CHUNK = 2000
const CHUNKS = 4
/** Bytes a request the heap may climb across the samples after the first: the noise of a short run is ±0.5 MiB over 6,000 requests. A leak of one record a request is about 2,500. */
const SHORT_RUN_TREND_LIMIT = 300

async function soak (extraRoutes?: (app: Awaited<ReturnType<typeof buildSoakApp>>) => void, chunks = CHUNKS): Promise<{ samples: SoakSample[], url: string }> {
  const app = await buildSoakApp({ maxRequests: MAX_REQUESTS, maxStoreBytes: MAX_STORE_BYTES })
  extraRoutes?.(app)
  try {
    const url = await app.listen({ host: '127.0.0.1', port: 0 })
    const samples = [await sample(app, 0)]
    for (let i = 1; i <= chunks; i++) {
      const r = await drive(url, CHUNK, 10)
      assert.equal(r.errors, 0, 'no connection errors')
      assert.equal(r.timeouts, 0, 'no timeouts')
      assert.ok(r.completed >= CHUNK, `${r.completed} of ${CHUNK} answered`)
      assert.ok(r.s4xx > 0 && r.s5xx > 0 && r.s2xx > r.s4xx, `the mix ran: ${JSON.stringify(r)}`)
      samples.push(await sample(app, i * CHUNK))
    }
    return { samples, url }
  } finally {
    await app.close()
  }
}

test('8,000 mixed requests over 10 connections: heap within the store cap plus a constant, no trend, store capped, no growing resources or listeners', { timeout: 240_000 }, async (t) => {
  const { samples } = await soak()
  t.diagnostic(`\n${table(samples)}`)
  const v = judge(samples, { maxRequests: MAX_REQUESTS, maxStoreBytes: MAX_STORE_BYTES, constantBytes: SOAK_CONSTANT_BYTES, trendBytesPerRequest: SHORT_RUN_TREND_LIMIT })
  t.diagnostic(v.lines.join('\n'))
  assert.ok(v.pass, v.lines.join('\n'))
  const last = samples[samples.length - 1] as SoakSample
  assert.equal(last.storeSize, MAX_REQUESTS, 'the store is full at the end, so the bound was tested with a full store')
  assert.ok(last.storeBytes > 0 && last.storeBytes <= MAX_STORE_BYTES)
  assert.ok(Math.abs(v.slopeBytesPerRequest) < SHORT_RUN_TREND_LIMIT)
})

test('the soak\'s checks catch a leak: an app that keeps 2 kB a request fails the verdict', { timeout: 240_000 }, async (t) => {
  const kept: number[][] = []
  const { samples } = await soak((app) => {
    // 256 doubles (2 kB) kept for every request. (Not a padded string: V8 builds those from shared pieces.)
    app.addHook('onRequest', async () => { kept.push(new Array<number>(256).fill(kept.length + 0.5)) })
  }, 3)
  t.diagnostic(`\n${table(samples)}`)
  const v = judge(samples, { maxRequests: MAX_REQUESTS, maxStoreBytes: MAX_STORE_BYTES, constantBytes: SOAK_CONSTANT_BYTES, trendBytesPerRequest: SHORT_RUN_TREND_LIMIT })
  t.diagnostic(v.lines.join('\n'))
  assert.equal(kept.length >= 3 * CHUNK, true)
  assert.equal(v.pass, false, 'the verdict fails')
  assert.ok(v.slopeBytesPerRequest > 1000, `the trend shows the leak: ${v.slopeBytesPerRequest} bytes a request`)
  kept.length = 0
})

test('app.close() leaves no extra active resources or listeners; a second app in the same process starts clean', { timeout: 120_000 }, async () => {
  await new Promise((resolve) => setImmediate(resolve))
  const resourcesBefore = activeResources()
  const processListenersBefore = listenerTotal(process)

  for (const round of [1, 2]) {
    const app = await buildSoakApp({ maxRequests: MAX_REQUESTS })
    const url = await app.listen({ host: '127.0.0.1', port: 0 })
    assert.equal(gcTracker.active, true, `round ${round}: the GC tracker runs`)
    assert.deepEqual(await storeFigures(app), { size: 0, bytes: 0 }, `round ${round}: starts with an empty store`)
    const r = await drive(url, 1200, 5)
    assert.equal(r.errors, 0)
    const store = await storeFigures(app)
    assert.equal(store.size, MAX_REQUESTS, `round ${round}: records again`)
    const records = (await app.inject('/__debug/api/requests')).json() as Array<{ memory: { final: boolean } }>
    assert.ok(records.every((rec) => rec.memory.final), `round ${round}: records complete`)
    assert.ok(listenerTotal(app.server) > 0)
    await app.close()
    await new Promise((resolve) => setImmediate(resolve))

    assert.equal(gcTracker.active, false, `round ${round}: no GC observer or profiler left running`)
    assert.equal(gcTracker.events.length, 0, `round ${round}: no GC events kept`)
    assert.equal(listenerTotal(process), processListenersBefore, `round ${round}: process listeners back to where they were`)
    const after = activeResources()
    for (const [type, n] of Object.entries(after)) {
      if (type === 'Immediate') continue
      assert.ok(n <= (resourcesBefore[type] ?? 0), `round ${round}: ${type} ${resourcesBefore[type] ?? 0} -> ${n} (before ${JSON.stringify(resourcesBefore)}, after ${JSON.stringify(after)})`)
    }
  }
})
