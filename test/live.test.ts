// The live page's server side: the process series, its event stream, the process actions and
// their refusals, and the sampler's lifecycle (nothing left behind by clients that come and go).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, createWriteStream, readFileSync, rmSync, mkdtempSync } from 'node:fs'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { FastifyInstance } from 'fastify'
import { gcTracker } from '../src/capture/gc-tracker.ts'
import { ProcessSampler, SAMPLE_BYTES, GC_BYTES } from '../src/capture/process-sampler.ts'
import { resolveOptions } from '../src/options.ts'
import { appWithToolbar, buildArrays, eventStreamParser, MiB, type StreamEvent } from './helpers.ts'

const HOST = '127.0.0.1:3000'
const ORIGIN = 'http://127.0.0.1:3000'

interface Series {
  window: string
  running: boolean
  streams: number
  holders: number
  listeners: number
  samples: { t: number[], heapUsedBytes: number[], heapTotalBytes: number[], externalBytes: number[], arrayBuffersBytes: number[], rssBytes: number[], loopDelayMeanMs: number[], loopDelayMaxMs: number[] }
  gcs: Array<{ t: number, kind: string, durationMs: number, heapUsedBefore: number, heapUsedAfter: number }>
  requests: Array<{ id: string, url: string, route: string, method: string, statusCode: number, heapUsedDelta: number, durationMs: number }>
  snapshot: { heapUsedBytes: number, estimatedPauseMs: number, msPerMiB: number, allowed: boolean, maxHeapBytes: number }
}

let kept: number[][] = []

async function liveApp (live: object = { keepRunningMs: 0, sampleIntervalMs: 50 }): Promise<FastifyInstance> {
  return await appWithToolbar({ live }, (app) => {
    app.get('/users/:id', async () => ({ ok: true }))
    app.post('/users', async (_q, reply) => reply.code(201).send({ ok: true }))
    app.get('/missing', async (_q, reply) => reply.code(404).send({ missing: true }))
    app.get('/keep', async () => { kept.push(...buildArrays(4)); return { kept: kept.length } })
    app.get('/drop', async () => { kept = []; return { kept: 0 } })
  })
}

async function series (app: FastifyInstance, query = ''): Promise<Series> {
  const res = await app.inject(`/__debug/api/process${query}`)
  assert.equal(res.statusCode, 200, res.body)
  return res.json()
}

async function tokenOf (app: FastifyInstance): Promise<string> {
  const page = await app.inject({ url: '/__debug/', headers: { host: HOST } })
  assert.equal(page.statusCode, 200)
  const m = /action="\/__debug\/api\/process\/heap-snapshot" data-live-snapshot[^>]*>\s*<input type="hidden" name="token" value="([A-Za-z0-9_-]+)">/.exec(page.body)
  assert.ok(m !== null, 'the live page carries the token in its snapshot form')
  return m[1] as string
}

/** Read server-sent events from a listening app until `until` says stop; returns them. */
function readEvents (res: IncomingMessage, until: (events: StreamEvent[]) => boolean): Promise<StreamEvent[]> {
  return new Promise((resolve, reject) => {
    const events: StreamEvent[] = []
    const parse = eventStreamParser((e) => events.push(e))
    res.setEncoding('utf8')
    res.on('data', (chunk: string) => {
      parse(chunk)
      if (until(events)) resolve(events)
    })
    res.on('error', reject)
    res.on('end', () => { resolve(events) })
  })
}

