// The one state-changing toolbar route, POST {prefix}/api/requests/clear: it needs the allow check,
// an Origin equal to the server's own origin and the per-registration token. Every refusal must
// leave the stored history exactly as it was.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { request as httpRequest } from 'node:http'
import Fastify, { type FastifyInstance, type InjectOptions } from 'fastify'
import helmet from '@fastify/helmet'
import debugToolbar from '../src/index.ts'
import { appWithToolbar } from './helpers.ts'

const HOST = '127.0.0.1:3000'
const ORIGIN = 'http://127.0.0.1:3000'
const CLEAR = '/__debug/api/requests/clear'
const FORM = 'application/x-www-form-urlencoded'

async function appWithHistory (count = 3): Promise<{ app: FastifyInstance, token: string, ids: string[] }> {
  const app = await appWithToolbar({}, (a) => {
    a.get('/page', async (_q, r) => r.type('text/html').send('<html><body>page</body></html>'))
  })
  for (let i = 0; i < count; i++) await app.inject('/page')
  return { app, token: await tokenOf(app), ids: await storedIds(app) }
}

/** The token as the history page's form carries it. */
async function tokenOf (app: FastifyInstance): Promise<string> {
  const page = await app.inject({ url: '/__debug/', headers: { host: HOST } })
  assert.equal(page.statusCode, 200)
  const m = /<form class="fdt-clear" id="fdt-clear" method="post" action="\/__debug\/api\/requests\/clear">\s*<input type="hidden" name="token" value="([A-Za-z0-9_-]+)">/.exec(page.body)
  assert.ok(m !== null, 'the history page has the clear form with its token')
  return m[1] as string
}

async function storedIds (app: FastifyInstance): Promise<string[]> {
  const res = await app.inject({ url: '/__debug/api/requests', headers: { host: HOST } })
  assert.equal(res.statusCode, 200)
  return (res.json() as Array<{ id: string }>).map((r) => r.id)
}

function clear (extra: Partial<InjectOptions> & { headers?: Record<string, string> } = {}): InjectOptions {
  return { method: 'POST', url: CLEAR, ...extra, headers: { host: HOST, ...extra.headers } }
}

async function assertRefused (app: FastifyInstance, ids: string[], req: InjectOptions, status: number, code: string, what: string): Promise<void> {
  const res = await app.inject(req)
  assert.equal(res.statusCode, status, `${what}: status (${res.body})`)
  assert.match(String(res.headers['content-type']), /^application\/json/, `${what}: JSON`)
  assert.equal(res.json().code, code, `${what}: code`)
  assert.doesNotMatch(res.body, /\n\s+at /, `${what}: no stack trace`)
  assert.deepEqual(await storedIds(app), ids, `${what}: the history is untouched`)
}

test('a same-origin form post with the token clears the history and redirects 303 to the history page', async (t) => {
  const { app, token, ids } = await appWithHistory(3)
  t.after(() => app.close())
  assert.equal(ids.length, 3)
  const res = await app.inject(clear({ headers: { origin: ORIGIN, 'content-type': FORM }, payload: `token=${token}` }))
  assert.equal(res.statusCode, 303)
  assert.equal(res.headers.location, '/__debug/')
  assert.equal(res.headers['cache-control'], 'no-store')
  assert.deepEqual(await storedIds(app), [])
  const page = await app.inject({ url: res.headers.location, headers: { host: HOST } })
  assert.match(page.body, /0 of at most 50 kept in memory/)
  // Recording goes on after a clear.
  await app.inject('/page')
  assert.equal((await storedIds(app)).length, 1)
})

test('a JSON client with the token in x-debug-toolbar-token clears and is told how many records went', async (t) => {
  const { app, token } = await appWithHistory(4)
  t.after(() => app.close())
  const res = await app.inject(clear({ headers: { origin: ORIGIN, 'x-debug-toolbar-token': token } }))
  assert.equal(res.statusCode, 200)
  assert.deepEqual(res.json(), { cleared: 4 })
  assert.deepEqual(await storedIds(app), [])
})

test('clears over a real connection with the Origin a browser sends for the server\'s own page', async (t) => {
  const { app, token } = await appWithHistory(2)
  t.after(() => app.close())
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = new URL(base)
  const body = `token=${encodeURIComponent(token)}`
  const answer = (origin: string): Promise<{ status: number, location: string | undefined }> => new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: CLEAR, headers: { origin, 'content-type': FORM, 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume()
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, location: res.headers.location }) })
    })
    req.on('error', reject)
    req.end(body)
  })
  assert.equal((await answer(`http://127.0.0.1:${Number(port) + 1}`)).status, 403, 'another port is another origin')
  assert.equal((await app.inject('/__debug/api/requests')).json().length, 2)
  assert.deepEqual(await answer(base), { status: 303, location: '/__debug/' })
  assert.equal((await app.inject('/__debug/api/requests')).json().length, 0)
})

