import { test } from 'node:test'
import assert from 'node:assert/strict'
import Fastify, { type FastifyInstance } from 'fastify'
import { toHeapProfile, type HeapProfile, type HeapProfileNode } from '../src/allocations/heapprofile.ts'
import type { AllocationsRecord, AllocationsSkipped } from '../src/allocations/types.ts'
import { resolveOptions } from '../src/options.ts'
import type { RequestRecord } from '../src/record/types.ts'
import { routes } from '../src/routes/index.ts'
import { createStore, type RequestStore } from '../src/store.ts'
import { buildReport } from '../playground/lib/report.ts'
import { profile, record as allocations, sites } from './allocations-fixture.ts'
import { appWithToolbar, recordOf, plainHeaders, testRecord } from './helpers.ts'

const P = '/__debug'
const T0 = Date.UTC(2026, 0, 2, 3, 4, 5)

/** A stored record of GET /allocations with the given allocations, `seconds` after T0. */
function requestRecord (id: string, a: AllocationsRecord | AllocationsSkipped | undefined, seconds = 0, route = '/allocations'): RequestRecord {
  return testRecord(id, {
    url: route,
    route,
    durationMs: 12.5,
    startedAt: T0 + seconds * 1000,
    cpu: { loopBusyMs: 10, userMs: null, systemMs: null },
    response: { headers: plainHeaders({ 'content-type': 'text/html' }), contentType: 'text/html' },
    memory: {
      heapUsedBefore: 10_000_000,
      heapUsedAfter: 12_000_000,
      heapUsedDelta: 2_000_000,
      peakHeapUsed: 13_000_000,
      allocatedBytes: 3_500_000,
      externalBefore: 1_000_000,
      externalAfter: 1_000_000,
      overheadMs: 0.05,
      ...(a === undefined ? {} : { allocations: a })
    }
  })
}

/** The same route later: buildReport doubled, eta's render gone. */
function laterAllocations (): AllocationsRecord {
  const listed = sites().filter((s) => s.functionName !== 'render').map((s) => s.functionName === 'buildReport' ? { ...s, bytes: 4_194_304, samples: 256 } : s)
  return allocations({ sites: listed, sampledBytes: listed.reduce((n, s) => n + s.bytes, 0) + 40_960 })
}

const IDS = {
  base: '11111111-1111-4111-8111-111111111111',
  later: '22222222-2222-4222-8222-222222222222',
  busy: '33333333-3333-4333-8333-333333333333',
  off: '44444444-4444-4444-8444-444444444444',
  noTree: '55555555-5555-4555-8555-555555555555',
  other: '66666666-6666-4666-8666-666666666666'
}

/** The toolbar's routes on a store we fill by hand. */
async function toolbarRoutes (): Promise<{ app: FastifyInstance, store: RequestStore }> {
  const store = createStore(50, 16 * 1024 * 1024)
  const app = Fastify()
  await app.register(routes, { ...resolveOptions({ enabled: true, prefix: P }), store })
  await app.ready()
  store.save(requestRecord(IDS.base, allocations(), 0), profile())
  store.save(requestRecord(IDS.later, laterAllocations(), 5), profile())
  store.save(requestRecord(IDS.busy, { skipped: 'busy', reason: 'Another request was being sampled: the profiler samples one request at a time.' }, 6))
  store.save(requestRecord(IDS.off, undefined, 7))
  store.save(requestRecord(IDS.noTree, allocations({ hasProfile: false }), 8))
  store.save(requestRecord(IDS.other, allocations(), 9, '/other'), profile())
  return { app, store }
}

function heapNodes (n: HeapProfileNode): HeapProfileNode[] {
  return [n, ...n.children.flatMap(heapNodes)]
}

test('serves a sampled request\'s call tree as a .heapprofile attachment, no-store, the same as toHeapProfile', async (t) => {
  const { app } = await toolbarRoutes()
  t.after(() => app.close())
  const res = await app.inject(`${P}/requests/${IDS.base}/profile.heapprofile`)
  assert.equal(res.statusCode, 200)
  assert.match(String(res.headers['content-type']), /^application\/json/)
  assert.equal(res.headers['content-disposition'], 'attachment; filename="fdt-get-allocations-11111111.heapprofile"')
  assert.equal(res.headers['cache-control'], 'no-store')
  const body = res.json() as HeapProfile
  assert.deepEqual(body, toHeapProfile(profile()))
  assert.equal(heapNodes(body.head).find((n) => n.callFrame.functionName === 'buildReport')?.selfSize, 2_097_152)
})

