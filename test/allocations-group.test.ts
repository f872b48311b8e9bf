import { test } from 'node:test'
import assert from 'node:assert/strict'
import { filterTerms, groupSites, MAX_FILTER_TERMS, placeSites } from '../src/allocations/group.ts'
import { categoryOf, packageOf, placeFrame, relativePath } from '../src/allocations/location.ts'
import { ETA_URL, FAKE_DEP_URL, ROOT, VIEW_URL, record, reportFrame } from './allocations-fixture.ts'

test('shows file:// paths under the project root relative to it and leaves other paths whole', () => {
  assert.equal(relativePath(`file://${ROOT}/playground/lib/report.ts`, ROOT), 'playground/lib/report.ts')
  assert.equal(relativePath(`file://${ROOT}/playground/lib/report.ts`, `${ROOT}/`), 'playground/lib/report.ts')
  assert.equal(relativePath('file:///srv/other/app.js', ROOT), '/srv/other/app.js')
  // A sibling whose name starts like the root is not under it.
  assert.equal(relativePath(`file://${ROOT}-old/x.js`, ROOT), `${ROOT}-old/x.js`)
  assert.equal(relativePath('file:///work/my%20app/x.js', '/work/my app'), 'x.js')
  assert.equal(relativePath('node:internal/streams/readable', ROOT), 'node:internal/streams/readable')
  assert.equal(relativePath('', ROOT), '(native)')
})

test('collapses node_modules/<pkg> and node_modules/@scope/pkg to the package, the innermost when nested', () => {
  assert.equal(packageOf(FAKE_DEP_URL), 'fake-dep')
  assert.equal(packageOf(VIEW_URL), '@fastify/view')
  assert.equal(packageOf(ETA_URL), 'eta')
  assert.equal(packageOf('C:\\app\\node_modules\\@scope\\pkg\\lib\\a.js'), '@scope/pkg')
  assert.equal(packageOf(`file://${ROOT}/src/node_modules_helper.js`), undefined)
  assert.equal(packageOf('node:fs'), undefined)
})

test('tells app code, dependencies, Node internals and native code apart by the runtime URL', () => {
  assert.equal(categoryOf(`file://${ROOT}/src/a.js`), 'app')
  assert.equal(categoryOf(FAKE_DEP_URL), 'dependency')
  assert.equal(categoryOf('node:internal/streams/readable'), 'node')
  assert.equal(categoryOf(''), 'native')
})

test('places a frame at its source-mapped .ts location when it has one, at V8\'s otherwise', () => {
  const mapped = placeFrame(reportFrame, ROOT)
  assert.deepEqual(mapped, {
    functionName: 'buildReport',
    file: 'playground/lib/report.ts',
    location: 'playground/lib/report.ts:28',
    mapped: true,
    category: 'app',
    packageName: '(app)'
  })
  const { source, ...raw } = reportFrame
  assert.ok(source !== undefined)
  assert.equal(placeFrame(raw, ROOT).location, 'playground/lib/report.js:24')
  const native = placeFrame({ functionName: '', url: '', line: 0, column: 0 }, ROOT)
  assert.equal(native.functionName, '(anonymous)')
  assert.equal(native.location, '(native)')
  assert.equal(native.packageName, '(native)')
})

test('by function: one row a site, heaviest first, with its share of every sampled byte and its placed stack', () => {
  const rec = record()
  const g = groupSites(rec, { by: 'function', include: '', exclude: '' }, ROOT)
  assert.deepEqual(g.groups.map((x) => [x.label, x.detail, x.bytes]), [
    ['buildReport', 'playground/lib/report.ts:28', 2_097_152],
    ['parseRecords', 'node_modules/fake-dep/index.js:14', 1_048_576],
    ['viewEta', 'node_modules/@fastify/view/index.js:310', 65_536],
    ['render', 'node_modules/@fastify/view/node_modules/eta/dist/eta.umd.js:1021', 49_152],
    ['readableAddChunk', 'node:internal/streams/readable:236', 32_768],
    // Ties in bytes are ordered by label.
    ['(V8 API)', '(native)', 16_384],
    ['formatRow', 'playground/lib/report.ts:60', 16_384]
  ])
  assert.equal(rec.sampledBytes, 3_366_912)
  const top = g.groups[0]
  assert.ok(top !== undefined)
  assert.equal(top.share, 62.3) // 2,097,152 / 3,366,912
  assert.equal(top.samples, 128)
  assert.deepEqual(top.sites[0]?.stack.map((f) => `${f.functionName} ${f.location}`), [
    'processTicksAndRejections node:internal/process/task_queues:95',
    '(anonymous) playground/routes/demo.ts:64',
    'buildReport playground/lib/report.ts:28'
  ])
  assert.equal(g.shownBytes, rec.sampledBytes - rec.otherBytes)
  assert.equal(g.otherSites, 3)
  assert.equal(g.otherBytes, 40_960)
  assert.equal(g.filteredSites, 0)
})

