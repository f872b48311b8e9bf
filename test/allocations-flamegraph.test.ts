import { test } from 'node:test'
import assert from 'node:assert/strict'
import { flameGraph, ROOT_NAME, sourceIndex, type FlameNode } from '../src/allocations/flamegraph.ts'
import { ROOT, profile, record } from './allocations-fixture.ts'

function flatten (n: FlameNode, depth = 0): string[] {
  return [`${'  '.repeat(depth)}${n.name} ${n.value}/${n.total}`, ...n.children.flatMap((c) => flatten(c, depth + 1))]
}

test('turns the call tree into the flame graph\'s frames: self bytes as value, totals, callees heaviest first, empty frames dropped', () => {
  const fg = flameGraph(profile(), ROOT)
  assert.deepEqual(flatten(fg.root), [
    `${ROOT_NAME} 0/3325953`,
    '  processTicksAndRejections 0/3309569',
    '    (anonymous) 16384/3276801',
    '      buildReport 2097152/2097152',
    '      parseRecords 1048576/1048576',
    '      viewEta 65536/114689',
    '        render 49153/49153',
    '    readableAddChunk 32768/32768',
    '  (V8 API) 16384/16384'
  ])
  assert.equal(fg.totalBytes, 3_325_953)
  assert.equal(fg.frames, 9)
  assert.equal(fg.sampler, 'native')
  assert.equal(fg.intervalBytes, 16 * 1024)
})

test('labels frames with their relative, source-mapped location and kind of code', () => {
  const fg = flameGraph(profile(), ROOT)
  const handler = fg.root.children[0]?.children[0]
  assert.equal(handler?.location, 'playground/routes/demo.ts:64')
  assert.equal(handler?.category, 'app')
  const parse = handler?.children[1]
  assert.deepEqual([parse?.name, parse?.location, parse?.category, parse?.samples], ['parseRecords', 'node_modules/fake-dep/index.js:14', 'dependency', 64])
  assert.equal(fg.root.children[0]?.category, 'node')
  assert.equal(fg.root.children[1]?.category, 'native')
  assert.equal(fg.root.location, '')
})

test('gives call tree frames kept without a source-mapped location the one the record\'s sites and stacks have', () => {
  const p = profile()
  const handler = p.root.children[0]?.children[0]
  const report = handler?.children[0]
  assert.ok(handler !== undefined && report !== undefined)
  // Copies: the fixture's frames are shared.
  const { source: _h, ...handlerRaw } = handler.frame
  const { source: _r, ...reportRaw } = report.frame
  handler.frame = handlerRaw
  report.frame = reportRaw
  assert.equal(flameGraph(p, ROOT).root.children[0]?.children[0]?.children[0]?.location, 'playground/lib/report.js:24')
  const fg = flameGraph(p, ROOT, sourceIndex(record()))
  const mappedHandler = fg.root.children[0]?.children[0]
  assert.equal(mappedHandler?.location, 'playground/routes/demo.ts:64')
  assert.equal(mappedHandler?.children[0]?.location, 'playground/lib/report.ts:28')
  assert.equal(sourceIndex(undefined).size, 0)
})
