import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import debugToolbar, { type RequestRecord } from '../src/index.ts'
import { appWithToolbar, recordOf } from './helpers.ts'

const PAGE = '<!doctype html><html><body><h1>Hello</h1></body></html>'

function routes (app: import('fastify').FastifyInstance): void {
  app.get('/page', async (_req, reply) => reply.type('text/html; charset=utf-8').send(PAGE))
  app.get('/json', async () => ({ hello: 'world' }))
  app.get('/users/:id', async (req) => ({ id: (req.params as { id: string }).id }))
  app.get('/stream', async (_req, reply) => reply.type('text/plain').send(Readable.from(['<body>', 'streamed', '</body>'])))
  app.get('/timed', async (_req, reply) => reply.header('server-timing', 'db;dur=12').send({ ok: true }))
  app.get('/quiet', { config: { debugToolbar: false } }, async (_req, reply) => reply.type('text/html').send(PAGE))
}

test('profiled responses carry x-debug-toolbar-id and Server-Timing with memory entries', async (t) => {
  const app = await appWithToolbar({}, routes)
  t.after(() => app.close())
  const res = await app.inject('/json')
  assert.equal(res.statusCode, 200)
  assert.deepEqual(res.json(), { hello: 'world' })
  assert.match(String(res.headers['x-debug-toolbar-id']), /^[0-9a-f]{32}$/)
  assert.match(String(res.headers['server-timing']), /^memory-profiling;dur=\d+\.\d{3}, memory;desc="heap [+-]?[\d.]+[kMG]?B, peak [+-]?[\d.]+[kMG]?B, alloc [\d.]+[kMG]?B, ext [+-]?[\d.]+[kMG]?B, gc \d+", memory-sampling;dur=\d+\.\d{3};desc="native"$/)
})

test('appends its entries to the Server-Timing the app set', async (t) => {
  const app = await appWithToolbar({}, routes)
  t.after(() => app.close())
  const res = await app.inject('/timed')
  assert.match(String(res.headers['server-timing']), /^db;dur=12, memory-profiling;dur=/)
})

test('stores a record with the contract fields, readable through the JSON API', async (t) => {
  const app = await appWithToolbar({}, routes)
  t.after(() => app.close())
  const res = await app.inject('/users/42?x=1')
  const r = await recordOf(app, res.headers['x-debug-toolbar-id'])
  assert.equal(r.id, res.headers['x-debug-toolbar-id'])
  assert.equal(r.method, 'GET')
  assert.equal(r.url, '/users/42?x=1')
  assert.equal(r.route, '/users/:id')
  assert.equal(r.statusCode, 200)
  assert.equal(typeof r.durationMs, 'number')
  assert.ok(Math.abs(r.startedAt - Date.now()) < 60_000)
  assert.deepEqual(r.request.query, { x: '1' })
  const m = r.memory
  for (const k of ['heapUsedBefore', 'heapUsedAfter', 'heapUsedDelta', 'peakHeapUsed', 'allocatedBytes', 'externalDelta', 'overlapping', 'overheadMs'] as const) {
    assert.equal(typeof m[k], 'number', k)
  }
  assert.equal(m.heapUsedDelta, m.heapUsedAfter - m.heapUsedBefore)
  assert.ok(m.peakHeapUsed >= Math.max(m.heapUsedBefore, m.heapUsedAfter))
  assert.equal(typeof m.gc.count, 'number')
  assert.equal(typeof m.gc.pauseMs, 'number')
  assert.equal(m.final, true)
  assert.equal(m.precise, false)
})

test('lists records newest first and answers 404 JSON for unknown ids', async (t) => {
  const app = await appWithToolbar({ maxRequests: 2 }, routes)
  t.after(() => app.close())
  const ids = []
  for (let i = 0; i < 3; i++) ids.push((await app.inject('/json')).headers['x-debug-toolbar-id'])
  const list = (await app.inject('/__debug/api/requests')).json()
  assert.deepEqual(list.map((r: { id: string }) => r.id), [ids[2], ids[1]])
  const gone = await app.inject(`/__debug/api/requests/${String(ids[0])}`)
  assert.equal(gone.statusCode, 404)
  assert.equal(gone.json().code, 'FST_DEBUG_TOOLBAR_NOT_FOUND')
  assert.match(gone.json().message, /evicted/)
})

