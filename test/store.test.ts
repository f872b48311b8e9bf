import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createStore, estimateRecordBytes } from '../src/store.ts'
import type { RequestRecord } from '../src/record/types.ts'
import { plainHeaders } from './helpers.ts'

export function fakeRecord (id: string, extra: Partial<RequestRecord> = {}): RequestRecord {
  return {
    id,
    method: 'GET',
    url: `/r/${id}`,
    route: '/r/:id',
    statusCode: 200,
    durationMs: 1,
    startedAt: Date.now(),
    cpu: { loopBusyMs: 1, userMs: null, systemMs: null },
    request: { headers: plainHeaders({ host: 'localhost' }), query: {}, remoteAddress: '127.0.0.1', httpVersion: '1.1' },
    response: { headers: plainHeaders({}), contentType: 'text/html' },
    memory: {
      backend: 'heap-statistics',
      heapUsedBefore: 100,
      heapUsedAfter: 200,
      heapUsedDelta: 100,
      peakHeapUsed: 200,
      allocatedBytes: 100,
      externalBefore: 0,
      externalAfter: 0,
      externalDelta: 0,
      gc: { count: 0, pauseMs: 0, forced: 0, events: [] },
      overlapping: 0,
      overheadMs: 0.01,
      precise: false,
      final: true,
      notes: []
    },
    ...extra
  }
}

test('keeps at most maxRequests records and lists them newest first', () => {
  const store = createStore(3, 1024 * 1024)
  for (const id of ['a', 'b', 'c', 'd']) store.save(fakeRecord(id))
  assert.deepEqual(store.list().map((r) => r.id), ['d', 'c', 'b'])
  assert.equal(store.get('a'), undefined)
})

test('reading a record does not reorder the history', () => {
  const store = createStore(3, 1024 * 1024)
  for (const id of ['a', 'b', 'c']) store.save(fakeRecord(id))
  store.get('a')
  store.save(fakeRecord('d'))
  assert.deepEqual(store.list().map((r) => r.id), ['d', 'c', 'b'])
})

test('evicts the oldest records to stay under the byte cap', () => {
  const big = plainHeaders({ 'x-big': 'y'.repeat(20_000) })
  const one = estimateRecordBytes(fakeRecord('x', { request: { headers: big, query: {}, remoteAddress: '', httpVersion: '1.1' } }))
  const store = createStore(100, one * 3 + 10)
  for (let i = 0; i < 10; i++) store.save(fakeRecord(String(i), { request: { headers: big, query: {}, remoteAddress: '', httpVersion: '1.1' } }))
  assert.equal(store.size, 3)
  assert.ok(store.sizeBytes <= one * 3 + 10)
  assert.deepEqual(store.list().map((r) => r.id), ['9', '8', '7'])
})

test('a record larger than the whole cap is not stored', () => {
  const store = createStore(10, 64 * 1024)
  store.save(fakeRecord('huge', { url: 'x'.repeat(100_000) }))
  assert.equal(store.size, 0)
})

test('the size estimate counts strings at two bytes a character', () => {
  const small = estimateRecordBytes(fakeRecord('a'))
  const bigger = estimateRecordBytes(fakeRecord('a', { url: 'x'.repeat(1000) }))
  assert.equal(bigger - small, 2 * (1000 - '/r/a'.length))
})