test('refuses a missing, null or foreign Origin with FST_DEBUG_TOOLBAR_BAD_ORIGIN and keeps every record', async (t) => {
  const { app, token, ids } = await appWithHistory(3)
  t.after(() => app.close())
  const origins: Array<[string | undefined, string]> = [
    [undefined, 'no Origin'],
    ['null', 'the opaque origin "null" (sandboxed frame, file:, data:)'],
    ['http://evil.example', 'another site'],
    ['http://127.0.0.1:3001', 'another port'],
    ['https://127.0.0.1:3000', 'another scheme'],
    ['http://localhost:3000', 'another name for the same machine'],
    ['http://127.0.0.1:3000.evil.example', 'a suffix'],
    ['http://127.0.0.1', 'no port'],
    ['http://127.0.0.1:3000/', 'a trailing slash (not an origin)'],
    ['HTTP://127.0.0.1:3000', 'a form no browser sends'],
    ['', 'an empty header']
  ]
  for (const [origin, what] of origins) {
    for (const viaHeader of [false, true]) {
      const headers: Record<string, string> = viaHeader ? { 'x-debug-toolbar-token': token } : { 'content-type': FORM }
      if (origin !== undefined) headers.origin = origin
      await assertRefused(app, ids, clear({ headers, payload: viaHeader ? undefined : `token=${token}` }), 403, 'FST_DEBUG_TOOLBAR_BAD_ORIGIN', `${what}${viaHeader ? ' (header token)' : ' (form)'}`)
    }
  }
})

test('refuses a wrong, missing, short or long token with FST_DEBUG_TOOLBAR_BAD_TOKEN and keeps every record', async (t) => {
  const { app, token, ids } = await appWithHistory(3)
  t.after(() => app.close())
  const other = await appWithHistory(1)
  t.after(() => other.app.close())
  const otherToken = other.token
  assert.notEqual(otherToken, token, 'each registration draws its own token')
  const flipped = (token[0] === 'A' ? 'B' : 'A') + token.slice(1)
  const forms: Array<[string | undefined, string]> = [
    [undefined, 'no body at all'],
    ['', 'an empty form'],
    ['token=', 'an empty token'],
    [`token=${flipped}`, 'one character off'],
    [`token=${token.slice(0, -1)}`, 'one character short'],
    [`token=${token.slice(0, 8)}`, 'a short prefix'],
    [`token=${token}x`, 'one character long'],
    [`token=${token.toUpperCase()}`, 'the wrong case'],
    [`token=${otherToken}`, 'another app\'s token'],
    [`Token=${token}`, 'the wrong field name'],
    [`token[]=${token}`, 'an array-looking field']
  ]
  for (const [payload, what] of forms) {
    const req = payload === undefined
      ? clear({ headers: { origin: ORIGIN } })
      : clear({ headers: { origin: ORIGIN, 'content-type': FORM }, payload })
    await assertRefused(app, ids, req, 403, 'FST_DEBUG_TOOLBAR_BAD_TOKEN', `form: ${what}`)
  }
  for (const [value, what] of [['', 'empty'], [flipped, 'one character off'], [token.slice(1), 'short'], [`${token}${token}`, 'doubled'], [otherToken, 'another app\'s']]) {
    await assertRefused(app, ids, clear({ headers: { origin: ORIGIN, 'x-debug-toolbar-token': value as string } }), 403, 'FST_DEBUG_TOOLBAR_BAD_TOKEN', `header: ${what as string}`)
  }
  // A token in the query string is never read (it would end up in logs and Referer headers).
  await assertRefused(app, ids, clear({ url: `${CLEAR}?token=${token}`, headers: { origin: ORIGIN } }), 403, 'FST_DEBUG_TOOLBAR_BAD_TOKEN', 'query-string token')
  // A wrong header token is not rescued by a right form field.
  await assertRefused(app, ids, clear({ headers: { origin: ORIGIN, 'content-type': FORM, 'x-debug-toolbar-token': flipped }, payload: `token=${token}` }), 403, 'FST_DEBUG_TOOLBAR_BAD_TOKEN', 'wrong header, right field')
  // JSON bodies are not a way in either: only the header counts for them.
  await assertRefused(app, ids, clear({ headers: { origin: ORIGIN, 'content-type': 'application/json' }, payload: JSON.stringify({ token: flipped }) }), 403, 'FST_DEBUG_TOOLBAR_BAD_TOKEN', 'JSON body with a wrong token')
})

