// Leak tests from the toolbar's JSON API: POST {prefix}/api/leak-tests (same-origin Origin and the
// token), progress and report, cancel, downloads, the report page, and the coded refusals.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance, InjectOptions } from 'fastify'
import { appWithToolbar } from './helpers.ts'

const HOST = '127.0.0.1:3000'
const ORIGIN = 'http://127.0.0.1:3000'
const API = '/__debug/api/leak-tests'

/** What the leaking route keeps: one named instance a call. */
class RetainedWidget {
  readonly values = new Array<number>(2000).fill(1.5)
}
const widgets: RetainedWidget[] = []

async function leakApp (): Promise<FastifyInstance> {
  return await appWithToolbar({}, (a) => {
    a.get('/keep', async function keepWidget () {
      widgets.push(new RetainedWidget())
      return { ok: true }
    })
    a.get('/nothing', async () => ({ ok: true }))
    a.get('/private', async (request, reply) => {
      if (request.headers.authorization !== 'Bearer s3cret-value') return await reply.code(401).send({ error: 'no' })
      return { ok: true }
    })
    a.post('/orders', async () => ({ ok: true }))
  })
}

async function tokenOf (app: FastifyInstance): Promise<string> {
  const page = await app.inject({ url: '/__debug/', headers: { host: HOST } })
  const m = /name="token" value="([A-Za-z0-9_-]+)"/.exec(page.body)
  assert.ok(m !== null, 'the history page carries the token')
  return m[1] as string
}

function post (url: string, token: string | undefined, body: unknown, headers: Record<string, string> = {}): InjectOptions {
  return { method: 'POST', url, headers: { host: HOST, origin: ORIGIN, 'content-type': 'application/json', ...(token === undefined ? {} : { 'x-debug-toolbar-token': token }), ...headers }, payload: JSON.stringify(body) }
}

interface TestJson { id: string, status: string, error?: string, route?: string, progress?: { phase: string }, report?: Record<string, any> }