test('injects the toolbar script into HTML and recomputes content-length', async (t) => {
  const app = await appWithToolbar({}, routes)
  t.after(() => app.close())
  const res = await app.inject('/page')
  const id = String(res.headers['x-debug-toolbar-id'])
  assert.match(res.body, /<h1>Hello<\/h1><script type="module" src="\/__debug\/static\/toolbar.js" data-debug-toolbar data-prefix="\/__debug"><\/script><\/body><\/html>$/)
  assert.match(String(res.headers['server-timing']), new RegExp(`, debug-toolbar;desc="${id}"$`), 'the page learns its record id from Server-Timing')
  assert.equal(Number(res.headers['content-length']), Buffer.byteLength(res.body))
})

test('an injected page goes to Fastify as UTF-8 bytes when no onSend hook follows, as a string to a hook that does', async () => {
  const page = '<!doctype html><html><body><p>caf\u00e9 \u{1F600}</p></body></html>'
  for (const later of [false, true]) {
    const app = Fastify()
    await app.register(debugToolbar)
    let seen: string | undefined
    if (later) app.addHook('onSend', async (_req, _reply, payload) => { seen = typeof payload; return payload })
    const written: string[] = []
    app.addHook('onRequest', async (_req, reply) => {
      const end = reply.raw.end.bind(reply.raw) as (...args: unknown[]) => unknown
      ;(reply.raw as unknown as { end: (...args: unknown[]) => unknown }).end = (...args) => {
        written.push(Buffer.isBuffer(args[0]) ? 'bytes' : typeof args[0])
        return end(...args)
      }
    })
    app.get('/page', async (_req, reply) => reply.type('text/html; charset=utf-8').send(page))
    const res = await app.inject('/page')
    await app.close()
    assert.equal(seen, later ? 'string' : undefined)
    assert.deepEqual(written, [later ? 'string' : 'bytes'])
    assert.equal(res.body, page.replace('</body>', '<script type="module" src="/__debug/static/toolbar.js" data-debug-toolbar data-prefix="/__debug"></script></body>'))
    assert.equal(Number(res.headers['content-length']), Buffer.byteLength(res.body))
  }
})

test('JSON and streams pass through byte for byte', async (t) => {
  const app = await appWithToolbar({}, routes)
  t.after(() => app.close())
  assert.equal((await app.inject('/json')).body, '{"hello":"world"}')
  const s = await app.inject('/stream')
  assert.equal(s.body, '<body>streamed</body>')
  assert.ok(s.headers['x-debug-toolbar-id'])
})

test('a route with config.debugToolbar false is neither measured nor injected', async (t) => {
  const app = await appWithToolbar({}, routes)
  t.after(() => app.close())
  const res = await app.inject('/quiet')
  assert.equal(res.body, PAGE)
  assert.equal(res.headers['x-debug-toolbar-id'], undefined)
  assert.equal(res.headers['server-timing'], undefined)
})

test('when disabled the plugin adds no hooks and no routes', async (t) => {
  const app = Fastify()
  await app.register(debugToolbar, { enabled: false })
  routes(app)
  t.after(() => app.close())
  const res = await app.inject('/page')
  assert.equal(res.body, PAGE)
  assert.equal(res.headers['x-debug-toolbar-id'], undefined)
  assert.equal((await app.inject('/__debug/api/requests')).statusCode, 404)
  assert.doesNotMatch(app.printRoutes(), /__debug/)
})

test('is off under NODE_ENV=production unless enabled explicitly', async (t) => {
  const before = process.env.NODE_ENV
  process.env.NODE_ENV = 'production'
  t.after(() => { process.env.NODE_ENV = before })
  const app = Fastify()
  await app.register(debugToolbar)
  routes(app)
  t.after(() => app.close())
  assert.equal((await app.inject('/json')).headers['x-debug-toolbar-id'], undefined)
})

test('bad options fail registration with a coded error', async () => {
  const app = Fastify()
  await assert.rejects(async () => { await app.register(debugToolbar, { prefix: 'nope' }); await app.ready() }, { code: 'FST_DEBUG_TOOLBAR_INVALID_OPTION' })
})