test('GET, HEAD, PUT, DELETE, PATCH and OPTIONS on the clear URL answer 404 and never clear', async (t) => {
  const { app, token, ids } = await appWithHistory(3)
  t.after(() => app.close())
  for (const method of ['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'] as const) {
    const res = await app.inject({ method, url: `${CLEAR}?token=${token}`, headers: { host: HOST, origin: ORIGIN, 'x-debug-toolbar-token': token } })
    assert.equal(res.statusCode, 404, `${method}: ${res.body}`)
    assert.deepEqual(await storedIds(app), ids, `${method}: the history is untouched`)
  }
})

test('a cross-site form post exactly as a browser sends it is refused, whatever its enctype', async (t) => {
  const { app, token, ids } = await appWithHistory(3)
  t.after(() => app.close())
  // What Chromium sends for <form method=post action="http://127.0.0.1:3000/__debug/api/requests/clear">
  // submitted from a page on http://evil.example; the attacker cannot read the token, so guesses.
  const browserHeaders = {
    origin: 'http://evil.example',
    referer: 'http://evil.example/',
    'sec-fetch-site': 'cross-site',
    'sec-fetch-mode': 'navigate',
    'sec-fetch-dest': 'document',
    'sec-fetch-user': '?1',
    'upgrade-insecure-requests': '1',
    'cache-control': 'max-age=0',
    accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    cookie: 'fdt-precise=1'
  }
  const bodies: Array<[string, string]> = [
    [FORM, `token=${'A'.repeat(token.length)}`],
    ['text/plain', `token=${'A'.repeat(token.length)}`],
    ['multipart/form-data; boundary=----x', `------x\r\nContent-Disposition: form-data; name="token"\r\n\r\n${'A'.repeat(token.length)}\r\n------x--\r\n`]
  ]
  for (const [type, payload] of bodies) {
    await assertRefused(app, ids, clear({ headers: { ...browserHeaders, 'content-type': type }, payload }), 403, 'FST_DEBUG_TOOLBAR_BAD_ORIGIN', `cross-site ${type}`)
  }
  // Even a leaked token does not help a foreign page: the Origin is checked first.
  await assertRefused(app, ids, clear({ headers: { ...browserHeaders, 'content-type': FORM }, payload: `token=${token}` }), 403, 'FST_DEBUG_TOOLBAR_BAD_ORIGIN', 'cross-site with the real token')
  // A sandboxed or data: frame on any site sends Origin: null.
  await assertRefused(app, ids, clear({ headers: { ...browserHeaders, origin: 'null', 'content-type': FORM }, payload: `token=${token}` }), 403, 'FST_DEBUG_TOOLBAR_BAD_ORIGIN', 'opaque origin with the real token')
})

test('the allow check runs first: refused clients get FST_DEBUG_TOOLBAR_FORBIDDEN even with the right Origin and token', async (t) => {
  const { app, token, ids } = await appWithHistory(3)
  t.after(() => app.close())
  const good = { origin: ORIGIN, 'content-type': FORM }
  await assertRefused(app, ids, clear({ headers: good, payload: `token=${token}`, remoteAddress: '203.0.113.5' }), 403, 'FST_DEBUG_TOOLBAR_FORBIDDEN', 'a non-loopback socket')
  await assertRefused(app, ids, clear({ headers: { ...good, host: 'evil.example:3000', origin: 'http://evil.example:3000' }, payload: `token=${token}` }), 403, 'FST_DEBUG_TOOLBAR_FORBIDDEN_HOST', 'a rebinding Host with its matching Origin')

  let calls = 0
  const refusing = await appWithToolbar({ allow: () => { calls++; return false } })
  t.after(() => refusing.close())
  const res = await refusing.inject(clear({ headers: { origin: ORIGIN, 'x-debug-toolbar-token': token } }))
  assert.equal(res.statusCode, 403)
  assert.equal(res.json().code, 'FST_DEBUG_TOOLBAR_FORBIDDEN')
  assert.equal(calls, 1, 'a custom allow() is asked once, before anything else')
})

