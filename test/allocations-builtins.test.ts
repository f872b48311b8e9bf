// V8 builtins in the Memory panel's allocation sites: counted toward the JavaScript function that
// called them by default (the record's sites), listed apart with ?builtins=apart (counted again
// from the stored call tree); the .heapprofile stays as V8 wrote it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { foldBuiltins } from '../src/allocations/builtins.ts'
import type { HeapProfile, HeapProfileNode } from '../src/allocations/heapprofile.ts'
import { summarizeSites } from '../src/allocations/sites.ts'
import type { AllocationsRecord, ProfileNode } from '../src/allocations/types.ts'
import { builtinsSwitch } from '../src/panels/panel.ts'
import { appWithToolbar, recordOf } from './helpers.ts'
import { splitLines } from './fixtures/allocators.ts'
import { record as allocations } from './allocations-fixture.ts'

const P = '/__debug'
const SAMPLE = { 'x-debug-toolbar-sample': '1' }
/** 200,000 lines: splitting them allocates several MB, hundreds of samples at the default interval. */
const TEXT = Array.from({ length: 200_000 }, (_, i) => `line ${i} of the report`).join('\n')

let kept: unknown[] = []

function node (id: number, functionName: string, url: string, selfBytes: number, children: ProfileNode[] = []): ProfileNode {
  return { id, frame: { functionName, url, line: url === '' ? 0 : 10, column: 1 }, selfBytes, selfSamples: selfBytes > 0 ? 1 : 0, children }
}

const identity = (f: ProfileNode['frame']): ProfileNode['frame'] => ({ ...f })

test('folded sites are those of the folded call tree, counted in one walk: nested builtins, callbacks under a builtin, a builtin under the root', () => {
  const tree = node(1, '(root)', '', 0, [
    node(2, 'parseLines', 'file:///app/report.js', 100, [
      node(3, 'split', '', 4000, [node(4, 'push', '', 50)]),
      node(5, 'map', '', 300, [node(6, 'toRow', 'file:///app/report.js', 900, [node(7, 'JSON.parse', '', 700)])])
    ]),
    node(8, 'next', '', 30, [node(9, 'push', '', 20)]),
    node(10, 'parseLines', 'file:///app/report.js', 10)
  ])
  const profile = { sampler: 'native' as const, meaning: 'allocated' as const, intervalBytes: 16384, root: tree }
  const folded = summarizeSites(profile, 10, identity)
  assert.deepEqual(folded, summarizeSites({ ...profile, root: foldBuiltins(tree) }, 10, identity, 'apart'))
  assert.deepEqual(folded.sites.map((s) => [s.functionName, s.bytes, s.samples]), [['parseLines', 4460, 5], ['toRow', 1600, 2], ['next', 30, 1], ['push', 20, 1]])
  // The stack of a folded site leaves the builtin out: toRow was called through map.
  assert.deepEqual(folded.sites[1]?.stack.map((f) => f.functionName), ['parseLines', 'toRow'])
  const apart = summarizeSites(profile, 10, identity, 'apart')
  assert.deepEqual(apart.sites.map((s) => s.functionName), ['split', 'toRow', 'JSON.parse', 'map', 'parseLines', 'push', 'next'])
  assert.equal(apart.sampledBytes, folded.sampledBytes)
  assert.equal(apart.samples, folded.samples)
})