test('clients the allow check refuses get no headers and 403 from toolbar routes', async (t) => {
  const app = await appWithToolbar({ allow: () => false }, routes)
  t.after(() => app.close())
  const res = await app.inject('/page')
  assert.equal(res.body, PAGE)
  assert.equal(res.headers['x-debug-toolbar-id'], undefined)
  for (const url of ['/__debug/', '/__debug/api/requests', '/__debug/static/toolbar.js', '/__debug/requests/x/toolbar']) {
    const r = await app.inject(url)
    assert.equal(r.statusCode, 403, url)
    assert.equal(r.json().code, 'FST_DEBUG_TOOLBAR_FORBIDDEN')
  }
})

test('an allow() that throws is treated as not allowed and the request goes on', async (t) => {
  const app = await appWithToolbar({ allow: () => { throw new Error('boom') } }, routes)
  t.after(() => app.close())
  const res = await app.inject('/json')
  assert.equal(res.statusCode, 200)
  assert.equal(res.headers['x-debug-toolbar-id'], undefined)
})

test('a custom prefix moves every toolbar route', async (t) => {
  const app = await appWithToolbar({ prefix: '/_tools/dbg' }, routes)
  t.after(() => app.close())
  const res = await app.inject('/page')
  assert.match(res.body, /src="\/_tools\/dbg\/static\/toolbar\.js"/)
  assert.equal((await app.inject(`/_tools/dbg/api/requests/${String(res.headers['x-debug-toolbar-id'])}`)).statusCode, 200)
  assert.equal((await app.inject('/__debug/api/requests')).statusCode, 404)
})

test('redacts secrets before storing: headers, cookies, query strings and the URL', async (t) => {
  const app = await appWithToolbar({ redact: ['x-api-key', 'token'] }, routes)
  t.after(() => app.close())
  const res = await app.inject({ url: '/json?token=SECRET-Q&page=1', headers: { authorization: 'Bearer SECRET-A', cookie: 'sid=SECRET-C', 'x-api-key': 'SECRET-K' } })
  const raw = (await app.inject(`/__debug/api/requests/${String(res.headers['x-debug-toolbar-id'])}`)).body
  assert.doesNotMatch(raw, /SECRET/)
  const r = JSON.parse(raw)
  assert.equal(r.request.headers.authorization, '[redacted]')
  assert.equal(r.request.headers.cookie, 'sid=[redacted]')
  assert.equal(r.request.query.page, '1')
  assert.equal(r.url, '/json?token=[redacted]&page=1')
})

test('toolbar requests are not recorded', async (t) => {
  const app = await appWithToolbar({}, routes)
  t.after(() => app.close())
  await app.inject('/json')
  await app.inject('/__debug/api/requests')
  await app.inject('/__debug/')
  const list = (await app.inject('/__debug/api/requests')).json()
  assert.equal(list.length, 1)
})

test('overlapping counts the other requests in flight on a real listening server', async (t) => {
  const app = await appWithToolbar({}, (a) => {
    a.get('/slow', async () => { await new Promise((resolve) => setTimeout(resolve, 150)); return { slow: true } })
    a.get('/fast', async () => ({ fast: true }))
  })
  t.after(() => app.close())
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  const slow = fetch(`${base}/slow`)
  await new Promise((resolve) => setTimeout(resolve, 30))
  const fast = await fetch(`${base}/fast`)
  const slowRes = await slow
  const fastRecord = await recordOf(app, fast.headers.get('x-debug-toolbar-id'))
  const slowRecord = await recordOf(app, slowRes.headers.get('x-debug-toolbar-id'))
  assert.equal(fastRecord.memory.overlapping, 1)
  assert.equal(slowRecord.memory.overlapping, 1)
  const alone = await fetch(`${base}/fast`)
  assert.equal((await recordOf(app, alone.headers.get('x-debug-toolbar-id'))).memory.overlapping, 0)
})

test('the default allow check admits loopback clients of a real listening server', async (t) => {
  const app = await appWithToolbar({}, routes)
  t.after(() => app.close())
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  const res = await fetch(`${base}/page`)
  assert.ok(res.headers.get('x-debug-toolbar-id'))
  assert.equal((await fetch(`${base}/__debug/api/requests`)).status, 200)
})