function openStream (base: string): Promise<{ res: IncomingMessage, close: () => void }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}/__debug/api/process/events`, { headers: { accept: 'text/event-stream' } }, (res) => {
      resolve({ res, close: () => { req.destroy() } })
    })
    req.on('error', reject)
    req.end()
  })
}

const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

test('live options: defaults, false, and coded errors for bad values', () => {
  const o = resolveOptions({}, {})
  assert.deepEqual(o.live, { sampleIntervalMs: 250, keepRunningMs: 60_000, maxSamples: 3600, maxHistoryBytes: 1024 * 1024, maxSnapshotHeapBytes: 1024 * 1024 * 1024 })
  assert.equal(resolveOptions({ live: false }, {}).live, false)
  for (const live of ['yes', { sampleIntervalMs: 10 }, { keepRunningMs: -1 }, { maxSamples: 1.5 }, { maxHistoryBytes: 100 }, { maxSnapshotHeapBytes: '1GB' }, { colour: 'red' }]) {
    assert.throws(() => resolveOptions({ live } as never, {}), (err: Error & { code?: string }) => err.code === 'FST_DEBUG_TOOLBAR_INVALID_OPTION' && /live/.test(err.message), JSON.stringify(live))
  }
})

test('the sampler keeps at most maxSamples readings, within maxHistoryBytes', async () => {
  const sampler = new ProcessSampler(gcTracker, { sampleIntervalMs: 50, keepRunningMs: 0, maxSamples: 10, maxHistoryBytes: 64 * 1024 })
  assert.ok(sampler.capacity.bytes <= 64 * 1024)
  assert.equal(sampler.capacity.samples, 10)
  assert.equal(sampler.capacity.gcs, Math.floor(32 * 1024 / GC_BYTES))
  sampler.acquire()
  await wait(900)
  const { samples } = sampler.series(0)
  sampler.release()
  assert.equal(sampler.running, false)
  assert.equal(samples.t.length, 10)
  assert.ok(samples.t.every((t, i) => i === 0 || t > (samples.t[i - 1] as number)), 'readings oldest first')
  assert.ok(SAMPLE_BYTES * 10 <= 32 * 1024)
  sampler.close()
})

test('GET /api/process gives the readings, GCs and requests of the window, with plausible figures', async (t) => {
  const app = await liveApp()
  t.after(() => app.close())
  await app.inject('/users/1')
  await app.inject({ method: 'POST', url: '/users' })
  const s = await series(app, '?window=1m')
  assert.equal(s.window, '1m')
  assert.ok(s.samples.t.length >= 1, 'a reading taken on request')
  const i = s.samples.t.length - 1
  assert.ok(Math.abs((s.samples.t[i] as number) - Date.now()) < 5000)
  assert.ok((s.samples.heapUsedBytes[i] as number) > MiB)
  assert.ok((s.samples.heapTotalBytes[i] as number) >= (s.samples.heapUsedBytes[i] as number))
  assert.ok((s.samples.rssBytes[i] as number) > (s.samples.heapUsedBytes[i] as number))
  assert.ok((s.samples.externalBytes[i] as number) >= (s.samples.arrayBuffersBytes[i] as number))
  assert.deepEqual(s.requests.map((r) => `${r.method} ${r.url} ${r.statusCode}`), ['POST /users 201', 'GET /users/1 200'])
  assert.ok(s.snapshot.heapUsedBytes > MiB && s.snapshot.estimatedPauseMs > 0 && s.snapshot.allowed)
})

test('GET /api/process filters requests by route, method, status, heap delta and duration', async (t) => {
  const app = await liveApp()
  t.after(() => app.close())
  await app.inject('/users/1')
  await app.inject('/users/2')
  await app.inject({ method: 'POST', url: '/users' })
  await app.inject('/missing')
  const urls = async (q: string): Promise<string[]> => (await series(app, q)).requests.map((r) => r.url).sort()
  assert.deepEqual(await urls('?route=/users/:id'), ['/users/1', '/users/2'])
  assert.deepEqual(await urls('?method=post'), ['/users'])
  assert.deepEqual(await urls('?status=4xx'), ['/missing'])
  assert.deepEqual(await urls('?status=201'), ['/users'])
  assert.deepEqual(await urls('?minDurationMs=100000'), [])
  assert.deepEqual(await urls(`?minHeapDeltaBytes=${-(2 ** 40)}&route=/users`), ['/users', '/users/1', '/users/2'])
})

test('an unknown window or a malformed filter gets a coded 400 naming the parameter, on the page and the API', async (t) => {
  const app = await liveApp()
  t.after(() => app.close())
  const cases: Array<[string, string]> = [
    ['window=2m', 'window'],
    ['window=', 'window'],
    ['status=abc', 'status'],
    ['status=600', 'status'],
    ['method=G%20T', 'method'],
    ['minDurationMs=-1', 'minDurationMs'],
    ['minDurationMs=fast', 'minDurationMs'],
    ['minHeapDeltaBytes=1.5', 'minHeapDeltaBytes'],
    [`route=${'x'.repeat(201)}`, 'route'],
    ['window=1m&window=5m', 'window']
  ]
  for (const [query, name] of cases) {
    for (const path of ['/__debug/api/process', '/__debug/']) {
      const res = await app.inject(`${path}?${query}`)
      if (query === 'window=') {
        // An empty window is the default one.
        assert.equal(res.statusCode, 200)
        continue
      }
      assert.equal(res.statusCode, 400, `${path}?${query}`)
      const body = res.json()
      assert.equal(body.code, 'FST_DEBUG_TOOLBAR_BAD_QUERY')
      assert.match(body.message, new RegExp(`"${name}"`))
    }
  }
})

test('the event stream refuses (406) a client that does not accept text/event-stream', async (t) => {
  const app = await liveApp()
  t.after(() => app.close())
  const res = await app.inject('/__debug/api/process/events')
  assert.equal(res.statusCode, 406)
  assert.equal(res.json().code, 'FST_DEBUG_TOOLBAR_NOT_EVENT_STREAM')
})

test('the event stream works through app.inject: readings, then each stored request as it is stored', async (t) => {
  const app = await liveApp()
  t.after(() => app.close())
  // The toolbar's timers do not hold the process open and app.inject opens no socket: this does.
  const hold = setInterval(() => {}, 1000)
  t.after(() => { clearInterval(hold) })
  const controller = new AbortController()
  const res = await app.inject({ url: '/__debug/api/process/events', headers: { accept: 'text/event-stream' }, payloadAsStream: true, signal: controller.signal })
  assert.equal(res.statusCode, 200)
  assert.equal(res.headers['content-type'], 'text/event-stream')
  assert.equal(res.headers['cache-control'], 'no-store')
  const stream = res.stream()
  const seen: string[] = []
  let id = ''
  const done = new Promise<void>((resolve) => {
    let buffer = ''
    stream.setEncoding('utf8')
    stream.on('data', (chunk: string) => {
      buffer += chunk
      for (const m of buffer.matchAll(/^event: (\w+)\ndata: (.*)$/gm)) {
        seen.push(m[1] as string)
        if (m[1] === 'requests' && (JSON.parse(m[2] as string) as Array<{ id: string }>).some((r) => r.id === id)) resolve()
      }
      buffer = buffer.slice(buffer.lastIndexOf('\n\n') + 2)
    })
  })
  await wait(150)
  id = String((await app.inject('/users/7')).headers['x-debug-toolbar-id'])
  await done
  assert.ok(seen.includes('hello'))
  assert.ok(seen.includes('samples'))
  controller.abort()
  stream.on('error', () => {})
})

test('clients that connect and disconnect mid-stream, many times, leave no listener, holder or timer behind', async (t) => {
  const app = await liveApp()
  t.after(() => app.close())
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  const trackerListeners = (gcTracker as unknown as { listeners: Set<unknown> }).listeners
  const listenersBefore = trackerListeners.size
  const timersBefore = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
  for (let i = 0; i < 40; i++) {
    const a = await openStream(base)
    const b = await openStream(base)
    // Both hear at least one event, then go away mid-stream, one while a request is being pushed.
    await readEvents(a.res, (e) => e.some((x) => x.event === 'samples'))
    if (i % 4 === 0) await fetch(`${base}/users/${i}`)
    a.close()
    await readEvents(b.res, (e) => e.length > 0)
    b.close()
  }
  // The server hears of the last closes a moment later (longer on a busy machine).
  let s = await series(app)
  for (let tries = 0; s.streams > 0 && tries < 100; tries++) {
    await wait(100)
    s = await series(app)
  }
  assert.equal(s.streams, 0, 'no stream left')
  assert.equal(s.holders, 0, 'no holder of the sampler left')
  assert.equal(s.listeners, 0, 'no sampler listener left')
  assert.equal(s.running, false, 'the sampler stopped (keepRunningMs: 0)')
  assert.equal(trackerListeners.size, listenersBefore, 'no GC tracker listener left')
  await wait(100)
  const timersAfter = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
  assert.ok(timersAfter <= timersBefore, `timers: ${timersBefore} before, ${timersAfter} after`)
})

test('the sampler keeps running for keepRunningMs after the last live page leaves, then stops', async (t) => {
  const app = await liveApp({ keepRunningMs: 300, sampleIntervalMs: 50 })
  t.after(() => app.close())
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  const c = await openStream(base)
  await readEvents(c.res, (e) => e.some((x) => x.event === 'samples'))
  c.close()
  // The server hears of the close a moment later (longer on a busy machine); each look touches the sampler.
  let s1 = await series(app)
  for (let tries = 0; s1.holders > 0 && tries < 100; tries++) {
    await wait(100)
    s1 = await series(app)
  }
  assert.equal(s1.running, true)
  assert.equal(s1.holders, 0)
  await wait(600)
  // series() touches the sampler again: it must have stopped before, so the newest readings are fresh again.
  const before = (await series(app)).samples.t
  const gap = (before[before.length - 1] as number) - (before[before.length - 2] as number)
  assert.ok(gap > 250, `a gap while stopped (${gap} ms)`)
})

test('closing the app ends open streams and stops the sampler', async () => {
  const app = await liveApp({ keepRunningMs: 60_000, sampleIntervalMs: 50 })
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  const c = await openStream(base)
  await readEvents(c.res, (e) => e.some((x) => x.event === 'samples'))
  const ended = new Promise<void>((resolve) => { c.res.on('end', resolve); c.res.on('close', resolve) })
  await app.close()
  await ended
})

test('forcing a GC needs a same-origin Origin and the token, and reports what it freed', async (t) => {
  const app = await liveApp()
  t.after(() => app.close())
  const token = await tokenOf(app)
  const url = '/__debug/api/process/gc'
  const noOrigin = await app.inject({ method: 'POST', url, headers: { host: HOST, 'x-debug-toolbar-token': token } })
  assert.equal(noOrigin.statusCode, 403)
  assert.equal(noOrigin.json().code, 'FST_DEBUG_TOOLBAR_BAD_ORIGIN')
  const noToken = await app.inject({ method: 'POST', url, headers: { host: HOST, origin: ORIGIN } })
  assert.equal(noToken.statusCode, 403)
  assert.equal(noToken.json().code, 'FST_DEBUG_TOOLBAR_BAD_TOKEN')
  const viaGet = await app.inject({ url, headers: { host: HOST } })
  assert.equal(viaGet.statusCode, 404)

  await app.inject('/keep')
  await app.inject('/drop')
  const res = await app.inject({ method: 'POST', url, headers: { host: HOST, origin: ORIGIN, 'x-debug-toolbar-token': token } })
  assert.equal(res.statusCode, 200, res.body)
  const body = res.json()
  assert.ok(body.freedBytes >= 3 * MiB, `freed ${body.freedBytes} bytes of the 4 MiB dropped`)
  assert.equal(body.freedBytes, body.heapUsedBefore - body.heapUsedAfter)
  assert.ok(body.durationMs > 0)
})

test('a heap snapshot downloads streamed, parses as a V8 heap snapshot with a plausible node count, and leaves no file behind', async (t) => {
  const app = await liveApp()
  t.after(() => app.close())
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  const token = await tokenOf(app)
  const origin = new URL(base).origin
  const leftovers = (): string[] => readdirSync(tmpdir()).filter((f) => f.startsWith('fdt-') && f.endsWith('.heapsnapshot'))
  const before = leftovers()
  const dir = mkdtempSync(join(tmpdir(), 'fdt-test-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const res = await fetch(`${base}/__debug/api/process/heap-snapshot`, { method: 'POST', headers: { origin, 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${token}` })
  assert.equal(res.status, 200)
  assert.match(String(res.headers.get('content-disposition')), /^attachment; filename="fdt-heap-[0-9TZ-]+\.heapsnapshot"$/)
  assert.ok(Number(res.headers.get('x-debug-toolbar-snapshot-pause-ms')) > 0)
  const file = join(dir, 'a.heapsnapshot')
  await pipeline(res.body as unknown as NodeJS.ReadableStream, createWriteStream(file))
  const snapshot = JSON.parse(readFileSync(file, 'utf8')) as { snapshot: { meta: { node_fields: string[] }, node_count: number }, nodes: number[], strings: string[] }
  const fields = snapshot.snapshot.meta.node_fields
  assert.deepEqual(fields.slice(0, 3), ['type', 'name', 'id'])
  assert.equal(snapshot.nodes.length / fields.length, snapshot.snapshot.node_count)
  assert.ok(snapshot.snapshot.node_count > 50_000 && snapshot.snapshot.node_count < 50_000_000, `node count ${snapshot.snapshot.node_count}`)
  assert.ok(snapshot.strings.includes('Fastify') || snapshot.strings.includes('fastify'))
  await wait(100)
  assert.deepEqual(leftovers(), before, 'the temporary file is removed once sent')
  const after = await series(app)
  assert.ok(after.snapshot.msPerMiB > 0, 'the cost per MiB is now measured')
})