test('answers 404 JSON saying why when a request has no call tree: skipped, sampling off, not kept, or not stored', async (t) => {
  const { app } = await toolbarRoutes()
  t.after(() => app.close())
  for (const [id, why] of [
    [IDS.busy, /has no allocation samples: Another request was being sampled/],
    [IDS.off, /has no allocation samples: allocation sampling was off for this request \(the allocations option, or allocations\.requests is 'marked' and the request was not marked\)/],
    [IDS.noTree, /has no allocation call tree: it was not kept with the record/]
  ] as const) {
    for (const path of ['profile.heapprofile', 'flamegraph.json']) {
      const res = await app.inject(`${P}/requests/${id}/${path}`)
      assert.equal(res.statusCode, 404, `${id} ${path}`)
      assert.equal(res.json().code, 'FST_DEBUG_TOOLBAR_NO_ALLOCATIONS')
      assert.match(res.json().message, why)
      assert.equal(res.headers['content-disposition'], undefined)
    }
  }
  const missing = await app.inject(`${P}/requests/99999999-9999-4999-8999-999999999999/profile.heapprofile`)
  assert.equal(missing.statusCode, 404)
  assert.equal(missing.json().code, 'FST_DEBUG_TOOLBAR_NOT_FOUND')
  assert.equal((await app.inject(`${P}/requests/${'x'.repeat(65)}/profile.heapprofile`)).statusCode, 400)
})

test('serves any stored record as a JSON attachment, allocations included', async (t) => {
  const { app, store } = await toolbarRoutes()
  t.after(() => app.close())
  for (const id of [IDS.later, IDS.off]) {
    const res = await app.inject(`${P}/requests/${id}/record.json`)
    assert.equal(res.statusCode, 200)
    assert.match(String(res.headers['content-disposition']), new RegExp(`^attachment; filename="fdt-get-allocations-${id.slice(0, 8)}\\.json"$`))
    assert.deepEqual(res.json(), JSON.parse(JSON.stringify(await store.get(id))), 'the stored record, as JSON')
  }
})

test('serves the flame graph\'s data: frames with self and total bytes, heaviest callee first', async (t) => {
  const { app } = await toolbarRoutes()
  t.after(() => app.close())
  const res = await app.inject(`${P}/requests/${IDS.base}/flamegraph.json`)
  assert.equal(res.statusCode, 200)
  const fg = res.json()
  assert.equal(fg.totalBytes, 3_325_953)
  assert.equal(fg.root.name, 'all sampled allocations')
  const handler = fg.root.children[0].children[0]
  assert.deepEqual(handler.children.map((c: { name: string, value: number }) => [c.name, c.value]), [['buildReport', 2_097_152], ['parseRecords', 1_048_576], ['viewEta', 65_536]])
  assert.match(handler.location, /playground\/routes\/demo\.ts:64$/)
})