test('the panel says how builtins are counted, and when the call tree is gone so they cannot be counted otherwise', () => {
  const folded = builtinsSwitch(allocations(), 'folded')
  assert.deepEqual(folded.choices.map((c) => [c.value, c.label, c.checked]), [['folded', 'Toward callers', true], ['apart', 'Apart', false]])
  assert.match(folded.note, /^V8 builtins \(split, push, JSON\.parse, iterator next\.\.\.\) count toward the JavaScript function that called them; Apart lists them/)
  assert.match(folded.note, /The flame graph and the \.heapprofile download show the call tree as V8 recorded it, builtins apart\.$/)
  assert.match(builtinsSwitch(allocations(), 'apart').note, /They cannot be shown apart here: this request's call tree is not stored\./)
  assert.match(builtinsSwitch(allocations({ builtins: 'apart' }), 'apart').note, /^V8 builtins .* are listed as sites of their own/)
})

async function splitApp () {
  return await appWithToolbar({ allocations: { requests: 'marked' } }, (a) => {
    a.get('/lines', async () => { const lines = splitLines(TEXT); kept.push(lines); return { lines: lines.length } })
  })
}

function labels (html: string): string[] {
  return [...html.matchAll(/<span class="fdt-site-label">([^<]*)<\/span>/g)].map((m) => m[1] ?? '')
}

function heapNodes (n: HeapProfileNode): HeapProfileNode[] {
  return [n, ...n.children.flatMap(heapNodes)]
}

test('a route allocating through String.prototype.split: its own function is the top site by default, split is its own site with ?builtins=apart', async (t) => {
  const app = await splitApp()
  t.after(async () => { kept = []; await app.close() })
  // The first call compiles the route's code.
  await app.inject({ url: '/lines', headers: SAMPLE })
  kept = []
  const res = await app.inject({ url: '/lines', headers: SAMPLE })
  assert.equal(res.statusCode, 200)
  const id = String(res.headers['x-debug-toolbar-id'])
  const a = (await recordOf(app, id)).memory.allocations as AllocationsRecord
  assert.ok(a !== undefined && 'sites' in a, JSON.stringify(a))
  assert.equal(a.builtins, 'folded')
  assert.ok(a.samples >= 20, `enough samples to rank sites: ${a.samples}`)

  // The record (what the JSON API returns): splitLines on top, no split site.
  assert.equal(a.sites[0]?.functionName, 'splitLines', a.sites.map((s) => `${s.functionName} ${s.bytes}`).join(', '))
  assert.match(a.sites[0]?.url ?? '', /\/test\/fixtures\/allocators\.ts$/)
  assert.equal(a.sites.some((s) => s.functionName === 'split' && s.url === ''), false)

  const byDefault = await app.inject(`${P}/requests/${id}/panels/memory`)
  assert.equal(byDefault.statusCode, 200)
  assert.equal(labels(byDefault.body)[0], 'splitLines')
  assert.equal(labels(byDefault.body).includes('split'), false)
  assert.match(byDefault.body, /data-builtins="folded"/)
  assert.match(byDefault.body, /<input type="radio" name="builtins" value="folded" checked>/)

  const apart = await app.inject(`${P}/requests/${id}/panels/memory?builtins=apart`)
  assert.equal(apart.statusCode, 200)
  const apartLabels = labels(apart.body)
  assert.equal(apartLabels[0], 'split', apartLabels.join(', '))
  assert.match(apart.body, /data-builtins="apart"/)
  assert.match(apart.body, /<input type="radio" name="builtins" value="apart" checked>/)
  assert.match(apart.body, /are listed as sites of their own, as V8 reports them/)
  // Same samples, counted differently: the sampled bytes figure does not change.
  const figure = (html: string): string | undefined => /Sampled bytes<\/dt>\s*<dd class="fdt-figure-value">([^<]*)</.exec(html)?.[1]
  assert.ok(figure(byDefault.body) !== undefined)
  assert.equal(figure(apart.body), figure(byDefault.body))

  // The switch goes along with the grouping and filters.
  const grouped = await app.inject(`${P}/requests/${id}/panels/memory?builtins=apart&group=package`)
  assert.ok(labels(grouped.body).includes('(native)'), labels(grouped.body).join(', '))
  assert.match(grouped.body, /<input type="radio" name="group" value="package" checked>/)
  assert.match(grouped.body, /<input type="radio" name="builtins" value="apart" checked>/)
  assert.equal(labels((await app.inject(`${P}/requests/${id}/panels/memory?group=package`)).body).includes('(native)'), false)

  // The request page takes the switch too.
  const page = await app.inject(`${P}/requests/${id}?builtins=apart`)
  assert.equal(page.statusCode, 200)
  assert.equal(labels(page.body)[0], 'split')
  for (const bad of ['builtins=nope', 'builtins=apart&builtins=folded']) {
    const refused = await app.inject(`${P}/requests/${id}/panels/memory?${bad}`)
    assert.equal(refused.statusCode, 400, bad)
    assert.equal(refused.json().code, 'FST_ERR_VALIDATION')
  }

  // The compare page takes the switch too, for both requests at once.
  const another = String((await app.inject({ url: '/lines', headers: SAMPLE })).headers['x-debug-toolbar-id'])
  kept = []
  const compared = await app.inject(`${P}/requests/${id}/compare/${another}`)
  assert.equal(compared.statusCode, 200)
  assert.ok(labels(compared.body).includes('splitLines'), labels(compared.body).join(', '))
  assert.equal(labels(compared.body).includes('split'), false)
  const comparedApart = await app.inject(`${P}/requests/${id}/compare/${another}?builtins=apart`)
  assert.ok(labels(comparedApart.body).includes('split'), labels(comparedApart.body).join(', '))
  assert.match(comparedApart.body, /<input type="radio" name="builtins" value="apart" checked>/)

  // The download stays the raw profile: split is a node of its own, as V8 wrote it.
  const hp = (await app.inject(`${P}/requests/${id}/profile.heapprofile`)).json() as HeapProfile
  assert.ok(heapNodes(hp.head).some((n) => n.callFrame.functionName === 'split' && n.callFrame.url === '' && n.selfSize > 0))
})
