import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import http2, { type ClientHttp2Session, type OutgoingHttpHeaders } from 'node:http2'
import https from 'node:https'
import Fastify from 'fastify'
import debugToolbar from '../src/index.ts'

// A self-signed certificate for localhost, 127.0.0.1 and ::1 (valid for 100 years), trusted by the clients below only.
const KEY = readFileSync(new URL('./fixtures/tls-localhost.key', import.meta.url))
const CERT = readFileSync(new URL('./fixtures/tls-localhost.crt', import.meta.url))
const SECRET = 'H2-SECRET-QUERY-VALUE'

interface H2Answer { status: number, headers: Record<string, unknown>, body: string }

/** One request over an HTTP/2 session (pseudo-headers: :path, and :authority from the session's URL). */
async function h2get (session: ClientHttp2Session, path: string, headers: OutgoingHttpHeaders = {}): Promise<H2Answer> {
  return await new Promise((resolve, reject) => {
    const req = session.request({ ':path': path, ...headers })
    let body = ''
    let answer: Record<string, unknown> = {}
    req.setEncoding('utf8')
    req.on('response', (h) => { answer = h })
    req.on('data', (chunk: string) => { body += chunk })
    req.on('end', () => { resolve({ status: Number(answer[':status']), headers: answer, body }) })
    req.on('error', reject)
    req.end()
  })
}

/** What the tests need of a listening app, whichever kind of server it runs on. */
interface Listening { server: { address: () => unknown }, close: () => Promise<unknown> }

const OPTIONS = { enabled: true, redact: ['token'] }

async function h2app (tls?: { key: Buffer, cert: Buffer, allowHTTP1: boolean }): Promise<Listening> {
  if (tls === undefined) {
    const app = Fastify({ http2: true })
    await app.register(debugToolbar, OPTIONS)
    app.get('/p', async () => ({ ok: true }))
    await app.listen({ port: 0, host: '127.0.0.1' })
    return app
  }
  const app = Fastify({ http2: true, https: tls })
  await app.register(debugToolbar, OPTIONS)
  app.get('/p', async () => ({ ok: true }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  return app
}

/** The client session first: the server's close waits for open sessions. */
async function closeBoth (session: ClientHttp2Session, app: Listening): Promise<void> {
  await new Promise<void>((resolve) => { session.close(resolve) })
  await app.close()
}

/** A profiled request with a secret query value, then every toolbar view of its record, all over HTTP/2. */
async function checkOverH2 (session: ClientHttp2Session): Promise<void> {
  const res = await h2get(session, `/p?token=${SECRET}&page=2`)
  assert.equal(res.status, 200)
  const id = res.headers['x-debug-toolbar-id']
  assert.equal(typeof id, 'string', 'the HTTP/2 request was profiled')

  for (const path of ['/__debug/', `/__debug/api/requests/${String(id)}`, `/__debug/requests/${String(id)}`, `/__debug/requests/${String(id)}/record.json`, '/__debug/api/requests', `/__debug/requests/${String(id)}/panels/request`]) {
    const view = await h2get(session, path)
    assert.equal(view.status, 200, `${path} answers an HTTP/2 client (Host absent, :authority present): ${view.body.slice(0, 200)}`)
    assert.ok(!view.body.includes(SECRET), `${path} does not show the redacted query value`)
  }
  const record = JSON.parse((await h2get(session, `/__debug/api/requests/${String(id)}`)).body)
  assert.equal(record.url, '/p?token=[redacted]&page=2')
  assert.equal(record.request.headers[':path'], '/p?token=[redacted]&page=2', 'the :path pseudo-header is redacted like the URL')
  assert.equal(record.request.headers[':method'], 'GET')
  assert.equal(record.request.httpVersion, '2.0')
}

test('over h2c, the :path pseudo-header is redacted like the URL and every toolbar route answers the HTTP/2 client', async (t) => {
  const app = await h2app()
  const address = app.server.address() as { port: number }
  const session = http2.connect(`http://127.0.0.1:${address.port}`)
  t.after(async () => { await closeBoth(session, app) })
  await checkOverH2(session)
})

test('over TLS with allowHTTP1, HTTP/2 clients get redacted pseudo-headers and the toolbar, and HTTPS/1.1 clients still do', async (t) => {
  const app = await h2app({ key: KEY, cert: CERT, allowHTTP1: true })
  const address = app.server.address() as { port: number }
  const session = http2.connect(`https://localhost:${address.port}`, { ca: CERT })
  t.after(async () => { await closeBoth(session, app) })
  await checkOverH2(session)

  // The same server over HTTP/1.1 (Host present): the toolbar answers and shows no secret.
  const body = await new Promise<{ status: number, body: string }>((resolve, reject) => {
    https.get({ host: '127.0.0.1', servername: 'localhost', port: address.port, path: '/__debug/api/requests', ca: CERT, agent: false, headers: { host: `localhost:${address.port}` } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { text += c })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: text }) })
    }).on('error', reject)
  })
  assert.equal(body.status, 200)
  assert.ok(!body.body.includes(SECRET))
  assert.ok(body.body.includes('token=[redacted]'))
})
