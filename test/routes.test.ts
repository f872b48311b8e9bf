import { test } from 'node:test'
import assert from 'node:assert/strict'
import { appWithToolbar } from './helpers.ts'

async function app () {
  return appWithToolbar({}, (a) => {
    a.get('/page', async (_req, reply) => reply.type('text/html').send('<body>hi</body>'))
  })
}

test('the toolbar endpoint lists every panel with its nav subtitle', async (t) => {
  const a = await app()
  t.after(() => a.close())
  const id = String((await a.inject('/page')).headers['x-debug-toolbar-id'])
  const nav = (await a.inject(`/__debug/requests/${id}/toolbar`)).json()
  assert.deepEqual(nav.panels.map((p: { id: string }) => p.id), ['memory', 'request', 'timing', 'history'])
  const record = (await a.inject(`/__debug/api/requests/${id}`)).json()
  const memory = nav.panels[0]
  assert.equal(memory.title, 'Memory')
  assert.match(memory.subtitle, /^([+-][\d.]+ [kMG]?B|0 B)$/)
  assert.equal(memory.subtitle.startsWith('-'), record.memory.heapUsedDelta < 0)
})

test('every panel renders as an escaped HTML fragment', async (t) => {
  const a = await app()
  t.after(() => a.close())
  const id = String((await a.inject('/page?q=<script>alert(1)</script>')).headers['x-debug-toolbar-id'])
  for (const panel of ['memory', 'request', 'timing', 'history']) {
    const res = await a.inject(`/__debug/requests/${id}/panels/${panel}`)
    assert.equal(res.statusCode, 200, panel)
    assert.match(String(res.headers['content-type']), /^text\/html/)
    assert.match(res.body, new RegExp(`data-panel="${panel}"`))
    assert.doesNotMatch(res.body, /<script>alert/)
  }
  const request = await a.inject(`/__debug/requests/${id}/panels/request`)
  assert.match(request.body, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/)
})

test('unknown panels and ids answer 404 JSON with a code, never a stack', async (t) => {
  const a = await app()
  t.after(() => a.close())
  const id = String((await a.inject('/page')).headers['x-debug-toolbar-id'])
  const panel = await a.inject(`/__debug/requests/${id}/panels/nope`)
  assert.equal(panel.statusCode, 404)
  assert.equal(panel.json().code, 'FST_DEBUG_TOOLBAR_UNKNOWN_PANEL')
  const missing = await a.inject('/__debug/requests/00000000-0000-4000-8000-000000000000')
  assert.equal(missing.statusCode, 404)
  assert.equal(missing.json().code, 'FST_DEBUG_TOOLBAR_NOT_FOUND')
  const long = await a.inject(`/__debug/api/requests/${'x'.repeat(200)}`)
  assert.ok(long.statusCode >= 400 && long.statusCode < 500, String(long.statusCode))
  assert.doesNotMatch(long.body, /at .*\.js:\d+/)
  const noRoute = await a.inject('/__debug/nothing/here')
  assert.equal(noRoute.statusCode, 404)
})

test('the history page and the request page work without the injected toolbar (API-only apps)', async (t) => {
  const a = await appWithToolbar({}, (x) => x.get('/api/thing', async () => ({ thing: 1 })))
  t.after(() => a.close())
  const id = String((await a.inject('/api/thing')).headers['x-debug-toolbar-id'])
  const history = await a.inject('/__debug/')
  assert.equal(history.statusCode, 200)
  assert.match(history.body, /\/api\/thing/)
  assert.match(history.body, new RegExp(`/__debug/requests/${id}`))
  const page = await a.inject(`/__debug/requests/${id}`)
  assert.equal(page.statusCode, 200)
  for (const panel of ['memory', 'request', 'timing', 'history']) assert.match(page.body, new RegExp(`data-panel="${panel}"`))
})

test('serves the toolbar script and stylesheet', async (t) => {
  const a = await app()
  t.after(() => a.close())
  const js = await a.inject('/__debug/static/toolbar.js')
  assert.equal(js.statusCode, 200)
  assert.match(String(js.headers['content-type']), /javascript/)
  const css = await a.inject('/__debug/static/toolbar.css')
  assert.equal(css.statusCode, 200)
  assert.equal((await a.inject('/__debug/static/../package.json')).statusCode, 404)
})
