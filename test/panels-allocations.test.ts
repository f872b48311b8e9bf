import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { AllocationsRecord, AllocationsSkipped } from '../src/allocations/types.ts'
import { allocationNotes, allocationsView, meaningSentence, type SampledView } from '../src/panels/allocations.ts'
import { compareContext } from '../src/panels/compare.ts'
import type { PanelEnv } from '../src/panels/panel.ts'
import { summarize, type RequestRecord } from '../src/record/types.ts'
import { ROOT, record as allocations } from './allocations-fixture.ts'
import { plainHeaders, testRecord } from './helpers.ts'

function requestRecord (id: string, a: AllocationsRecord | AllocationsSkipped | undefined, startedAt = 1_767_323_045_000, route = '/allocations'): RequestRecord {
  return testRecord(id, {
    url: `${route}?run=${id}`,
    route,
    durationMs: 10,
    startedAt,
    cpu: { loopBusyMs: 9, userMs: null, systemMs: null },
    request: { headers: plainHeaders({}), query: {}, remoteAddress: '127.0.0.1', httpVersion: '1.1' },
    memory: { heapUsedBefore: 1, heapUsedAfter: 2, heapUsedDelta: 1, peakHeapUsed: 2, allocatedBytes: 1, overheadMs: 0, ...(a === undefined ? {} : { allocations: a }) }
  })
}

function env (records: RequestRecord[], extra: Partial<PanelEnv> = {}): PanelEnv {
  const sampled = new Map<string, number>()
  for (const r of records) {
    const a = r.memory.allocations
    if (a !== undefined && 'sites' in a) sampled.set(r.id, a.sampledBytes)
  }
  return { prefix: '/__debug', history: records.map(summarize), root: ROOT, sampled, ...extra }
}

function sampled (v: ReturnType<typeof allocationsView>): SampledView {
  assert.equal(v.state, 'sampled')
  return v as SampledView
}

test('says what allocated and retained samples mean, and that a GC inside the request took some away', () => {
  assert.equal(meaningSentence(allocations()), 'Objects this request allocated and had not freed by its end, sampled about every 16.4 kB allocated, without forcing a GC.')
  assert.equal(meaningSentence(allocations({ sampler: 'inspector', meaning: 'retained' })), 'Objects this request allocated that were still alive after a full GC forced at its end: what it retained, sampled about every 16.4 kB allocated.')
  const gcs = allocationNotes(allocations({ gcDuringWindow: 2 }))
  assert.equal(gcs[0], '2 GCs ran during this request: objects they freed are missing from these samples, so the sites can add up to less than Allocated above.')
  assert.equal(allocationNotes(allocations({ gcDuringWindow: 1 }))[0]?.startsWith('1 GC ran during this request: objects it freed'), true)
  // Retained samples come after a forced GC: nothing is missing.
  assert.equal(allocationNotes(allocations({ sampler: 'inspector', meaning: 'retained', gcDuringWindow: 3 })).some((n) => n.includes('missing')), false)
  assert.match(allocationNotes(allocations({ samples: 3 })).join(' '), /Only 3 samples: at one sample every 16.4 kB or so/)
})

test('the section is off without allocations, says why when skipped, and lists grouped sites when sampled', () => {
  assert.deepEqual(allocationsView(requestRecord('a', undefined), env([])), { state: 'off' })
  assert.deepEqual(allocationsView(requestRecord('b', { skipped: 'owned-elsewhere', reason: 'Someone else is sampling.' }), env([])), { state: 'skipped', skipped: 'owned-elsewhere', reason: 'Someone else is sampling.' })

  const r = requestRecord('c', allocations())
  const v = sampled(allocationsView(r, env([r])))
  assert.equal(v.column, 'Function')
  assert.deepEqual(v.groups.map((g) => [g.value, g.checked]), [['function', true], ['file', false], ['package', false]])
  const top = v.rows[0]
  assert.ok(top !== undefined)
  assert.deepEqual([top.label, top.detail, top.bytes, top.samples, top.share, top.shareLabel], ['buildReport', 'playground/lib/report.ts:28', '2.1 MB', 128, 62.3, '62.3%'])
  // The stack reads like a JS stack trace: the site first, then its callers.
  assert.deepEqual(top.stack.map((f) => `${f.functionName} ${f.location} ${f.category}`), [
    'buildReport playground/lib/report.ts:28 app',
    '(anonymous) playground/routes/demo.ts:64 app',
    'processTicksAndRejections node:internal/process/task_queues:95 node'
  ])
  assert.deepEqual(top.members, [])
  assert.equal(v.unlisted, '3 smaller sites are not listed (41 kB).')
  assert.deepEqual(v.links, {
    heapprofile: '/__debug/requests/c/profile.heapprofile',
    flamegraph: '/__debug/requests/c/flamegraph.json',
    record: '/__debug/requests/c/record.json',
    flamegraphCss: '/__debug/vendor/d3-flame-graph/d3-flamegraph.css'
  })
  assert.equal(v.formAction, '/__debug/requests/c/panels/memory')
  assert.deepEqual(v.figures.map((f) => `${f.label}: ${f.value}`), [
    'Sampler: native (@datadog/pprof)',
    'Samples mean: allocated',
    'Interval: 16.4 kB',
    'Sampled bytes: 3.37 MB in 206 samples',
    'Sites: 7 listed, 3 more',
    'Sampler overhead: 0.041 ms'
  ])
})

