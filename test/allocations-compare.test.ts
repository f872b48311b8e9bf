import { test } from 'node:test'
import assert from 'node:assert/strict'
import { compareAllocations } from '../src/allocations/compare.ts'
import type { AllocationsRecord } from '../src/allocations/types.ts'
import { ROOT, record, sites } from './allocations-fixture.ts'

/** The same route later: buildReport doubled, parseRecords halved, eta's render gone, a new site in pino. */
function later (): AllocationsRecord {
  const listed = sites().filter((s) => s.functionName !== 'render').map((s) => {
    if (s.functionName === 'buildReport') return { ...s, bytes: 4_194_304, samples: 256 }
    if (s.functionName === 'parseRecords') return { ...s, bytes: 524_288, samples: 32 }
    return s
  })
  listed.push({ functionName: 'write', url: 'file:///work/app/node_modules/pino/lib/proto.js', line: 200, column: 3, bytes: 81_920, samples: 5, stack: [] })
  return record({ sites: listed, sampledBytes: listed.reduce((n, s) => n + s.bytes, 0) + 40_960 })
}

test('compares two requests function by function: grew, shrank, appeared, disappeared and same, with byte deltas, largest change first', () => {
  const c = compareAllocations(record(), later(), { by: 'function', include: '', exclude: '' }, ROOT)
  assert.deepEqual(c.changes.map((x) => [x.label, x.change, x.baseBytes, x.targetBytes, x.deltaBytes]), [
    ['buildReport', 'grew', 2_097_152, 4_194_304, 2_097_152],
    ['parseRecords', 'shrank', 1_048_576, 524_288, -524_288],
    ['write', 'appeared', 0, 81_920, 81_920],
    ['render', 'disappeared', 49_152, 0, -49_152],
    ['viewEta', 'same', 65_536, 65_536, 0],
    ['readableAddChunk', 'same', 32_768, 32_768, 0],
    ['(V8 API)', 'same', 16_384, 16_384, 0],
    ['formatRow', 'same', 16_384, 16_384, 0]
  ])
  assert.deepEqual(c.counts, { grew: 1, shrank: 1, appeared: 1, disappeared: 1, same: 4 })
  const top = c.changes[0]
  assert.equal(top?.baseSamples, 128)
  assert.equal(top?.targetSamples, 256)
  assert.equal(top?.detail, 'playground/lib/report.ts:28')
  assert.equal(c.baseSampledBytes, 3_366_912)
  assert.equal(c.targetSampledBytes, 3_366_912 + 2_097_152 - 524_288 - 49_152 + 81_920)
  assert.equal(c.deltaBytes, 2_097_152 - 524_288 - 49_152 + 81_920)
  assert.equal(c.deltaPercent, 47.7) // 1,605,632 / 3,366,912
})

test('compares by package, so a dependency that grew shows as one row', () => {
  const c = compareAllocations(record(), later(), { by: 'package', include: '', exclude: '' }, ROOT)
  assert.deepEqual(c.changes.map((x) => [x.label, x.change, x.deltaBytes]), [
    ['(app)', 'grew', 2_097_152],
    ['fake-dep', 'shrank', -524_288],
    ['pino', 'appeared', 81_920],
    ['eta', 'disappeared', -49_152],
    ['@fastify/view', 'same', 0],
    ['(node internals)', 'same', 0],
    ['(native)', 'same', 0]
  ])
})

test('applies the same filters to both requests', () => {
  const c = compareAllocations(record(), later(), { by: 'function', include: 'node_modules', exclude: 'pino' }, ROOT)
  assert.deepEqual(c.changes.map((x) => x.label), ['parseRecords', 'render', 'viewEta'])
})

test('says when the two requests were sampled differently or their lists were cut, and that small differences are noise', () => {
  const same = compareAllocations(record({ otherSites: 0, otherBytes: 0 }), record({ otherSites: 0, otherBytes: 0 }), { by: 'function', include: '', exclude: '' }, ROOT)
  assert.equal(same.notes.length, 1)
  assert.match(same.notes[0] ?? '', /about every 16.4 kB allocated: a difference of a sample or two is noise/)
  assert.ok(same.changes.every((x) => x.change === 'same'))

  const mixed = compareAllocations(record(), record({ sampler: 'inspector', meaning: 'retained', intervalBytes: 8192 }), { by: 'function', include: '', exclude: '' }, ROOT)
  assert.equal(mixed.notes.length, 4)
  assert.match(mixed.notes[0] ?? '', /sampled differently \(native, allocated against inspector, retained\)/)
  assert.match(mixed.notes[1] ?? '', /intervals differ \(16.4 kB and 8.19 kB\)/)
  assert.match(mixed.notes[2] ?? '', /3 and 3 more were not/)
  assert.match(mixed.notes[3] ?? '', /about every 8.19 kB/)
})

test('a base that sampled nothing has no percent change rather than a division by zero', () => {
  const empty = record({ sites: [], sampledBytes: 0, samples: 0, otherSites: 0, otherBytes: 0 })
  const c = compareAllocations(empty, record(), { by: 'file', include: '', exclude: '' }, ROOT)
  assert.equal(c.deltaPercent, undefined)
  assert.ok(c.changes.every((x) => x.change === 'appeared'))
  assert.equal(c.counts.appeared, 6)
})