test('the history page carries the clear form without inline script; the History panel links to it without the token', async (t) => {
  const { app, token, ids } = await appWithHistory(2)
  t.after(() => app.close())
  const page = await app.inject({ url: '/__debug/', headers: { host: HOST } })
  // A plain form: no inline script (the page's only scripts are the toolbar's own static modules).
  for (const tag of page.body.match(/<script\b[^>]*>/gi) ?? []) assert.match(tag, /\ssrc="\/__debug\/static\/[^"]+"/, `not inline: ${tag}`)
  assert.doesNotMatch(page.body, /<form class="fdt-clear"[^>]*\son[a-z]+=/i)
  assert.match(page.body, /<button type="submit"[^>]*>Clear history<\/button>/)
  // The panel is rendered inside the app's own pages: the token stays on the toolbar's page.
  const panel = await app.inject({ url: `/__debug/requests/${ids[0] as string}/panels/history`, headers: { host: HOST } })
  assert.equal(panel.statusCode, 200)
  assert.ok(!panel.body.includes(token), 'the History panel does not carry the token')
  assert.match(panel.body, /<a href="\/__debug\/#fdt-clear">Clear history…<\/a>/)
  // No record, JSON view or request page carries the token either.
  for (const url of ['/__debug/api/requests', `/__debug/api/requests/${ids[0] as string}`, `/__debug/requests/${ids[0] as string}/toolbar`, `/__debug/requests/${ids[0] as string}`]) {
    assert.ok(!(await app.inject({ url, headers: { host: HOST } })).body.includes(token), `${url} does not carry the token`)
  }
})

test('toolbar responses set Referrer-Policy: same-origin, over helmet\'s no-referrer, so a same-origin form post carries its Origin', async (t) => {
  const app = Fastify()
  await app.register(helmet, { enableCSPNonces: true })
  await app.register(debugToolbar, { enabled: true })
  app.get('/page', async (_q, r) => r.type('text/html').send('<html><body>page</body></html>'))
  await app.ready()
  t.after(() => app.close())
  const hostPage = await app.inject('/page')
  assert.equal(hostPage.headers['referrer-policy'], 'no-referrer', 'helmet\'s default on the app\'s own pages is untouched')
  const history = await app.inject({ url: '/__debug/', headers: { host: HOST } })
  assert.equal(history.headers['referrer-policy'], 'same-origin')
  assert.match(String(history.headers['content-security-policy']), /form-action 'self'/)
})

test('GET /api/store reports the store\'s records and estimated bytes against its caps, and 0 after a clear', async (t) => {
  const { app, token } = await appWithHistory(3)
  t.after(() => app.close())
  const before = (await app.inject({ url: '/__debug/api/store', headers: { host: HOST } })).json()
  assert.equal(before.size, 3)
  assert.ok(before.sizeBytes > 3 * 2048 && before.sizeBytes < before.maxStoreBytes, JSON.stringify(before))
  assert.equal(before.maxRequests, 50)
  await app.inject(clear({ headers: { origin: ORIGIN, 'x-debug-toolbar-token': token } }))
  const after = (await app.inject({ url: '/__debug/api/store', headers: { host: HOST } })).json()
  assert.deepEqual({ size: after.size, sizeBytes: after.sizeBytes }, { size: 0, sizeBytes: 0 })
})

test('the form parser serves the toolbar\'s routes only: the app\'s own parser, or its 415, is unchanged', async (t) => {
  // An app without a form parser: still 415 for its own routes.
  const bare = await appWithToolbar({}, (a) => a.post('/host-form', async (q) => ({ body: q.body })))
  t.after(() => bare.close())
  const refused = await bare.inject({ method: 'POST', url: '/host-form', headers: { 'content-type': FORM }, payload: 'a=1' })
  assert.equal(refused.statusCode, 415)

  // An app that registered its own parser before the toolbar: it starts, keeps its parser, and clearing works.
  const own = Fastify()
  own.addContentTypeParser(FORM, { parseAs: 'string' }, (_q, body, done) => { done(null, { hostParsed: body }) })
  await own.register(debugToolbar, { enabled: true })
  own.post('/host-form', async (q) => ({ body: q.body }))
  await own.ready()
  t.after(() => own.close())
  const parsed = await own.inject({ method: 'POST', url: '/host-form', headers: { 'content-type': FORM }, payload: 'a=1' })
  assert.deepEqual(parsed.json(), { body: { hostParsed: 'a=1' } })
  await own.inject({ method: 'POST', url: '/host-form', headers: { 'content-type': FORM }, payload: 'a=2' })
  assert.equal((await storedIds(own)).length, 2)
  const res = await own.inject(clear({ headers: { origin: ORIGIN, 'content-type': FORM }, payload: `token=${await tokenOf(own)}` }))
  assert.equal(res.statusCode, 303)
  assert.deepEqual(await storedIds(own), [])
})

test('a form body over 1 KiB is refused with 413 before the token is read', async (t) => {
  const { app, token, ids } = await appWithHistory(2)
  t.after(() => app.close())
  const res = await app.inject(clear({ headers: { origin: ORIGIN, 'content-type': FORM }, payload: `token=${token}&pad=${'x'.repeat(2048)}` }))
  assert.equal(res.statusCode, 413)
  assert.deepEqual(await storedIds(app), ids)
})