test('by file: the functions of one file add up, each file says which package it is in', () => {
  const g = groupSites(record(), { by: 'file', include: '', exclude: '' }, ROOT)
  const report = g.groups.find((x) => x.label === 'playground/lib/report.ts')
  assert.ok(report !== undefined)
  assert.equal(report.bytes, 2_097_152 + 16_384)
  assert.equal(report.samples, 129)
  assert.deepEqual(report.sites.map((s) => s.functionName), ['buildReport', 'formatRow'])
  assert.equal(g.groups.find((x) => x.label === 'node_modules/@fastify/view/index.js')?.detail, 'package @fastify/view')
  assert.equal(g.groups.length, 6)
})

test('by package: node_modules packages collapsed (scoped ones whole), Node internals and native code apart, app code together', () => {
  const g = groupSites(record(), { by: 'package', include: '', exclude: '' }, ROOT)
  assert.deepEqual(g.groups.map((x) => [x.label, x.category, x.bytes, x.sites.length]), [
    ['(app)', 'app', 2_097_152 + 16_384, 2],
    ['fake-dep', 'dependency', 1_048_576, 1],
    ['@fastify/view', 'dependency', 65_536, 1],
    ['eta', 'dependency', 49_152, 1],
    ['(node internals)', 'node', 32_768, 1],
    ['(native)', 'native', 16_384, 1]
  ])
  assert.equal(g.groups[0]?.share, 62.8)
})

test('include keeps only sites whose function name or path matches, exclude drops them: comma-separated and case-insensitive', () => {
  const byName = groupSites(record(), { by: 'function', include: 'BUILDreport', exclude: '' }, ROOT)
  assert.deepEqual(byName.groups.map((x) => x.label), ['buildReport'])
  assert.equal(byName.filteredSites, 6)
  assert.equal(byName.filteredBytes, 1_048_576 + 65_536 + 49_152 + 32_768 + 16_384 + 16_384)

  const byPath = groupSites(record(), { by: 'function', include: 'node_modules/, node:', exclude: '' }, ROOT)
  assert.deepEqual(byPath.groups.map((x) => x.label), ['parseRecords', 'viewEta', 'render', 'readableAddChunk'])

  const excluded = groupSites(record(), { by: 'package', include: '', exclude: '@fastify/, (native)' }, ROOT)
  assert.deepEqual(excluded.groups.map((x) => x.label), ['(app)', 'fake-dep', '(node internals)'])
  // The share stays a share of every sampled byte, not of what the filter left.
  assert.equal(excluded.groups[0]?.share, 62.8)

  const both = groupSites(record(), { by: 'function', include: 'report', exclude: 'format' }, ROOT)
  assert.deepEqual(both.groups.map((x) => x.label), ['buildReport'])
})

test('filter text becomes at most ten trimmed lower-case terms', () => {
  assert.deepEqual(filterTerms(' Foo , ,bar,'), ['foo', 'bar'])
  assert.deepEqual(filterTerms(''), [])
  assert.equal(filterTerms(Array.from({ length: 30 }, (_, i) => `t${i}`).join(',')).length, MAX_FILTER_TERMS)
})

test('an empty record groups to nothing with no division by zero', () => {
  const g = groupSites(record({ sites: [], sampledBytes: 0, samples: 0, otherSites: 0, otherBytes: 0 }), { by: 'package', include: '', exclude: '' }, ROOT)
  assert.deepEqual(g.groups, [])
  assert.equal(g.shownBytes, 0)
  assert.deepEqual(placeSites({ sites: record().sites.slice(0, 1), sampledBytes: 0 }, ROOT).map((s) => s.share), [0])
})
