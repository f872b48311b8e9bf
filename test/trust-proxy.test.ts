// The default allow check with and without Fastify's trustProxy: the socket must be loopback, and
// X-Forwarded-For / Forwarded can only refuse (every address they name must be loopback too), never
// admit. A custom allow() is used exactly as given.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http'
import { networkInterfaces } from 'node:os'
import Fastify, { type FastifyInstance } from 'fastify'
import debugToolbar, { type DebugToolbarOptions } from '../src/index.ts'

const ID = /^[0-9a-f]{32}$/

async function proxiedApp (trustProxy: boolean, options: DebugToolbarOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({ trustProxy })
  await app.register(debugToolbar, { enabled: true, ...options })
  app.get('/page', async (request, reply) => reply.type('text/html').header('x-seen-ip', request.ip).send('<html><body>page</body></html>'))
  await app.ready()
  return app
}

interface Seen { profiled: boolean, injected: boolean, toolbarStatus: number, toolbarCode: string | undefined, ip: string }

/** One app request and one toolbar request, both with these headers from this socket address (inject). */
async function seenBy (app: FastifyInstance, remoteAddress: string, headers: Record<string, string>): Promise<Seen> {
  const page = await app.inject({ url: '/page', remoteAddress, headers: { host: '127.0.0.1:3000', ...headers } })
  const toolbar = await app.inject({ url: '/__debug/api/requests', remoteAddress, headers: { host: '127.0.0.1:3000', ...headers } })
  return {
    profiled: ID.test(String(page.headers['x-debug-toolbar-id'] ?? '')),
    injected: page.body.includes('data-debug-toolbar'),
    toolbarStatus: toolbar.statusCode,
    toolbarCode: toolbar.statusCode === 200 ? undefined : toolbar.json().code,
    ip: String(page.headers['x-seen-ip'])
  }
}

const ADMITTED = { profiled: true, injected: true, toolbarStatus: 200, toolbarCode: undefined }
const REFUSED = { profiled: false, injected: false, toolbarStatus: 403, toolbarCode: 'FST_DEBUG_TOOLBAR_FORBIDDEN' }

function without<T extends object> (seen: T & { ip: string }): Omit<T, 'ip'> {
  const { ip: _ip, ...rest } = seen
  return rest
}

for (const trustProxy of [false, true]) {
  test(`trustProxy ${trustProxy}: a spoofed X-Forwarded-For: 127.0.0.1 from a non-loopback socket is refused`, async (t) => {
    const app = await proxiedApp(trustProxy)
    t.after(() => app.close())
    const spoofs: Array<Record<string, string>> = [{ 'x-forwarded-for': '127.0.0.1' }, { forwarded: 'for=127.0.0.1' }, { 'x-forwarded-for': '::1', forwarded: 'for="[::1]"' }, {}]
    for (const headers of spoofs) {
      const seen = await seenBy(app, '203.0.113.5', headers)
      assert.deepEqual(without(seen), REFUSED, JSON.stringify(headers))
      if (trustProxy && headers['x-forwarded-for'] !== undefined) assert.equal(seen.ip, headers['x-forwarded-for'], 'Fastify itself believes the header: request.ip is loopback')
    }
  })

  test(`trustProxy ${trustProxy}: a loopback proxy forwarding an outside client (203.0.113.5) is refused`, async (t) => {
    const app = await proxiedApp(trustProxy)
    t.after(() => app.close())
    const outside: Array<Record<string, string>> = [
      { 'x-forwarded-for': '203.0.113.5' },
      { 'x-forwarded-for': '203.0.113.5, 127.0.0.1' },
      { 'x-forwarded-for': '127.0.0.1, 203.0.113.5' },
      { 'x-forwarded-for': '203.0.113.5:51234' },
      { 'x-forwarded-for': '2001:db8::5' },
      { 'x-forwarded-for': '::ffff:203.0.113.5' },
      { forwarded: 'for=203.0.113.5;proto=https' },
      { forwarded: 'for="[2001:db8::5]:4711"' },
      { forwarded: 'for=127.0.0.1, for=203.0.113.5' },
      { forwarded: 'for=unknown' },
      { forwarded: 'for=_hidden' },
      { 'x-forwarded-for': '127.0.0.1', forwarded: 'for=203.0.113.5' },
      { 'x-forwarded-for': '' },
      { 'x-forwarded-for': 'localhost' },
      { 'x-forwarded-for': '127.0.0.1.evil.example' }
    ]
    for (const headers of outside) {
      const seen = await seenBy(app, '127.0.0.1', headers)
      assert.deepEqual(without(seen), REFUSED, JSON.stringify(headers))
    }
    if (trustProxy) assert.equal((await seenBy(app, '127.0.0.1', { 'x-forwarded-for': '203.0.113.5' })).ip, '203.0.113.5')
  })

  test(`trustProxy ${trustProxy}: a loopback proxy forwarding a loopback client is admitted`, async (t) => {
    const app = await proxiedApp(trustProxy)
    t.after(() => app.close())
    const local: Array<Record<string, string>> = [
      {},
      { 'x-forwarded-for': '127.0.0.1' },
      { 'x-forwarded-for': '127.0.0.1, ::1' },
      { 'x-forwarded-for': '127.0.0.1:51234' },
      { 'x-forwarded-for': '[::1]:51234' },
      { 'x-forwarded-for': '::ffff:127.0.0.1' },
      { forwarded: 'for=127.0.0.1;proto=http;by=127.0.0.1' },
      { forwarded: 'for="[::1]:4711"' },
      { forwarded: 'proto=https' },
      { 'x-forwarded-for': '127.0.0.2', forwarded: 'For=127.0.0.1' }
    ]
    for (const headers of local) {
      for (const socket of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) {
        const seen = await seenBy(app, socket, headers)
        assert.deepEqual(without(seen), ADMITTED, `${socket} ${JSON.stringify(headers)}`)
      }
    }
  })

  test(`trustProxy ${trustProxy}: a custom allow() is used as given, headers and all`, async (t) => {
    const byIp = await proxiedApp(trustProxy, { allow: (request) => request.ip === '203.0.113.5' })
    t.after(() => byIp.close())
    const forwarded = without(await seenBy(byIp, '127.0.0.1', { 'x-forwarded-for': '203.0.113.5' }))
    // With trustProxy request.ip is the forwarded client, so this allow() admits it; without, it is the socket.
    assert.deepEqual(forwarded, trustProxy ? ADMITTED : REFUSED)
    assert.deepEqual(without(await seenBy(byIp, '203.0.113.5', {})), ADMITTED, 'an outside socket admitted by the custom check')

    const everyone = await proxiedApp(trustProxy, { allow: () => true })
    t.after(() => everyone.close())
    const res = await everyone.inject({ url: '/__debug/api/requests', remoteAddress: '198.51.100.7', headers: { host: 'toolbar.example:8080', 'x-forwarded-for': '203.0.113.5' } })
    assert.equal(res.statusCode, 200, 'a custom allow() skips the loopback Host check too')
  })
}