test('the Timing panel figures: event-loop busy time always, CPU user/system with cpuTime', async (t) => {
  const app = await appWithToolbar({ cpuTime: true }, (a) => a.get('/work', async () => { let x = 0; for (let i = 0; i < 2e6; i++) x += i; return { x } }))
  t.after(() => app.close())
  const r = await recordOf(app, (await app.inject('/work')).headers['x-debug-toolbar-id'])
  assert.ok(r.cpu.loopBusyMs > 0)
  assert.ok(r.cpu.loopBusyMs <= r.durationMs + 0.01)
  assert.equal(typeof r.cpu.userMs, 'number')
  assert.ok((r.cpu.userMs ?? 0) + (r.cpu.systemMs ?? 0) > 0)
})

test('toolbar routes refuse a non-loopback Host under the default check (DNS rebinding)', async (t) => {
  const app = await appWithToolbar({}, routes)
  t.after(() => app.close())
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  const port = new URL(base).port
  const { request } = await import('node:http')
  const status = (host: string) => new Promise<number>((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/__debug/api/requests', headers: { host } }, (res) => { res.resume(); resolve(res.statusCode ?? 0) }).on('error', reject).end()
  })
  assert.equal(await status('evil.example'), 403)
  assert.equal(await status(`localhost:${port}`), 200)
  assert.equal(await status(`127.0.0.1:${port}`), 200)
})

test('precise mode is asked for by the exact fdt-precise=1 cookie, not a longer name or value', async (t) => {
  const app = await appWithToolbar({}, routes)
  t.after(() => app.close())
  const precise = async (cookie: string) => (await recordOf(app, (await app.inject({ url: '/json', headers: { cookie } })).headers['x-debug-toolbar-id'])).memory.precise
  assert.equal(await precise('fdt-precise=1'), true)
  assert.equal(await precise('a=b; fdt-precise=1'), true)
  assert.equal(await precise('xfdt-precise=1'), false)
  assert.equal(await precise('fdt-precise=10'), false)
})

