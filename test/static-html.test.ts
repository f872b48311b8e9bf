// Static .html files that @fastify/static sends as streams: whole pages get the toolbar, everything
// else (fragments, other types, ranges, 304s, pages beyond the held-back bound) goes out byte for
// byte. A body the app compressed itself is covered in host-untouched.test.ts.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { gunzipSync } from 'node:zlib'
import Fastify, { type FastifyInstance } from 'fastify'
import compress from '@fastify/compress'
import fastifyStatic from '@fastify/static'
import debugToolbar from '../src/index.ts'
import { MAX_HELD_BYTES, MAX_HELD_MS } from '../src/toolbar/respond.ts'

const SNIPPET = '<script type="module" src="/__debug/static/toolbar.js" data-debug-toolbar data-prefix="/__debug"></script>'

function files (): string {
  const dir = mkdtempSync(join(tmpdir(), 'fdt-static-'))
  writeFileSync(join(dir, 'page.html'), '<!doctype html>\n<html><head><title>Static</title></head>\n<body><h1>Static page</h1></body>\n</html>\n')
  writeFileSync(join(dir, 'fragment.html'), '<li>one</li>\n<li>two</li>\n')
  writeFileSync(join(dir, 'style.css'), 'body { color: red } /* </body> */\n')
  writeFileSync(join(dir, 'big.html'), '<!doctype html><html><body>' + '<p>0123456789abcdef</p>\n'.repeat(Math.ceil(2 * MAX_HELD_BYTES / 24)) + '</body></html>\n')
  return dir
}

async function build (dir: string, order: 'none' | 'compress-first' | 'toolbar-first' = 'none'): Promise<FastifyInstance> {
  const app = Fastify()
  if (order === 'compress-first') await app.register(compress, { threshold: 0 })
  await app.register(debugToolbar, { enabled: true })
  if (order === 'toolbar-first') await app.register(compress, { threshold: 0 })
  await app.register(fastifyStatic, { root: dir })
  await app.ready()
  return app
}

test('a static .html page gets the toolbar before its </body>, with a content-length that fits or none', async (t) => {
  const dir = files()
  const app = await build(dir)
  t.after(async () => { await app.close(); rmSync(dir, { recursive: true }) })
  const file = readFileSync(join(dir, 'page.html'), 'utf8')
  const res = await app.inject('/page.html')
  assert.equal(res.statusCode, 200)
  assert.equal(res.body, file.replace('</body>', `${SNIPPET}</body>`))
  assert.equal(res.headers['content-length'], undefined, 'the file\'s content-length is dropped: the body changed')
  assert.match(String(res.headers['x-debug-toolbar-id']), /^[0-9a-f]{32}$/)
  assert.match(String(res.headers['server-timing']), /debug-toolbar;desc="[0-9a-f]{32}"/)
})

test('static fragments, other files, ranges and 304s go out byte for byte with their content-length', async (t) => {
  const dir = files()
  const app = await build(dir)
  t.after(async () => { await app.close(); rmSync(dir, { recursive: true }) })
  for (const name of ['fragment.html', 'style.css']) {
    const res = await app.inject(`/${name}`)
    const bytes = readFileSync(join(dir, name))
    assert.ok(res.rawPayload.equals(bytes), `${name}: same bytes`)
    assert.equal(Number(res.headers['content-length']), bytes.length, `${name}: content-length kept`)
  }
  const range = await app.inject({ url: '/page.html', headers: { range: 'bytes=0-9' } })
  assert.equal(range.statusCode, 206)
  assert.equal(range.body, '<!doctype ')
  const first = await app.inject('/page.html')
  const again = await app.inject({ url: '/page.html', headers: { 'if-none-match': String(first.headers.etag) } })
  assert.equal(again.statusCode, 304)
  assert.equal(again.body, '')
})

test('a static page larger than the held-back bound goes out unchanged, and its record says why', async (t) => {
  const dir = files()
  const app = await build(dir)
  t.after(async () => { await app.close(); rmSync(dir, { recursive: true }) })
  const res = await app.inject('/big.html')
  const bytes = readFileSync(join(dir, 'big.html'))
  assert.ok(res.rawPayload.equals(bytes), 'same bytes')
  assert.equal(Number(res.headers['content-length']), bytes.length)
  const record = (await app.inject(`/__debug/api/requests/${String(res.headers['x-debug-toolbar-id'])}`)).json()
  assert.ok(record.memory.notes.some((n: string) => n.includes(`larger than ${MAX_HELD_BYTES} bytes`)), JSON.stringify(record.memory.notes))
})

test('with @fastify/compress, registered before or after the toolbar, a static page is injected before compression', async (t) => {
  const dir = files()
  const file = readFileSync(join(dir, 'page.html'), 'utf8')
  const toolbarFirst = await build(dir, 'toolbar-first')
  const compressFirst = await build(dir, 'compress-first')
  t.after(async () => { await toolbarFirst.close(); await compressFirst.close(); rmSync(dir, { recursive: true }) })
  const a = await toolbarFirst.inject({ url: '/page.html', headers: { 'accept-encoding': 'gzip' } })
  assert.equal(a.headers['content-encoding'], 'gzip')
  assert.equal(gunzipSync(a.rawPayload).toString(), file.replace('</body>', `${SNIPPET}</body>`))
  const b = await compressFirst.inject({ url: '/page.html', headers: { 'accept-encoding': 'gzip' } })
  assert.equal(b.headers['content-encoding'], 'gzip')
  // compress hooks each route's onSend, which runs after the toolbar's (an app-level hook) in either order.
  assert.equal(gunzipSync(b.rawPayload).toString(), file.replace('</body>', `${SNIPPET}</body>`))
  const fragment = await toolbarFirst.inject({ url: '/fragment.html', headers: { 'accept-encoding': 'gzip' } })
  assert.equal(gunzipSync(fragment.rawPayload).toString(), readFileSync(join(dir, 'fragment.html'), 'utf8'))
})

test('an HTML stream still open after the held-back time goes out unchanged, and its record says why', async (t) => {
  const app = Fastify()
  await app.register(debugToolbar, { enabled: true })
  const open = new PassThrough()
  app.get('/progressive', async (_q, reply) => reply.type('text/html').send(open))
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  t.after(async () => { open.destroy(); await app.close() })
  open.write('<!doctype html><html><body><h1>Shell</h1>')
  const res = await fetch(`${base}/progressive`)
  assert.equal(res.status, 200)
  const reader = (res.body as ReadableStream<Uint8Array>).getReader()
  const first = await reader.read()
  assert.equal(Buffer.from(first.value ?? []).toString(), '<!doctype html><html><body><h1>Shell</h1>', 'the bytes so far, unchanged')
  open.end('<p>rest</p></body></html>')
  let rest = ''
  for (let r = await reader.read(); !r.done; r = await reader.read()) rest += Buffer.from(r.value).toString()
  assert.equal(rest, '<p>rest</p></body></html>')
  const record = (await app.inject(`/__debug/api/requests/${String(res.headers.get('x-debug-toolbar-id'))}`)).json()
  assert.ok(record.memory.notes.some((n: string) => n.includes(`still open after ${MAX_HELD_MS} ms`)), JSON.stringify(record.memory.notes))
})
