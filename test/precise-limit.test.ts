import assert from 'node:assert/strict'
import { performance } from 'node:perf_hooks'
import { test } from 'node:test'
import Fastify from 'fastify'
import debugToolbar from '../src/index.ts'
import { appWithToolbar, recordOf } from './helpers.ts'

const PRECISE = { 'x-debug-toolbar-precise': '1' }

test('precise mode is limited to preciseMaxPerSecond (default 2 a second, bursts of 4); a refused request is measured normally and says why', async (t) => {
  const app = await appWithToolbar({}, (a) => {
    a.get('/keep', async () => ({ kept: Array.from({ length: 1000 }, (_, i) => i) }))
  })
  t.after(() => app.close())

  // Twelve at once: the burst of four, plus two a second for as long as they took to arrive (the
  // forced GCs of the granted ones run in between, longer on a busy machine).
  const startedMs = performance.now()
  const responses = await Promise.all(Array.from({ length: 12 }, () => app.inject({ url: '/keep', headers: PRECISE })))
  const elapsedS = (performance.now() - startedMs) / 1000
  const records = await Promise.all(responses.map((r) => recordOf(app, r.headers['x-debug-toolbar-id'])))
  for (const r of responses) assert.equal(r.statusCode, 200)
  const granted = records.filter((r) => r.memory.precise)
  const refused = records.filter((r) => !r.memory.precise)
  assert.ok(granted.length >= 4, `the burst is twice the rate: ${granted.length} granted`)
  assert.ok(granted.length <= 4 + Math.floor(2 * elapsedS), `${granted.length} granted in ${elapsedS.toFixed(2)} s`)
  assert.ok(refused.length > 0, `none refused in ${elapsedS.toFixed(2)} s`)
  for (const r of granted) {
    assert.equal(r.memory.preciseRefused, undefined)
    assert.ok(r.memory.gc.forced > 0, 'granted requests forced their GCs')
  }
  for (const [i, r] of records.entries()) {
    const timing = String(responses[i]?.headers['server-timing'])
    if (r.memory.precise) {
      assert.match(timing, /, precise"/)
      continue
    }
    assert.match(r.memory.preciseRefused ?? '', /Over the precise-mode limit of 2 requests a second \(bursts of 4; the preciseMaxPerSecond option\)/)
    assert.equal(r.memory.gc.forced, 0, 'a refused request forces no GC')
    assert.equal(typeof r.memory.heapUsedDelta, 'number')
    assert.match(timing, /, precise refused"/)
    const panel = await app.inject(`/__debug/requests/${r.id}/panels/memory`)
    assert.equal(panel.statusCode, 200)
    assert.match(panel.body, /Precise mode was asked for and refused\. Over the precise-mode limit/)
    assert.match(panel.body, /precise mode refused/)
  }

  // Requests that do not ask are never refused anything.
  const plain = await app.inject('/keep')
  const plainRecord = await recordOf(app, plain.headers['x-debug-toolbar-id'])
  assert.equal(plainRecord.memory.preciseRefused, undefined)
  assert.doesNotMatch(String(plain.headers['server-timing']), /precise/)
})

test('the precise-mode budget refills with time', async (t) => {
  const app = await appWithToolbar({ preciseMaxPerSecond: 20 }, (a) => {
    a.get('/x', async () => ({ ok: true }))
  })
  t.after(() => app.close())
  const precise = async (): Promise<boolean> => {
    const res = await app.inject({ url: '/x', headers: PRECISE })
    return (await recordOf(app, res.headers['x-debug-toolbar-id'])).memory.precise
  }
  // Spend the burst (40), then some are refused.
  const burst = await Promise.all(Array.from({ length: 50 }, precise))
  assert.ok(burst.filter((p) => !p).length > 0, 'some of 50 at once are refused')
  // A token comes back every 50 ms at 20 a second; wait for a granted one rather than a fixed time.
  const deadline = Date.now() + 30_000
  let again = false
  while (!again && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    again = await precise()
  }
  assert.equal(again, true)
})

test('preciseMaxPerSecond is validated at registration with a coded error', async () => {
  for (const bad of [0, -1, 1.5, '2', 1001, null]) {
    const app = Fastify()
    await assert.rejects(
      async () => { await app.register(debugToolbar, { enabled: true, preciseMaxPerSecond: bad as number }); await app.ready() },
      (err: Error & { code?: string }) => err.code === 'FST_DEBUG_TOOLBAR_INVALID_OPTION' && /preciseMaxPerSecond/.test(err.message),
      `preciseMaxPerSecond: ${String(bad)}`
    )
    await app.close()
  }
})
