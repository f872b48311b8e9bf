// The host app's responses are exactly what they would be without the toolbar, apart from the
// documented headers (x-debug-toolbar-id, Server-Timing, and content-length where the snippet went
// in) and the injected snippet in HTML. Each case runs against two apps with the same routes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { gunzipSync } from 'node:zlib'
import Fastify, { type FastifyInstance, type InjectOptions } from 'fastify'
import compress from '@fastify/compress'
import debugToolbar from '../src/index.ts'

const PAGE = '<!doctype html><html><body><h1>Hi</h1></body></html>'
const BIG = '<!doctype html><html><body>' + '<p>0123456789abcdef</p>\n'.repeat(10 * 1024 * 1024 / 24) + '</body></html>'
const SNIPPET = /<script type="module" src="\/__debug\/static\/toolbar\.js" data-debug-toolbar data-prefix="\/__debug"><\/script>/

function routes (app: FastifyInstance): void {
  app.get('/json', async () => ({ a: 1 }))
  app.get('/text', async (_q, r) => r.type('text/plain').send('plain </body> text'))
  app.get('/buffer', async (_q, r) => r.type('application/octet-stream').send(Buffer.from([0, 1, 2, 255])))
  app.get('/stream', async (_q, r) => r.type('text/plain').send(Readable.from(['<body>', 'x', '</body>'])))
  app.get('/html-stream', async (_q, r) => r.type('text/html').send(Readable.from(['<!doctype html><body>', 'x', '</body>'])))
  app.get('/fragment-stream', async (_q, r) => r.type('text/html').send(Readable.from(['<li>', 'x', '</li>'])))
  app.get('/html', async (_q, r) => r.type('text/html; charset=utf-8').send(PAGE))
  app.get('/html-buffer', async (_q, r) => r.type('text/html').send(Buffer.from(PAGE)))
  app.get('/big', async (_q, r) => r.type('text/html').send(BIG))
  app.get('/no-body-tag', async (_q, r) => r.type('text/html').send('<h1>fragment</h1>'))
  app.get('/two-bodies', async (_q, r) => r.type('text/html').send('<body>a</body><!-- </body> -->'))
  app.get('/latin1', async (_q, r) => r.type('text/html; charset=windows-1252').send(Buffer.from([0x3c, 0x62, 0x3e, 0xe9, 0x3c, 0x2f, 0x62, 0x6f, 0x64, 0x79, 0x3e])))
  app.get('/utf16', async (_q, r) => r.type('text/html; charset=utf-16le').send(Buffer.from('<body>x</body>', 'utf16le')))
  app.get('/no-content', async (_q, r) => r.code(204).send())
  app.get('/not-modified', async (_q, r) => r.code(304).send())
  app.get('/redirect', async (_q, r) => r.redirect('/html'))
  app.get('/throws', async () => { throw new Error('boom') })
  app.get('/timing', async (_q, r) => r.header('server-timing', 'db;dur=3').type('text/html').send(PAGE))
  app.get('/hijack', async (_q, r) => {
    r.hijack()
    r.raw.writeHead(200, { 'content-type': 'text/html' })
    r.raw.end(PAGE)
  })
  app.get('/quiet', { config: { debugToolbar: false } }, async (_q, r) => r.type('text/html').send(PAGE))
}

async function pair (setup?: (app: FastifyInstance) => Promise<void> | void): Promise<[FastifyInstance, FastifyInstance]> {
  const plain = Fastify()
  const withToolbar = Fastify()
  await withToolbar.register(debugToolbar, { enabled: true })
  for (const app of [plain, withToolbar]) {
    await setup?.(app)
    routes(app)
    await app.ready()
  }
  return [plain, withToolbar]
}

const DOCUMENTED = new Set(['x-debug-toolbar-id', 'server-timing', 'date'])

async function compare (apps: [FastifyInstance, FastifyInstance], req: InjectOptions, expect: { injected: boolean, profiled: boolean }): Promise<void> {
  const [a, b] = await Promise.all(apps.map((app) => app.inject(req)))
  assert.ok(a !== undefined && b !== undefined)
  const what = `${req.method ?? 'GET'} ${String(req.url)}`
  assert.equal(b.statusCode, a.statusCode, `${what}: status`)
  const gz = (r: typeof a): Buffer => r.headers['content-encoding'] === 'gzip' ? gunzipSync(r.rawPayload) : r.rawPayload
  const bodyA = gz(a)
  let bodyB = gz(b)
  if (expect.injected) {
    const text = bodyB.toString('latin1')
    assert.match(text, SNIPPET, `${what}: snippet injected`)
    bodyB = Buffer.from(text.replace(SNIPPET, ''), 'latin1')
  } else {
    assert.doesNotMatch(bodyB.toString('latin1'), SNIPPET, `${what}: nothing injected`)
  }
  assert.ok(bodyB.equals(bodyA), `${what}: body bytes`)
  const ha = { ...a.headers }
  const hb = { ...b.headers }
  for (const h of DOCUMENTED) { delete ha[h]; delete hb[h] }
  if (expect.injected && req.method !== 'HEAD') {
    if (hb['content-length'] !== undefined) assert.equal(Number(hb['content-length']), b.rawPayload.length, `${what}: content-length matches the new body`)
    delete ha['content-length']; delete hb['content-length']
  }
  assert.deepEqual(hb, ha, `${what}: headers`)
  assert.equal(typeof b.headers['x-debug-toolbar-id'] === 'string', expect.profiled, `${what}: profiled`)
  if (expect.profiled) assert.match(String(b.headers['server-timing']), /memory-profiling;dur=/)
}