test('renders the Memory panel\'s allocation sites grouped and filtered as its query asks, and refuses a bad query with 400', async (t) => {
  const { app } = await toolbarRoutes()
  t.after(() => app.close())
  const labels = (html: string): string[] => [...html.matchAll(/<span class="fdt-site-label">([^<]*)<\/span>/g)].map((m) => m[1] ?? '')

  const byFunction = await app.inject(`${P}/requests/${IDS.base}/panels/memory`)
  assert.equal(byFunction.statusCode, 200)
  assert.match(byFunction.body, /data-allocations="sampled"/)
  assert.deepEqual(labels(byFunction.body).slice(0, 3), ['buildReport', 'parseRecords', 'viewEta'])
  assert.match(byFunction.body, /Objects this request allocated and had not freed by its end, sampled about every 16.4 kB allocated/)
  assert.match(byFunction.body, /<dd class="fdt-figure-value">3.37 MB in 206 samples<\/dd>/)
  assert.match(byFunction.body, new RegExp(`href="${P}/requests/${IDS.base}/profile.heapprofile" download`))
  assert.match(byFunction.body, new RegExp(`data-src="${P}/requests/${IDS.base}/flamegraph.json"`))
  assert.match(byFunction.body, new RegExp(`action="${P}/requests/${IDS.base}/panels/memory"`))
  assert.match(byFunction.body, /3 smaller sites are not listed \(41 kB\)\./)

  const byPackage = await app.inject(`${P}/requests/${IDS.base}/panels/memory?group=package`)
  assert.deepEqual(labels(byPackage.body), ['(app)', 'fake-dep', '@fastify/view', 'eta', '(node internals)', '(native)'])
  assert.match(byPackage.body, /<input type="radio" name="group" value="package" checked>/)

  const filtered = await app.inject(`${P}/requests/${IDS.base}/panels/memory?group=file&include=node_modules&exclude=umd`)
  assert.deepEqual(labels(filtered.body).map((l) => l.replace(/^.*node_modules\//, '')), ['fake-dep/index.js', '@fastify/view/index.js'])
  assert.match(filtered.body, /value="node_modules"/)
  assert.match(filtered.body, /value="umd"/)
  assert.match(filtered.body, /The filters hide 5 sites \(2.21 MB\)/)

  for (const bad of ['group=nope', 'group=file&group=package', `include=${'a'.repeat(201)}`, `exclude=${'a'.repeat(201)}`]) {
    const res = await app.inject(`${P}/requests/${IDS.base}/panels/memory?${bad}`)
    assert.equal(res.statusCode, 400, bad)
    assert.equal(res.json().code, 'FST_ERR_VALIDATION')
  }
  // The request page takes the same query; its form comes back to the page's Memory section.
  const page = await app.inject(`${P}/requests/${IDS.base}?group=file`)
  assert.equal(page.statusCode, 200)
  assert.match(page.body, new RegExp(`action="${P}/requests/${IDS.base}#fdt-panel-memory"`))
  assert.match(page.body, /<input type="radio" name="group" value="file" checked>/)
  assert.equal((await app.inject(`${P}/requests/${IDS.base}?group=nope`)).statusCode, 400)
})

test('lists builtins apart from the stored call tree on ?builtins=apart, and says so when the tree was not kept', async (t) => {
  const { app, store } = await toolbarRoutes()
  t.after(() => app.close())
  const failing: RequestStore = { ...store, getProfile: async () => { throw new Error('store down') } }
  const broken = Fastify()
  await broken.register(routes, { ...resolveOptions({ enabled: true, prefix: P }), store: failing })
  t.after(() => broken.close())

  const apart = await app.inject(`${P}/requests/${IDS.base}/panels/memory?builtins=apart`)
  assert.equal(apart.statusCode, 200)
  assert.match(apart.body, /data-builtins="apart"/)
  assert.match(apart.body, /are listed as sites of their own, as V8 reports them/)
  for (const res of [await app.inject(`${P}/requests/${IDS.noTree}/panels/memory?builtins=apart`), await broken.inject(`${P}/requests/${IDS.base}/panels/memory?builtins=apart`)]) {
    assert.equal(res.statusCode, 200)
    assert.match(res.body, /data-builtins="folded"/)
    assert.match(res.body, /They cannot be shown apart here: this request&#39;s call tree is not stored\./)
  }
})

test('says in the Memory panel why a request has no samples, or how to turn sampling on', async (t) => {
  const { app } = await toolbarRoutes()
  t.after(() => app.close())
  const busy = await app.inject(`${P}/requests/${IDS.busy}/panels/memory`)
  assert.match(busy.body, /data-allocations="skipped"/)
  assert.match(busy.body, /data-skipped="busy"><strong>No samples for this request.<\/strong> Another request was being sampled/)
  const off = await app.inject(`${P}/requests/${IDS.off}/panels/memory`)
  assert.match(off.body, /data-allocations="off"/)
  assert.match(off.body, /Allocation sampling is off.*<code>allocations: true<\/code>/)
  // Off for this request may be 'marked' mode: the panel says how to ask.
  assert.match(off.body, /<code>allocations: \{ requests: 'marked' \}<\/code> only the requests that ask are sampled: turn on the toolbar's <strong>Sample<\/strong> switch or send <code>x-debug-toolbar-sample: 1<\/code>/)
  const noTree = await app.inject(`${P}/requests/${IDS.noTree}/panels/memory`)
  assert.doesNotMatch(noTree.body, /profile\.heapprofile|data-action="flamegraph"/)
  assert.match(noTree.body, /record\.json" download/)
})

test('offers the other sampled requests of the same route to compare with, newest first', async (t) => {
  const { app } = await toolbarRoutes()
  t.after(() => app.close())
  const res = await app.inject(`${P}/requests/${IDS.later}/panels/memory`)
  const links = [...res.body.matchAll(/<a class="fdt-compare-link" href="([^"]*)"[^>]*>([^<]*)<\/a>/g)].map((m) => [m[1], m[2]])
  // Not itself, not the skipped or unsampled requests, not /other.
  assert.deepEqual(links, [
    [`${P}/requests/${IDS.later}/compare/${IDS.noTree}`, 'GET /allocations · 03:04:13 UTC · 3.37 MB sampled'],
    [`${P}/requests/${IDS.later}/compare/${IDS.base}`, 'GET /allocations · 03:04:05 UTC · 3.37 MB sampled']
  ])
  const alone = await app.inject(`${P}/requests/${IDS.other}/panels/memory`)
  assert.match(alone.body, /No other sampled request of this route is stored yet/)
})

test('compares two requests on a page, the earlier as base whichever order the URL names them', async (t) => {
  const { app } = await toolbarRoutes()
  t.after(() => app.close())
  const rows = (html: string): string[] => [...html.matchAll(/<tr data-change="([a-z]+)">[\s\S]*?<span class="fdt-site-label">([^<]*)<\/span>[\s\S]*?<td class="fdt-num[^"]*">([^<]*)<\/td>\s*<\/tr>/g)].map((m) => `${m[1]} ${m[2]} ${m[3]}`)
  const forward = await app.inject(`${P}/requests/${IDS.later}/compare/${IDS.base}`)
  assert.equal(forward.statusCode, 200)
  assert.match(String(forward.headers['content-type']), /^text\/html/)
  // Largest change first; unchanged ones by size, then name.
  assert.deepEqual(rows(forward.body), [
    'grew buildReport +2.1 MB',
    'disappeared render -49.2 kB',
    'same parseRecords 0 B',
    'same viewEta 0 B',
    'same readableAddChunk 0 B',
    'same (V8 API) 0 B',
    'same formatRow 0 B'
  ])
  assert.match(forward.body, /data-side="base">[\s\S]*?href="\/__debug\/requests\/11111111/)
  assert.match(forward.body, /data-figure="compare-delta">\+2.05 MB</)
  const backward = await app.inject(`${P}/requests/${IDS.base}/compare/${IDS.later}`)
  assert.deepEqual(rows(backward.body), rows(forward.body))

  const byPackage = await app.inject(`${P}/requests/${IDS.later}/compare/${IDS.base}?group=package`)
  assert.deepEqual(rows(byPackage.body).slice(0, 2), ['grew (app) +2.1 MB', 'disappeared eta -49.2 kB'])

  const otherRoute = await app.inject(`${P}/requests/${IDS.other}/compare/${IDS.base}`)
  assert.match(otherRoute.body, /These requests matched different routes \(GET \/allocations and GET \/other\)/)

  const skipped = await app.inject(`${P}/requests/${IDS.later}/compare/${IDS.busy}`)
  assert.equal(skipped.statusCode, 404)
  assert.equal(skipped.json().code, 'FST_DEBUG_TOOLBAR_NO_ALLOCATIONS')
  assert.equal((await app.inject(`${P}/requests/${IDS.later}/compare/${IDS.base}?group=x`)).statusCode, 400)
})

test('serves only the flame graph widget\'s bundle and stylesheet from its npm package', async (t) => {
  const { app } = await toolbarRoutes()
  t.after(() => app.close())
  const js = await app.inject(`${P}/vendor/d3-flame-graph/d3-flamegraph.min.js`)
  assert.equal(js.statusCode, 200)
  assert.match(String(js.headers['content-type']), /javascript/)
  assert.match(js.body, /\.flamegraph=n\(\)/)
  const css = await app.inject(`${P}/vendor/d3-flame-graph/d3-flamegraph.css`)
  assert.equal(css.statusCode, 200)
  assert.match(css.body, /\.d3-flame-graph-label/)
  for (const path of ['d3-flamegraph.js', 'd3-flamegraph-tooltip.min.js', '../package.json', '..%2Fpackage.json', '']) {
    assert.equal((await app.inject(`${P}/vendor/d3-flame-graph/${path}`)).statusCode, 404, path)
  }
  for (const file of ['flamegraph.js', 'page.js']) {
    const res = await app.inject(`${P}/static/${file}`)
    assert.equal(res.statusCode, 200, file)
  }
})

test('escapes hostile function names and paths in the panel and on the compare page', async (t) => {
  const { app, store } = await toolbarRoutes()
  t.after(() => app.close())
  const evil = '<img src=x onerror=alert(1)>'
  const listed = [{ functionName: evil, url: `file:///srv/${evil}.js`, line: 1, column: 1, bytes: 65_536, samples: 4, stack: [] }]
  store.save(requestRecord('77777777-7777-4777-8777-777777777777', allocations({ sites: listed, sampledBytes: 65_536, otherSites: 0, otherBytes: 0 }), 20))
  const panel = await app.inject(`${P}/requests/77777777-7777-4777-8777-777777777777/panels/memory?include=${encodeURIComponent('"><script>')}`)
  assert.equal(panel.statusCode, 200)
  assert.doesNotMatch(panel.body, /<img src=x|"><script>/)
  assert.match(panel.body, /value="&quot;&gt;&lt;script&gt;"/)
  const plain = await app.inject(`${P}/requests/77777777-7777-4777-8777-777777777777/panels/memory`)
  assert.match(plain.body, /&lt;img src=x onerror=alert\(1\)&gt;/)
  const compare = await app.inject(`${P}/requests/77777777-7777-4777-8777-777777777777/compare/${IDS.base}`)
  assert.doesNotMatch(compare.body, /<img src=x/)
  assert.match(compare.body, /&lt;img src=x onerror=alert\(1\)&gt;/)
})

test('a real sampled request\'s .heapprofile and flame graph name the function that allocated, in its file', async (t) => {
  const app = await appWithToolbar({ allocations: { requests: 'all' } }, (a) => {
    a.get('/report', async () => ({ rows: buildReport().rows.length }))
  })
  t.after(() => app.close())
  await app.inject('/report')
  const res = await app.inject('/report')
  const id = String(res.headers['x-debug-toolbar-id'])
  const a = (await recordOf(app, id)).memory.allocations
  assert.ok(a !== undefined && 'sites' in a, JSON.stringify(a))
  const hp = (await app.inject(`${P}/requests/${id}/profile.heapprofile`)).json() as HeapProfile
  const report = heapNodes(hp.head).filter((n) => n.callFrame.functionName === 'buildReport')
  assert.ok(report.length > 0, 'buildReport is in the profile')
  assert.ok(report.every((n) => n.callFrame.url.endsWith('/playground/lib/report.ts')), report.map((n) => n.callFrame.url).join(', '))
  assert.equal(heapNodes(hp.head).reduce((n, x) => n + x.selfSize, 0), a.sampledBytes)
  assert.equal(hp.samples.reduce((n, s) => n + s.size, 0), a.sampledBytes)
  const fg = (await app.inject(`${P}/requests/${id}/flamegraph.json`)).json()
  const find = (n: { name: string, location: string, children: unknown[] }): { location: string } | undefined =>
    n.name === 'buildReport' ? n : (n.children as Array<typeof n>).map(find).find((x) => x !== undefined)
  // Source-mapped to the .ts line of the function (tsx compiles the file to one line).
  assert.equal(find(fg.root)?.location, 'playground/lib/report.ts:28')
  assert.equal(fg.totalBytes, a.sampledBytes)
})
