import { test } from 'node:test'
import assert from 'node:assert/strict'
import { gcTracker } from '../src/capture/gc-tracker.ts'
import { appWithToolbar } from './helpers.ts'

/** A small seeded PRNG (mulberry32), so a failing case can be replayed. */
function rng (seed: number): () => number {
  return () => {
    seed |= 0
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const PIECES = ['', 'x', '..', '%2e%2e', '%00', '%ff', '%', '<script>', '"', "'", '\\', '日本', '\u202e', ' ', '?', '#', ';', 'memory', 'toolbar', 'panels', 'api', 'requests', 'static', 'toolbar.js', '00000000-0000-4000-8000-000000000000']
const STACK = /\n\s+at .+:\d+:\d+/

test('every toolbar route answers 2xx or 4xx to random paths, ids and queries, never 5xx or a stack', async (t) => {
  const app = await appWithToolbar({}, (a) => a.get('/page', async (_q, r) => r.type('text/html').send('<body>x</body>')))
  t.after(() => app.close())
  const realId = String((await app.inject('/page')).headers['x-debug-toolbar-id'])
  const random = rng(20261121)
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T
  const methods = ['GET', 'GET', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS'] as const
  const shapes = [
    () => `/__debug/${pick(PIECES)}`,
    () => `/__debug/api/requests/${pick(PIECES)}${pick(PIECES)}`,
    () => `/__debug/requests/${pick([realId, pick(PIECES)])}/panels/${pick(PIECES)}`,
    () => `/__debug/requests/${pick([realId, pick(PIECES)])}/${pick(['toolbar', pick(PIECES)])}`,
    () => `/__debug/static/${pick(PIECES)}/${pick(PIECES)}`,
    () => `/__debug/api/requests?${pick(PIECES)}=${pick(PIECES)}&limit=${Math.floor(random() * 1e9) - 5e8}`,
    () => `/__debug/requests/${'x'.repeat(Math.floor(random() * 400))}`
  ]
  const started = Date.now()
  let n = 0
  for (; n < 1500 && Date.now() - started < 20_000; n++) {
    let url = pick(shapes)()
    try { url = encodeURI(decodeURI(url)) } catch { /* keep the raw, invalid form */ }
    const method = pick(methods)
    const res = await app.inject({ method, url })
    assert.ok(res.statusCode < 500, `${method} ${url}: ${res.statusCode} ${res.body.slice(0, 200)}`)
    assert.doesNotMatch(res.body, STACK, `${method} ${url}: stack trace in the body`)
  }
  assert.ok(n >= 200, `only ${n} cases ran`)
})

const HOSTILE = [
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  "'><svg onload=alert(1)>",
  'javascript:alert(1)',
  '</textarea></title></style><script>alert(1)</script>',
  '\u202e<script>\u200balert(1)</script>',
  '{{7*7919}}<%= 7*7919 %>$' + '{7*7919}'
]

test('hostile URLs, headers and cookie names are escaped on every panel, page and JSON view', async (t) => {
  const app = await appWithToolbar({}, (a) => a.get('/r/:name', async (_q, r) => r.type('text/html').send('<body>ok</body>')))
  t.after(() => app.close())
  const ids: string[] = []
  for (const h of HOSTILE) {
    const res = await app.inject({
      url: `/r/${encodeURIComponent(h)}?q=${encodeURIComponent(h)}&${encodeURIComponent(h)}=1`,
      headers: { 'user-agent': h.replace(/[^\x20-\x7e]/g, '?'), 'x-hostile': h.replace(/[^\x20-\x7e]/g, '?'), cookie: `${h.replace(/[^\x21-\x7e]|[;=]/g, '_')}=v` }
    })
    ids.push(String(res.headers['x-debug-toolbar-id']))
  }
  const pages = ['/__debug/']
  for (const id of ids) {
    pages.push(`/__debug/requests/${id}`)
    for (const p of ['memory', 'request', 'timing', 'history']) pages.push(`/__debug/requests/${id}/panels/${p}`)
  }
  for (const url of pages) {
    const res = await app.inject(url)
    assert.equal(res.statusCode, 200, url)
    // The pages' own module (page.js, served from the toolbar's static folder) is the one script allowed.
    const raw = res.body.search(/<(script(?! type="module" src="\/__debug\/static\/[a-z-]+\.js")|img|svg(?! class="fdt-plot"))\b|<[a-z][^<>]*\son[a-z]+\s*=/i)
    assert.equal(raw, -1, `${url}: raw markup: ${res.body.slice(Math.max(0, raw - 200), raw + 100)}`)
    assert.doesNotMatch(res.body, /href="javascript:/i, `${url}: javascript: link`)
    // 7 × 7919 = 55433: a number no page prints on its own (49 did, in a timeline's coordinates).
    assert.doesNotMatch(res.body, /55433/, `${url}: a template expression was evaluated`)
  }
  for (const id of ids) {
    const res = await app.inject(`/__debug/api/requests/${id}`)
    assert.match(String(res.headers['content-type']), /^application\/json/)
    assert.doesNotMatch(res.body, /[<>]/, 'markup characters are escaped in JSON')
    assert.equal(res.headers['x-content-type-options'], 'nosniff')
    assert.equal(res.headers['cache-control'], 'no-store')
    const record = JSON.parse(res.body)
    assert.ok(HOSTILE.map((h) => h.replace(/[^\x20-\x7e]/g, '?')).includes(record.request.headers['x-hostile']), 'the data round-trips unchanged')
  }
})

test('app.close() releases the GC tracker and its observer; a second app starts clean', async () => {
  const first = await appWithToolbar({}, (a) => a.get('/x', async () => ({ x: 1 })))
  await first.inject('/x')
  assert.equal(gcTracker.active, true)
  await first.close()
  assert.equal(gcTracker.active, false, 'no observer or profiler left running')
  assert.equal(gcTracker.events.length, 0)
  const second = await appWithToolbar({}, (a) => a.get('/x', async () => ({ x: 1 })))
  assert.equal(gcTracker.active, true)
  assert.deepEqual((await second.inject('/__debug/api/requests')).json(), [])
  await second.inject('/x')
  assert.equal((await second.inject('/__debug/api/requests')).json().length, 1)
  await second.close()
  assert.equal(gcTracker.active, false)
})

test('two apps in one process share the GC tracker until the last one closes', async () => {
  const a = await appWithToolbar()
  const b = await appWithToolbar()
  await a.close()
  assert.equal(gcTracker.active, true)
  await b.close()
  assert.equal(gcTracker.active, false)
})