/** A non-loopback address of this machine, if it has one: a real socket whose peer is not loopback. */
function externalAddress (): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) if (!i.internal && i.family === 'IPv4') return i.address
  }
  return undefined
}

function get (host: string, port: number, path: string, headers: OutgoingHttpHeaders): Promise<{ status: number, id: string | undefined, body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host, port, path, headers, localAddress: host }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { body += c })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, id: res.headers['x-debug-toolbar-id'] as string | undefined, body }) })
    })
    req.on('error', reject)
    req.end()
  })
}

test('over real sockets with trustProxy: forwarded loopback admitted, forwarded outsider and spoofing outsider refused', async (t) => {
  const app = await proxiedApp(true)
  t.after(() => app.close())
  await app.listen({ host: '0.0.0.0', port: 0 })
  const port = (app.server.address() as { port: number }).port
  const host = { host: `127.0.0.1:${port}` }

  // A local proxy (loopback socket) forwarding a local client, then an outside one; duplicate header lines too.
  assert.match((await get('127.0.0.1', port, '/page', { ...host, 'x-forwarded-for': '127.0.0.1' })).id ?? '', ID)
  assert.equal((await get('127.0.0.1', port, '/__debug/api/requests', { ...host, 'x-forwarded-for': '127.0.0.1' })).status, 200)
  assert.equal((await get('127.0.0.1', port, '/page', { ...host, 'x-forwarded-for': '203.0.113.5' })).id, undefined)
  assert.equal((await get('127.0.0.1', port, '/__debug/api/requests', { ...host, 'x-forwarded-for': '203.0.113.5' })).status, 403)
  assert.equal((await get('127.0.0.1', port, '/__debug/api/requests', { ...host, 'x-forwarded-for': ['127.0.0.1', '203.0.113.5'] })).status, 403)

  const external = externalAddress()
  if (external === undefined) {
    t.diagnostic('no non-loopback interface: the outside-socket half ran through inject() only')
    return
  }
  // A real connection from this machine's non-loopback address, claiming to be loopback every way it can.
  const spoof = { ...host, 'x-forwarded-for': '127.0.0.1', forwarded: 'for=127.0.0.1' }
  const page = await get(external, port, '/page', spoof)
  assert.equal(page.status, 200)
  assert.equal(page.id, undefined, 'not profiled')
  assert.ok(!page.body.includes('data-debug-toolbar'), 'no toolbar injected')
  const api = await get(external, port, '/__debug/api/requests', spoof)
  assert.equal(api.status, 403)
  assert.equal(JSON.parse(api.body).code, 'FST_DEBUG_TOOLBAR_FORBIDDEN')
})