/** Poll the test until it has ended (no fixed sleep: a busy machine only makes it take longer). */
async function finished (app: FastifyInstance, id: string): Promise<TestJson> {
  for (;;) {
    const res = await app.inject({ url: `${API}/${id}`, headers: { host: HOST } })
    assert.equal(res.statusCode, 200, res.body)
    const t = res.json() as TestJson
    if (t.status !== 'running') return t
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

test('a leak test started through the API reports the leak, its type and site, and is downloadable; its calls are not recorded', async (t) => {
  const app = await leakApp()
  t.after(() => app.close())
  const token = await tokenOf(app)
  const res = await app.inject(post(API, token, { method: 'GET', url: '/keep', calls: 20 }))
  assert.equal(res.statusCode, 202, res.body)
  const started = res.json() as { id: string, url: string, page: string, status: string }
  assert.equal(started.status, 'running')
  assert.equal(started.url, `${API}/${started.id}`)
  assert.equal(started.page, `/__debug/leak-tests/${started.id}`)

  const done = await finished(app, started.id)
  assert.equal(done.status, 'done', done.error)
  assert.equal(done.route, '/keep')
  const report = done.report as Record<string, any>
  assert.equal(report.verdict, 'leak', report.summary)
  assert.equal(report.calls, 20)
  // The widget's array of 2000 doubles is the largest; the widget itself is listed too, once a call.
  assert.equal(report.types[0].name, 'Array')
  const widget = report.types.find((x: { name: string }) => x.name === 'RetainedWidget')
  assert.ok(widget !== undefined, `RetainedWidget among ${report.types.map((x: { name: string }) => x.name).join(', ')}`)
  assert.ok(Math.abs(widget.countPerCall - 1) <= 0.1, `one RetainedWidget a call, got ${widget.countPerCall}`)
  assert.ok(report.types[0].retainers.join(' ').includes('widgets'), `the retainer path names the holder: ${report.types[0].retainers.join(' ← ')}`)
  // The array is allocated in the widget's field initializer, called from the leaking route.
  const top = report.sites[0] as { functionName: string, url: string, stack: Array<{ functionName: string }> }
  assert.ok(top.url.endsWith('leak-tests-api.test.ts') && top.stack.some((f) => f.functionName === 'keepWidget'), `the top retained site is in the leaking route: ${JSON.stringify(top)}`)
  assert.equal(report.overlapping, 0)
  assert.ok(!report.notes.some((n: string) => n.includes('record it keeps of every call')), 'no note about toolbar records: the calls are not recorded')

  // None of the run's calls is in the history.
  const list = (await app.inject({ url: '/__debug/api/requests', headers: { host: HOST } })).json() as Array<{ url: string }>
  assert.equal(list.filter((r) => r.url === '/keep').length, 0)

  const json = await app.inject({ url: `${started.url}/report.json`, headers: { host: HOST } })
  assert.equal(json.statusCode, 200)
  assert.match(String(json.headers['content-disposition']), /attachment; filename="leak-test-[0-9a-f]+\.json"/)
  assert.equal(json.json().summary, report.summary)
  for (const which of ['before', 'after']) {
    const snap = await app.inject({ url: `${started.url}/${which}.heapsnapshot`, headers: { host: HOST } })
    assert.equal(snap.statusCode, 200)
    assert.equal(snap.headers['content-type'], 'application/octet-stream')
    assert.equal(Number(snap.headers['content-length']), snap.rawPayload.length)
    assert.match(snap.rawPayload.subarray(0, 40).toString(), /^\{"snapshot":/)
  }
  const listed = (await app.inject({ url: API, headers: { host: HOST } })).json() as Array<{ id: string, verdict: string }>
  assert.deepEqual(listed.map((e) => [e.id, e.verdict]), [[started.id, 'leak']])

  const page = await app.inject({ url: started.page, headers: { host: HOST } })
  assert.equal(page.statusCode, 200)
  assert.match(page.body, /data-verdict="leak"/)
  assert.match(page.body, /<code data-type-name>RetainedWidget<\/code>/)
  assert.match(page.body, /widgets/)
  assert.match(page.body, /<polyline class="fdt-heap-line fdt-leak-readings" points="[\d.,\s]+">/)
  assert.match(page.body, /before\.heapsnapshot/)
  assert.doesNotMatch(page.body, /style=|<script>/, 'no inline style or script')
})

test('headers given for a run are used and never stored', async (t) => {
  const app = await leakApp()
  t.after(() => app.close())
  const token = await tokenOf(app)
  const res = await app.inject(post(API, token, { method: 'GET', url: '/private', headers: { authorization: 'Bearer s3cret-value' }, calls: 5, snapshots: false }))
  assert.equal(res.statusCode, 202, res.body)
  const done = await finished(app, res.json().id)
  assert.equal(done.status, 'done', done.error)
  assert.deepEqual(done.report?.statusCodes, { 200: 5 + done.report?.warmupCalls + 5 }, 'every call passed the check')
  const body = (await app.inject({ url: `${API}/${done.id}`, headers: { host: HOST } })).body
  assert.doesNotMatch(body, /s3cret/)
  assert.doesNotMatch((await app.inject({ url: `${API}/${done.id}/report.json`, headers: { host: HOST } })).body, /s3cret/)
  const snap = await app.inject({ url: `${API}/${done.id}/before.heapsnapshot`, headers: { host: HOST } })
  assert.equal(snap.statusCode, 409, 'no snapshot kept when they were turned off')
  assert.equal(snap.json().code, 'FST_DEBUG_TOOLBAR_LEAK_TEST_STATE')
})

test('bad leak test requests get coded 4xx errors', async (t) => {
  const app = await leakApp()
  t.after(() => app.close())
  const token = await tokenOf(app)
  const cases: Array<[string, InjectOptions, number, string]> = [
    ['no token', post(API, undefined, { url: '/nothing' }), 403, 'FST_DEBUG_TOOLBAR_BAD_TOKEN'],
    ['another origin', post(API, token, { url: '/nothing' }, { origin: 'http://evil.example' }), 403, 'FST_DEBUG_TOOLBAR_BAD_ORIGIN'],
    ['too few calls', post(API, token, { url: '/nothing', calls: 4 }), 400, 'FST_DEBUG_TOOLBAR_BAD_LEAK_TEST'],
    ['too many calls', post(API, token, { url: '/nothing', calls: 501 }), 400, 'FST_DEBUG_TOOLBAR_BAD_LEAK_TEST'],
    ['calls not an integer', post(API, token, { url: '/nothing', calls: '30' }), 400, 'FST_DEBUG_TOOLBAR_BAD_LEAK_TEST'],
    ['no url', post(API, token, { method: 'GET' }), 400, 'FST_DEBUG_TOOLBAR_BAD_LEAK_TEST'],
    ['an absolute url', post(API, token, { url: 'http://example.com/' }), 400, 'FST_DEBUG_TOOLBAR_BAD_LEAK_TEST'],
    ['the toolbar itself', post(API, token, { url: '/__debug/api/requests' }), 400, 'FST_DEBUG_TOOLBAR_BAD_LEAK_TEST'],
    ['an unknown method', post(API, token, { method: 'BREW', url: '/nothing' }), 400, 'FST_DEBUG_TOOLBAR_BAD_LEAK_TEST'],
    ['an unknown request id', post(API, token, { requestId: 'f'.repeat(32) }), 404, 'FST_DEBUG_TOOLBAR_NOT_FOUND'],
    ['an unknown test', { url: `${API}/${'0'.repeat(32)}`, headers: { host: HOST } }, 404, 'FST_DEBUG_TOOLBAR_UNKNOWN_LEAK_TEST'],
    ['cancelling an unknown test', post(`${API}/${'0'.repeat(32)}/cancel`, token, {}), 404, 'FST_DEBUG_TOOLBAR_UNKNOWN_LEAK_TEST']
  ]
  for (const [what, req, status, code] of cases) {
    const res = await app.inject(req)
    assert.equal(res.statusCode, status, `${what}: ${res.body}`)
    assert.equal(res.json().code, code, what)
  }
  assert.deepEqual((await app.inject({ url: API, headers: { host: HOST } })).json(), [], 'nothing started')

  // The page repeats only GET and HEAD.
  const made = await app.inject({ method: 'POST', url: '/orders', headers: { host: HOST } })
  const id = String(made.headers['x-debug-toolbar-id'])
  const res = await app.inject(post(API, token, { requestId: id }))
  assert.equal(res.statusCode, 405, res.body)
  assert.equal(res.json().code, 'FST_DEBUG_TOOLBAR_LEAK_TEST_METHOD')
})

test('one leak test at a time: a second start is refused (409) until the first is cancelled', async (t) => {
  const app = await leakApp()
  t.after(() => app.close())
  const token = await tokenOf(app)
  const first = await app.inject(post(API, token, { url: '/nothing', calls: 500, snapshots: false }))
  assert.equal(first.statusCode, 202, first.body)
  const id = first.json().id as string
  const running = await app.inject({ url: `/__debug/leak-tests/${id}`, headers: { host: HOST } })
  assert.match(running.body, /<p class="fdt-leak-progress" role="status" data-leak-progress>Running: /)
  assert.match(running.body, /<script type="module" src="\/__debug\/static\/leak-report\.js"><\/script>/, 'the page follows the progress with its static module')
  const second = await app.inject(post(API, token, { url: '/nothing', calls: 5 }))
  assert.equal(second.statusCode, 409, second.body)
  assert.equal(second.json().code, 'FST_DEBUG_TOOLBAR_LEAK_TEST_BUSY')
  const cancel = await app.inject(post(`${API}/${id}/cancel`, token, {}))
  assert.equal(cancel.statusCode, 200, cancel.body)
  const ended = await finished(app, id)
  assert.equal(ended.status, 'cancelled')
  const again = await app.inject(post(`${API}/${id}/cancel`, token, {}))
  assert.equal(again.statusCode, 409)
  assert.equal(again.json().code, 'FST_DEBUG_TOOLBAR_LEAK_TEST_STATE')
  const page = await app.inject({ url: `/__debug/leak-tests/${id}`, headers: { host: HOST } })
  assert.match(page.body, /was cancelled/)
  const third = await app.inject(post(API, token, { url: '/nothing', calls: 5, snapshots: false }))
  assert.equal(third.statusCode, 202, 'a new test starts once the first has ended')
  await finished(app, third.json().id)
})

test('a leak test refuses to start while a request of the app is in flight', async (t) => {
  let release: () => void = () => {}
  const app = await appWithToolbar({}, (a) => {
    a.get('/slow', async () => { await new Promise<void>((resolve) => { release = resolve }); return { ok: true } })
    a.get('/nothing', async () => ({ ok: true }))
  })
  t.after(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as AddressInfo).port
  const token = await tokenOf(app)
  const pending = fetch(`http://127.0.0.1:${port}/slow`)
  // Wait until the slow request has reached its handler.
  while (true) {
    const res = await app.inject(post(API, token, { url: '/nothing', calls: 5, snapshots: false }))
    if (res.statusCode === 409) {
      assert.equal(res.json().code, 'FST_DEBUG_TOOLBAR_LEAK_TEST_BUSY')
      assert.match(res.json().message, /1 other request is in flight/)
      break
    }
    assert.equal(res.statusCode, 202, res.body)
    await finished(app, res.json().id)
  }
  release()
  await pending
})

test('the Routes view lists every route with its figures and last leak test, and starts a test from a form', async (t) => {
  const app = await leakApp()
  t.after(() => app.close())
  const token = await tokenOf(app)
  for (let i = 0; i < 3; i++) await app.inject({ url: `/nothing?i=${i}`, headers: { host: HOST } })
  await app.inject({ method: 'POST', url: '/orders', headers: { host: HOST } })
  await app.inject({ url: '/missing', headers: { host: HOST } })

  const view = async (): Promise<string> => {
    const res = await app.inject({ url: '/__debug/?view=routes', headers: { host: HOST } })
    assert.equal(res.statusCode, 200)
    return res.body
  }
  let body = await view()
  const row = (key: string): string => {
    const m = new RegExp(`<tr data-route="${key}">([\\s\\S]*?)</tr>`).exec(body)
    assert.ok(m !== null, `a row for ${key}`)
    return m[1] as string
  }
  assert.match(row('GET /nothing'), /data-col="requests">3</)
  assert.match(row('GET /nothing'), /<td class="fdt-num">[\d.]+ (?:ms|µs|s)<\/td>/)
  assert.match(row('GET /nothing'), /name="url" value="\/nothing\?i=2"/, 'the newest URL is the one a test repeats')
  assert.match(row('GET /nothing'), /<span class="fdt-muted">none<\/span>/)
  assert.match(row('POST /orders'), /data-col="requests">1</)
  assert.doesNotMatch(row('POST /orders'), /<form/, 'only GET routes get the action')
  assert.match(row('GET /missing'), /no route matched/)
  assert.doesNotMatch(row('GET /missing'), /<form/)

  // The form: token and fields, no JavaScript; a 303 to the report page.
  const started = await app.inject({ method: 'POST', url: API, headers: { host: HOST, origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ token, method: 'GET', url: '/nothing?i=2', calls: '5', snapshots: 'false' }).toString() })
  assert.equal(started.statusCode, 303, started.body)
  const location = String(started.headers.location)
  assert.match(location, /^\/__debug\/leak-tests\/[0-9a-f]{32}$/)
  const done = await finished(app, location.split('/').pop() as string)
  assert.equal(done.status, 'done', done.error)
  assert.equal(done.route, '/nothing')
  body = await view()
  assert.match(row('GET /nothing'), new RegExp(`<a href="${location}" data-verdict="no-leak">no leak found`))
  assert.match(row('GET /nothing'), /data-col="requests">3</, 'the test\'s calls are not counted')

  const noToken = await app.inject({ method: 'POST', url: API, headers: { host: HOST, origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'url=/nothing' })
  assert.equal(noToken.statusCode, 403)
})

test('the Memory panel has a Test for leaks button with a key for that request only, disabled on other methods', async (t) => {
  const app = await leakApp()
  t.after(() => app.close())
  const token = await tokenOf(app)
  const get = await app.inject({ url: '/nothing', headers: { host: HOST } })
  const other = await app.inject({ url: '/nothing', headers: { host: HOST } })
  const panel = await app.inject({ url: `/__debug/requests/${String(get.headers['x-debug-toolbar-id'])}/panels/memory`, headers: { host: HOST } })
  assert.ok(!panel.body.includes(token), 'the panel, shown inside the app\'s pages, does not carry the token')
  const m = new RegExp(`data-fdt-leak data-request-id="${String(get.headers['x-debug-toolbar-id'])}" data-key="([A-Za-z0-9_-]+)"`).exec(panel.body)
  assert.ok(m !== null, 'the button carries the request\'s key')
  assert.match(panel.body, /<button type="button" class="fdt-button" data-action="leak-test">Test for leaks<\/button>/)
  // The key starts a test of its own request only.
  const wrong = await app.inject(post(API, undefined, { requestId: String(other.headers['x-debug-toolbar-id']), key: m[1] }))
  assert.equal(wrong.statusCode, 403, wrong.body)
  assert.equal(wrong.json().code, 'FST_DEBUG_TOOLBAR_BAD_TOKEN')
  const noKeyForApi = await app.inject(post(API, undefined, { url: '/nothing', key: m[1] }))
  assert.equal(noKeyForApi.statusCode, 403, 'the key does not start API tests')
  const posted = await app.inject({ method: 'POST', url: '/orders', headers: { host: HOST } })
  const postPanel = await app.inject({ url: `/__debug/requests/${String(posted.headers['x-debug-toolbar-id'])}/panels/memory`, headers: { host: HOST } })
  assert.match(postPanel.body, /data-action="leak-test" disabled title="The page repeats only GET and HEAD requests; test a POST through POST \/__debug\/api\/leak-tests\."/)
})

test('a page-driven test: the server asks for each call through the step answers, and reports what the calls kept', async (t) => {
  const app = await leakApp()
  t.after(() => app.close())
  const visit = await app.inject({ url: '/keep', headers: { host: HOST } })
  const requestId = String(visit.headers['x-debug-toolbar-id'])
  const panel = await app.inject({ url: `/__debug/requests/${requestId}/panels/memory`, headers: { host: HOST } })
  const key = (/data-key="([A-Za-z0-9_-]+)"/.exec(panel.body) as RegExpExecArray)[1] as string
  const res = await app.inject(post(API, undefined, { requestId, key, calls: 10, snapshots: false }))
  assert.equal(res.statusCode, 202, res.body)
  const started = res.json() as { id: string, ticket: string, header: string, step: string, request: { method: string, url: string } }
  assert.deepEqual(started.request, { method: 'GET', url: '/keep' })
  assert.equal(started.header, 'x-debug-toolbar-leak-test')
  assert.match(started.ticket, /^[A-Za-z0-9_-]{32}$/)

  const noTicket = await app.inject(post(started.step, undefined, {}))
  assert.equal(noTicket.statusCode, 409)
  assert.equal(noTicket.json().code, 'FST_DEBUG_TOOLBAR_LEAK_TEST_STATE')

  // The page's loop, over real connections as a browser's fetch makes them.
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  const marked = { [started.header]: started.ticket }
  let status: number | undefined
  let calls = 0
  let answer: { action: string }
  for (;;) {
    const step = await fetch(`${base}${started.step}`, { method: 'POST', headers: { origin: base, 'content-type': 'application/json', ...marked }, body: JSON.stringify(status === undefined ? {} : { status }) })
    assert.equal(step.status, 200)
    answer = await step.json() as { action: string }
    if (answer.action !== 'call') break
    const call = await fetch(`${base}${started.request.url}`, { headers: marked })
    await call.arrayBuffer()
    status = call.status
    calls++
  }
  assert.equal(answer.action, 'done')
  const done = await finished(app, started.id)
  assert.equal(done.status, 'done', done.error)
  const report = done.report as Record<string, any>
  assert.equal(calls, report.warmupCalls + 10 + 10, 'warm-up, measured calls and the sampler\'s pass, each made by the page')
  assert.equal(report.verdict, 'leak', `${report.summary as string}: ${JSON.stringify(report.heap.afterCallBytes.map((b: number, i: number, a: number[]) => i === 0 ? 0 : b - (a[i - 1] as number)))}`)
  assert.deepEqual(report.statusCodes, { 200: calls })
  const list = (await app.inject({ url: '/__debug/api/requests', headers: { host: HOST } })).json() as Array<{ url: string }>
  assert.equal(list.filter((r) => r.url === '/keep').length, 1, 'only the first visit is recorded')
  // Once ended, a step says so; the ticket no longer marks requests.
  const after = await app.inject(post(started.step, undefined, {}, marked))
  assert.equal(after.json().action, 'done')
  await app.inject({ url: '/keep', headers: { host: HOST, ...marked } })
  const list2 = (await app.inject({ url: '/__debug/api/requests', headers: { host: HOST } })).json() as Array<{ url: string }>
  assert.equal(list2.filter((r) => r.url === '/keep').length, 2)
})

test('a page-driven test is cancelled with its ticket, and its pending step answers cancelled', async (t) => {
  const app = await leakApp()
  t.after(() => app.close())
  const visit = await app.inject({ url: '/nothing', headers: { host: HOST } })
  const requestId = String(visit.headers['x-debug-toolbar-id'])
  const panel = await app.inject({ url: `/__debug/requests/${requestId}/panels/memory`, headers: { host: HOST } })
  const key = (/data-key="([A-Za-z0-9_-]+)"/.exec(panel.body) as RegExpExecArray)[1] as string
  const started = (await app.inject(post(API, undefined, { requestId, key, calls: 500, snapshots: false }))).json() as { id: string, ticket: string, header: string, step: string }
  const marked = { [started.header]: started.ticket }
  const first = (await app.inject(post(started.step, undefined, {}, marked))).json() as { action: string }
  assert.equal(first.action, 'call')
  const pending = app.inject(post(started.step, undefined, { status: 200 }, marked))
  const cancel = await app.inject(post(`${API}/${started.id}/cancel`, undefined, {}, marked))
  assert.equal(cancel.statusCode, 200, cancel.body)
  // Either the pending step was answered with the next call before the cancel, or with cancelled.
  const answer = (await pending).json() as { action: string }
  assert.ok(['call', 'cancelled'].includes(answer.action), answer.action)
  const ended = await finished(app, started.id)
  assert.equal(ended.status, 'cancelled')
  assert.equal((await app.inject(post(started.step, undefined, {}, marked))).json().action, 'cancelled')
})