test('groups by file or package with the functions of each group listed, and the page form goes back to the page', () => {
  const r = requestRecord('d', allocations({ hasProfile: false }))
  const v = sampled(allocationsView(r, env([r], { sites: { by: 'package', include: '', exclude: 'native' }, page: true })))
  assert.equal(v.column, 'Package')
  assert.deepEqual(v.rows.map((x) => x.label), ['(app)', 'fake-dep', '@fastify/view', 'eta', '(node internals)'])
  assert.deepEqual(v.rows[0]?.members.map((m) => `${m.functionName} ${m.location} ${m.bytes} ${m.shareLabel}`), [
    'buildReport playground/lib/report.ts:28 2.1 MB 62.3%',
    'formatRow playground/lib/report.ts:60 16.4 kB 0.5%'
  ])
  assert.deepEqual(v.rows[0]?.stack, [])
  assert.equal(v.unlisted, 'The filters hide 1 site (16.4 kB); 3 smaller sites are not listed (41 kB).')
  assert.equal(v.formAction, '/__debug/requests/d#fdt-panel-memory')
  assert.equal(v.links.heapprofile, undefined)
  assert.equal(v.links.flamegraph, undefined)
})

test('offers up to eight other sampled requests of the same method and route to compare with, newest first', () => {
  const current = requestRecord('now', allocations(), 1_767_323_100_000)
  const others = Array.from({ length: 10 }, (_, i) => requestRecord(`s${i}`, allocations({ sampledBytes: 1_000_000 + i }), 1_767_323_090_000 - i * 1000))
  const history = [
    current,
    requestRecord('skipped', { skipped: 'busy', reason: 'busy' }, 1_767_323_099_000),
    requestRecord('post', allocations(), 1_767_323_098_000),
    requestRecord('other-route', allocations(), 1_767_323_097_000, '/other'),
    ...others
  ]
  history[2] = { ...(history[2] as RequestRecord), method: 'POST' }
  const v = sampled(allocationsView(current, env(history)))
  assert.equal(v.compare.length, 8)
  assert.deepEqual(v.compare[0], { href: '/__debug/requests/now/compare/s0', label: 'GET /allocations?run=s0 · 03:04:50 UTC · 1 MB sampled' })
  assert.deepEqual(v.compare.map((c) => c.href.split('/').pop()), ['s0', 's1', 's2', 's3', 's4', 's5', 's6', 's7'])
})

test('the compare page takes the earlier request as its base, whichever the URL names first', () => {
  const earlier = { record: requestRecord('e', allocations(), 1_000), allocations: allocations() }
  const bigger = allocations({ sites: allocations().sites.map((s) => s.functionName === 'parseRecords' ? { ...s, bytes: 2_097_152 } : s), sampledBytes: allocations().sampledBytes + 1_048_576 })
  const later = { record: requestRecord('l', bigger, 2_000), allocations: bigger }
  const a = compareContext(later, earlier, { by: 'function', include: '', exclude: '' }, ROOT, '/__debug')
  const b = compareContext(earlier, later, { by: 'function', include: '', exclude: '' }, ROOT, '/__debug')
  assert.equal(a.base.id, 'e')
  assert.equal(a.target.id, 'l')
  assert.deepEqual(a.rows, b.rows)
  assert.deepEqual(a.rows[0], { change: 'grew', changeLabel: 'grew', label: 'parseRecords', detail: 'node_modules/fake-dep/index.js:14', category: 'dependency', base: '1.05 MB', target: '2.1 MB', delta: '+1.05 MB' })
  assert.equal(a.summary.delta, '+1.05 MB')
  assert.equal(a.summary.deltaPercent, '+31.1%')
  assert.deepEqual(a.summary.counts.map((c) => `${c.count} ${c.label}`), ['1 grew', '0 shrank', '0 appeared', '0 disappeared', '6 unchanged'])
  assert.equal(a.formAction, '/__debug/requests/l/compare/e')
  assert.equal(b.formAction, '/__debug/requests/e/compare/l')
  assert.equal(a.sameRoute, true)
  assert.equal(a.base.sampled, '3.37 MB in 206 samples')
  assert.equal(a.base.sampler, 'native, allocated, every 16.4 kB')
  assert.equal(a.base.startedAt, '1970-01-01T00:00:01.000Z')
})