test('JSON, text, Buffers, non-HTML streams and HTML fragment streams pass through byte for byte', async (t) => {
  const apps = await pair()
  t.after(() => Promise.all(apps.map((a) => a.close())))
  for (const url of ['/json', '/text', '/buffer', '/stream', '/fragment-stream']) await compare(apps, { url }, { injected: false, profiled: true })
})

test('an HTML page sent as a stream gets only the snippet', async (t) => {
  const apps = await pair()
  t.after(() => Promise.all(apps.map((a) => a.close())))
  await compare(apps, { url: '/html-stream' }, { injected: true, profiled: true })
})

test('HTML gets only the snippet: strings, Buffers, 10 MB pages, several </body>; fragments get nothing', async (t) => {
  const apps = await pair()
  t.after(() => Promise.all(apps.map((a) => a.close())))
  for (const url of ['/html', '/html-buffer', '/big', '/two-bodies']) await compare(apps, { url }, { injected: true, profiled: true })
  const two = await apps[1].inject('/two-bodies')
  assert.match(two.body, /^<body>a<script[^>]*><\/script><\/body><!-- <\/body> -->$/, 'the last </body> outside the comment')
  await compare(apps, { url: '/no-body-tag' }, { injected: false, profiled: true })
})

test('a HEAD response reports exactly its GET\'s content-length, and repeated GETs get the same bytes', async (t) => {
  const apps = await pair()
  t.after(() => Promise.all(apps.map((a) => a.close())))
  const get = await apps[1].inject('/html')
  const again = await apps[1].inject('/html')
  const head = await apps[1].inject({ method: 'HEAD', url: '/html' })
  assert.equal(head.headers['content-length'], get.headers['content-length'])
  assert.equal(Number(get.headers['content-length']), get.rawPayload.length)
  assert.ok(get.rawPayload.equals(again.rawPayload), 'the same bytes for every request of a page')
  assert.notEqual(get.headers['x-debug-toolbar-id'], again.headers['x-debug-toolbar-id'])
  assert.match(String(get.headers['server-timing']), new RegExp(`debug-toolbar;desc="${String(get.headers['x-debug-toolbar-id'])}"`))
})

test('non-UTF-8 pages keep every byte; UTF-16 pages are left alone', async (t) => {
  const apps = await pair()
  t.after(() => Promise.all(apps.map((a) => a.close())))
  await compare(apps, { url: '/latin1' }, { injected: true, profiled: true })
  await compare(apps, { url: '/utf16' }, { injected: false, profiled: true })
})

test('HEAD, 204, 304, redirects and thrown errors are untouched', async (t) => {
  const apps = await pair()
  t.after(() => Promise.all(apps.map((a) => a.close())))
  await compare(apps, { url: '/no-content' }, { injected: false, profiled: true })
  await compare(apps, { url: '/not-modified' }, { injected: false, profiled: true })
  await compare(apps, { url: '/redirect' }, { injected: false, profiled: true })
  await compare(apps, { url: '/throws' }, { injected: false, profiled: true })
  await compare(apps, { method: 'HEAD', url: '/json' }, { injected: false, profiled: true })
})

test('a custom error handler\'s HTML page gets the toolbar and keeps its status', async (t) => {
  const apps = await pair((app) => {
    app.setErrorHandler((_err, _req, reply) => { reply.code(418).type('text/html').send('<html><body>teapot</body></html>') })
  })
  t.after(() => Promise.all(apps.map((a) => a.close())))
  await compare(apps, { url: '/throws' }, { injected: true, profiled: true })
})

test('appends to the app\'s Server-Timing instead of replacing it', async (t) => {
  const apps = await pair()
  t.after(() => Promise.all(apps.map((a) => a.close())))
  const res = await apps[1].inject('/timing')
  assert.match(String(res.headers['server-timing']), /^db;dur=3, memory-profiling;dur=/)
})

test('hijacked replies and opted-out routes are left exactly as the app wrote them', async (t) => {
  const apps = await pair()
  t.after(() => Promise.all(apps.map((a) => a.close())))
  await compare(apps, { url: '/hijack' }, { injected: false, profiled: false })
  await compare(apps, { url: '/quiet' }, { injected: false, profiled: false })
})

test('with @fastify/compress the page is injected before compression and decompresses to page + snippet', async (t) => {
  const apps = await pair(async (app) => { await app.register(compress, { threshold: 0 }) })
  t.after(() => Promise.all(apps.map((a) => a.close())))
  await compare(apps, { url: '/html', headers: { 'accept-encoding': 'gzip' } }, { injected: true, profiled: true })
})

test('an HTML body the app already compressed is passed through untouched', async (t) => {
  const { gzipSync } = await import('node:zlib')
  const gzipped = gzipSync(PAGE)
  const apps = await pair((app) => {
    app.get('/pre-gzipped', async (_q, r) => r.type('text/html').header('content-encoding', 'gzip').send(gzipped))
    app.get('/pre-gzipped-stream', async (_q, r) => r.type('text/html').header('content-encoding', 'gzip').send(Readable.from([gzipped])))
  })
  t.after(() => Promise.all(apps.map((a) => a.close())))
  await compare(apps, { url: '/pre-gzipped' }, { injected: false, profiled: true })
  await compare(apps, { url: '/pre-gzipped-stream' }, { injected: false, profiled: true })
})
