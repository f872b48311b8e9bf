import { test } from 'node:test'
import assert from 'node:assert/strict'
import { toHeapProfile, type HeapProfileNode } from '../src/allocations/heapprofile.ts'
import { FAKE_DEP_URL, REPORT_TS, REPORT_URL, profile } from './allocations-fixture.ts'

function nodes (head: HeapProfileNode): HeapProfileNode[] {
  const out: HeapProfileNode[] = []
  const visit = (n: HeapProfileNode): void => { out.push(n); n.children.forEach(visit) }
  visit(head)
  return out
}

test('writes the DevTools .heapprofile shape: head with callFrame, selfSize, id and children; samples with size, nodeId and ordinal', () => {
  const hp = toHeapProfile(profile())
  assert.deepEqual(Object.keys(hp).sort(), ['head', 'samples'])
  assert.deepEqual(Object.keys(hp.head).sort(), ['callFrame', 'children', 'id', 'selfSize'])
  assert.deepEqual(hp.head.callFrame, { functionName: '(root)', scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 })
  assert.deepEqual(nodes(hp.head).map((n) => n.id), [1, 2, 3, 4, 5, 8, 9, 6, 7, 10])
  for (const s of hp.samples) assert.deepEqual(Object.keys(s).sort(), ['nodeId', 'ordinal', 'size'])
})

test('converts our 1-based locations to the protocol\'s 0-based ones, -1 when unknown, one script id per URL', () => {
  const hp = toHeapProfile(profile())
  const byName = new Map(nodes(hp.head).map((n) => [n.callFrame.functionName, n]))
  assert.deepEqual(byName.get('buildReport')?.callFrame, { functionName: 'buildReport', scriptId: '3', url: REPORT_URL, lineNumber: 23, columnNumber: 7 })
  assert.deepEqual(byName.get('parseRecords')?.callFrame, { functionName: 'parseRecords', scriptId: '4', url: FAKE_DEP_URL, lineNumber: 13, columnNumber: 29 })
  assert.deepEqual(byName.get('(V8 API)')?.callFrame, { functionName: '(V8 API)', scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 })
  assert.equal(byName.get('buildReport')?.selfSize, 2_097_152)
  const ids = nodes(hp.head).map((n) => n.callFrame.scriptId)
  const urls = nodes(hp.head).map((n) => n.callFrame.url)
  for (let i = 0; i < ids.length; i++) {
    for (let j = 0; j < ids.length; j++) assert.equal(ids[i] === ids[j], urls[i] === urls[j], `${urls[i]} / ${urls[j]}`)
  }
})

test('writes source-mapped locations when asked', () => {
  const hp = toHeapProfile(profile(), { sourceMapped: true })
  const report = nodes(hp.head).find((n) => n.callFrame.functionName === 'buildReport')
  assert.equal(report?.callFrame.url, REPORT_TS)
  assert.equal(report?.callFrame.lineNumber, 27)
})

test('splits each node\'s bytes over its samples so they add up to its selfSize exactly; ordinals count from 1', () => {
  const hp = toHeapProfile(profile())
  assert.equal(hp.samples.length, 1 + 128 + 64 + 4 + 3 + 2 + 1)
  assert.deepEqual(hp.samples.map((s) => s.ordinal), hp.samples.map((_, i) => i + 1))
  for (const n of nodes(hp.head)) {
    const mine = hp.samples.filter((s) => s.nodeId === n.id)
    assert.equal(mine.reduce((a, s) => a + s.size, 0), n.selfSize, n.callFrame.functionName)
    if (mine.length > 0) assert.ok(Math.max(...mine.map((s) => s.size)) - Math.min(...mine.map((s) => s.size)) <= 1)
  }
  // 49,153 bytes over 3 samples: 16,385 + 16,384 + 16,384.
  assert.deepEqual(hp.samples.filter((s) => s.nodeId === 9).map((s) => s.size), [16_385, 16_384, 16_384])
  assert.equal(hp.samples.reduce((a, s) => a + s.size, 0), nodes(hp.head).reduce((a, n) => a + n.selfSize, 0))
})

test('renumbers node ids depth-first when the tree repeats one', () => {
  const p = profile()
  const first = p.root.children[0]
  assert.ok(first !== undefined)
  first.id = 1
  const hp = toHeapProfile(p)
  assert.deepEqual(nodes(hp.head).map((n) => n.id), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
  const known = new Set(nodes(hp.head).map((n) => n.id))
  assert.ok(hp.samples.every((s) => known.has(s.nodeId)))
})

test('survives a JSON round trip unchanged', () => {
  const hp = toHeapProfile(profile())
  assert.deepEqual(JSON.parse(JSON.stringify(hp)), hp)
})
