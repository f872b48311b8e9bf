// The toolbar handle's sparkline: the last minute of heap from stored requests, tracked GCs and the
// live sampler's readings, thinned to at most 60 points, without starting the sampler.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { heapLine, MAX_LINE_POINTS } from '../src/record/heap-readings.ts'
import { appWithToolbar, buildArrays, MiB } from './helpers.ts'

interface Line { fromMs: number, toMs: number, t: number[], heapUsedBytes: number[], readings: { requests: number, gcs: number, samples: number } }

const NO_SAMPLES = { t: [], heapUsedBytes: [] }

test('heapLine merges requests, GCs and readings of the span in time order and leaves out the rest', () => {
  const line = heapLine({
    requests: [
      { startedAt: 1000, durationMs: 10, heapUsedBefore: 100, heapUsedDelta: 50 },
      // Before the span: left out.
      { startedAt: 10, durationMs: 5, heapUsedBefore: 999, heapUsedDelta: 0 }
    ],
    gcs: [{ t: 1500, durationMs: 2, heapUsedBefore: 170, heapUsedAfter: 90 }],
    samples: { t: [1200, 5000], heapUsedBytes: [160, Number.NaN] },
    nowBytes: 95
  }, 500, 2000, 1000)
  assert.deepEqual(line.t, [1000, 1010, 1200, 1500, 1502, 2000])
  assert.deepEqual(line.heapUsedBytes, [100, 150, 160, 170, 90, 95])
  assert.deepEqual(line.readings, { requests: 2, gcs: 2, samples: 1 })
})

test('heapLine thins many readings to maxPoints, keeping a spike, a drop and the newest reading', () => {
  const t: number[] = []
  const v: number[] = []
  for (let i = 0; i < 2400; i++) {
    t.push(i * 25)
    // A flat heap with one spike and one drop, each a single reading.
    v.push(i === 700 ? 900 : i === 1500 ? 10 : 100 + (i % 3))
  }
  const line = heapLine({ requests: [], gcs: [], samples: { t, heapUsedBytes: v } }, 0, 60_000)
  assert.equal(line.t.length, MAX_LINE_POINTS)
  assert.equal(line.heapUsedBytes.length, MAX_LINE_POINTS)
  assert.ok(line.heapUsedBytes.includes(900), 'the spike survives')
  assert.ok(line.heapUsedBytes.includes(10), 'the drop survives')
  assert.equal(line.t.at(-1), 2399 * 25, 'the newest reading ends the line')
  for (let i = 1; i < line.t.length; i++) assert.ok((line.t[i] as number) > (line.t[i - 1] as number), 'oldest first')
  assert.equal(line.readings.samples, 2400)
})

test('heapLine with nothing in the span is empty', () => {
  const line = heapLine({ requests: [], gcs: [], samples: NO_SAMPLES }, 0, 60_000)
  assert.deepEqual([line.t, line.heapUsedBytes], [[], []])
})

test('GET /api/sparkline draws the minute from the stored requests and GCs, and does not start the live sampler', async (t) => {
  const app = await appWithToolbar({}, (a) => {
    a.get('/grow', async () => ({ n: buildArrays(2).length }))
  })
  t.after(() => app.close())
  for (let i = 0; i < 5; i++) assert.equal((await app.inject('/grow')).statusCode, 200)
  const before = Date.now()
  const res = await app.inject('/__debug/api/sparkline')
  assert.equal(res.statusCode, 200, res.body)
  assert.match(String(res.headers['cache-control']), /no-store/)
  const line = res.json<Line>()
  assert.ok(line.toMs >= before && line.toMs - line.fromMs === 60_000, 'the last minute')
  assert.ok(line.readings.requests >= 10, `a reading at each request's start and end: ${JSON.stringify(line.readings)}`)
  assert.equal(line.readings.samples, 0, 'no sampler readings: no live page was open')
  // One point a second at most: the burst is a point or two, then the reading taken when answering.
  assert.ok(line.t.length >= 2 && line.t.length <= MAX_LINE_POINTS, String(line.t.length))
  assert.equal(line.t.length, line.heapUsedBytes.length)
  for (const v of line.heapUsedBytes) assert.ok(v > MiB && v < 4096 * MiB, `a plausible heap: ${v}`)
  for (const x of line.t) assert.ok(x >= line.fromMs && x <= line.toMs)
  // Had the first answer started the sampler, its first reading (taken at once) would be in the second.
  const again = (await app.inject('/__debug/api/sparkline')).json<Line>()
  assert.equal(again.readings.samples, 0, 'the sparkline starts no sampler')
})

test('GET /api/sparkline includes the live sampler\'s readings while it runs, at most 60 points', async (t) => {
  const app = await appWithToolbar({ live: { sampleIntervalMs: 50, keepRunningMs: 60_000 } })
  t.after(() => app.close())
  // Reading /api/process keeps the sampler running: readings accumulate.
  assert.equal((await app.inject('/__debug/api/process')).statusCode, 200)
  const deadline = Date.now() + 30_000
  let line: Line | undefined
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    line = (await app.inject('/__debug/api/sparkline')).json<Line>()
    if (line.readings.samples >= 80) break
  }
  assert.ok(line !== undefined && line.readings.samples >= 80, `sampler readings: ${JSON.stringify(line?.readings)}`)
  assert.ok(line.t.length <= MAX_LINE_POINTS, String(line.t.length))
  assert.ok(line.t.length >= 2)
})

test('GET /api/sparkline works with live: false, and is guarded like every toolbar route', async (t) => {
  const app = await appWithToolbar({ live: false, allow: () => false } as never)
  t.after(() => app.close())
  const refused = await app.inject('/__debug/api/sparkline')
  assert.equal(refused.statusCode, 403)
  const open = await appWithToolbar({ live: false })
  t.after(() => open.close())
  const res = await open.inject('/__debug/api/sparkline')
  assert.equal(res.statusCode, 200)
  assert.ok(res.json<Line>().t.length >= 1, 'at least the reading taken when answering')
})