test('a request over the sampling budget says so and names the Sample switch; the fdt-sample=1 cookie and the header bypass the budget', async (t) => {
  const app = await appWithToolbar({ allocations: { maxPerSecond: 1 } }, routes)
  t.after(() => app.close())
  // Bursts of two, then one a second: a few requests in a row run out of it.
  let over: AllocationsOf | undefined
  for (let i = 0; i < 10 && over === undefined; i++) {
    const a = await allocationsOf(app)
    if (a !== undefined && 'skipped' in a && a.skipped === 'not-sampled') over = a
  }
  assert.ok(over !== undefined && 'reason' in over, 'a request went over the budget')
  assert.match(over.reason, /^Over the sampling budget of 1 requests a second .*the toolbar's Sample switch or send x-debug-toolbar-sample: 1/)
  assert.ok(hasSites(await allocationsOf(app, { cookie: 'a=b; fdt-sample=1' })), 'the cookie bypasses the budget')
  assert.ok(hasSites(await allocationsOf(app, { 'x-debug-toolbar-sample': '1' })), 'the header bypasses the budget')
})

test('with allocations.requests \'marked\' only requests with the exact fdt-sample=1 cookie or the header are sampled', async (t) => {
  const app = await appWithToolbar({ allocations: { requests: 'marked' } }, routes)
  t.after(() => app.close())
  assert.equal(await allocationsOf(app), undefined)
  assert.equal(await allocationsOf(app, { cookie: 'xfdt-sample=1; fdt-sample=10' }), undefined)
  assert.ok(hasSites(await allocationsOf(app, { cookie: 'a=b; fdt-sample=1' })), 'the cookie asks')
  assert.ok(hasSites(await allocationsOf(app, { 'x-debug-toolbar-sample': '1' })), 'the header asks')
})

test('the record keeps the response headers as they went out, Content-Length and Date included, Set-Cookie redacted', async (t) => {
  const app = await appWithToolbar({}, (a) => {
    a.get('/cookie', async (_request, reply) => reply.header('set-cookie', ['sid=SECRET-S; HttpOnly', 'theme=dark']).header('x-app', 'yes').send({ ok: true }))
  })
  t.after(() => app.close())
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  const res = await fetch(base + '/cookie')
  const body = await res.text()
  const raw = await (await fetch(`${base}/__debug/api/requests/${String(res.headers.get('x-debug-toolbar-id'))}`)).text()
  assert.doesNotMatch(raw, /SECRET/)
  const h = JSON.parse(raw).response.headers
  assert.equal(h['set-cookie'], '[redacted]')
  assert.equal(h['x-app'], 'yes')
  assert.equal(h['content-length'], String(Buffer.byteLength(body)))
  assert.equal(h['content-type'], 'application/json; charset=utf-8')
  assert.equal(h.date, res.headers.get('date'))
  assert.equal(h['x-debug-toolbar-id'], res.headers.get('x-debug-toolbar-id'))
  assert.match(h['server-timing'], /^memory-profiling;dur=/)
})

test('a secret set on the raw response, or in a header Node writes itself, is redacted in the stored block too', async (t) => {
  const routes = (a: FastifyInstance): void => {
    a.get('/raw', async (_request, reply) => {
      reply.raw.setHeader('Authorization', 'Bearer RAW-SECRET')
      return reply.header('X-Api-Key', 'KEY-SECRET').send({ ok: true })
    })
    a.get('/plain', async () => ({ ok: true }))
  }
  const app = await appWithToolbar({ redact: ['x-api-key'] }, routes)
  // 'date' is written by Node, not set through a header map: the block itself is searched.
  const dated = await appWithToolbar({ redact: ['date'] }, routes)
  t.after(async () => { await app.close(); await dated.close() })
  const appBase = await app.listen({ host: '127.0.0.1', port: 0 })
  const datedBase = await dated.listen({ host: '127.0.0.1', port: 0 })
  const cases = [
    [appBase, '/raw', ['authorization', 'x-api-key'], /RAW-SECRET|KEY-SECRET/],
    [datedBase, '/raw', ['authorization', 'date'], /RAW-SECRET/],
    [datedBase, '/plain', ['date'], /GMT/]
  ] as const
  for (const [base, url, hidden, secret] of cases) {
    const res = await fetch(base + url)
    await res.text()
    const raw = await (await fetch(`${base}/__debug/api/requests/${String(res.headers.get('x-debug-toolbar-id'))}`)).text()
    assert.doesNotMatch(raw, secret, url)
    const h = JSON.parse(raw).response.headers
    for (const name of hidden) assert.equal(h[name], '[redacted]', `${url}: ${name}`)
    assert.equal(h['content-type'], 'application/json; charset=utf-8')
  }
})

test('a hijacked reply leaves no record and is not counted as in flight once it has ended', async (t) => {
  const app = await appWithToolbar({}, (a) => {
    a.get('/hijack', (_request, reply) => { reply.hijack(); reply.raw.end('raw') })
    a.get('/json', async () => ({ ok: true }))
  })
  t.after(() => app.close())
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  assert.equal(await (await fetch(base + '/hijack')).text(), 'raw')
  // In-flight requests are checked at most every 100 ms.
  await new Promise((resolve) => setTimeout(resolve, 150))
  const res = await fetch(base + '/json')
  const r = await recordOf(app, res.headers.get('x-debug-toolbar-id'))
  assert.equal(r.memory.overlapping, 0)
  const list = JSON.parse(await (await fetch(`${base}/__debug/api/requests`)).text()) as Array<{ url: string }>
  assert.deepEqual(list.map((x) => x.url), ['/json'])
})

test('requests with a body are profiled over a real socket, with Connection: close too', async (t) => {
  // Node destroys the request stream once its body is read: that must not read as a client gone.
  const app = await appWithToolbar({}, (a) => {
    a.post('/echo', async (request) => ({ size: JSON.stringify(request.body).length }))
  })
  t.after(() => app.close())
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  for (const connection of ['keep-alive', 'close']) {
    const res = await fetch(base + '/echo', { method: 'POST', headers: { 'content-type': 'application/json', connection }, body: JSON.stringify({ a: 'x'.repeat(100_000) }) })
    assert.equal(res.status, 200)
    await res.text()
    const r = await recordOf(app, res.headers.get('x-debug-toolbar-id'))
    assert.equal(r.method, 'POST')
    assert.equal(r.route, '/echo')
  }
})

type AllocationsOf = RequestRecord['memory']['allocations']

/** The stored allocations of one GET /json with these headers. */
async function allocationsOf (app: FastifyInstance, headers: Record<string, string> = {}): Promise<AllocationsOf> {
  const res = await app.inject({ url: '/json', headers })
  return (await recordOf(app, res.headers['x-debug-toolbar-id'])).memory.allocations
}

/** True when the request was sampled: it has sites, not a reason for having none. */
function hasSites (a: AllocationsOf): boolean {
  return a !== undefined && 'sites' in a && 'sampler' in a
}