test('a heap snapshot above live.maxSnapshotHeapBytes is refused with a coded 422 saying why', async (t) => {
  const app = await liveApp({ keepRunningMs: 0, maxSnapshotHeapBytes: MiB })
  t.after(() => app.close())
  const token = await tokenOf(app)
  const res = await app.inject({ method: 'POST', url: '/__debug/api/process/heap-snapshot', headers: { host: HOST, origin: ORIGIN, 'x-debug-toolbar-token': token } })
  assert.equal(res.statusCode, 422)
  const body = res.json()
  assert.equal(body.code, 'FST_DEBUG_TOOLBAR_SNAPSHOT_TOO_LARGE')
  assert.match(body.message, /live\.maxSnapshotHeapBytes \(1\.05 MB\)/)
  assert.match(body.message, /pause the process for about/)
  const page = await app.inject({ url: '/__debug/', headers: { host: HOST } })
  assert.match(page.body, /Download a heap snapshot<\/button>/)
  assert.match(page.body, /type="submit" class="fdt-button fdt-button-ghost" disabled>Download a heap snapshot/)
})

test('with live: false the history page is the static one and the live routes do not exist', async (t) => {
  const app = await appWithToolbar({ live: false })
  t.after(() => app.close())
  const page = await app.inject('/__debug/')
  assert.equal(page.statusCode, 200)
  assert.match(page.body, /Recent requests/)
  assert.doesNotMatch(page.body, /live\.js/)
  assert.equal((await app.inject('/__debug/api/process')).statusCode, 404)
})

test('the History panel links to the live page, and to the history page when live is off', async (t) => {
  for (const live of [true, false]) {
    const app = await appWithToolbar({ live }, (a) => { a.get('/users/:id', async () => ({ ok: true })) })
    t.after(() => app.close())
    const id = String((await app.inject('/users/1')).headers['x-debug-toolbar-id'])
    const panel = await app.inject(`/__debug/requests/${id}/panels/history`)
    assert.equal(panel.statusCode, 200, panel.body)
    const link = /<a href="\/__debug\/">([^<]+)<\/a>/.exec(panel.body)
    assert.equal(link?.[1], live ? 'Live page' : 'History page', `live: ${live}`)
  }
})
