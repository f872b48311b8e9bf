import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { MemoryWindow } from '../src/capture/backend.ts'
import { MemoryFinalizer } from '../src/capture/finalizer.ts'
import type { RequestRecord } from '../src/record/types.ts'
import { createStore, estimateRecordBytes } from '../src/store.ts'
import { fakeTracker, plainHeaders, testRecord as fakeRecord } from './helpers.ts'

test('keeps at most maxRequests records and lists them newest first', async () => {
  const store = createStore(3, 1024 * 1024)
  for (const id of ['a', 'b', 'c', 'd']) store.save(fakeRecord(id))
  assert.deepEqual((await store.list()).map((r) => r.id), ['d', 'c', 'b'])
  assert.equal(await store.get('a'), undefined)
})

test('reading a record does not reorder the history', async () => {
  const store = createStore(3, 1024 * 1024)
  for (const id of ['a', 'b', 'c']) store.save(fakeRecord(id))
  await store.get('a')
  store.save(fakeRecord('d'))
  assert.deepEqual((await store.list()).map((r) => r.id), ['d', 'c', 'b'])
})

test('evicts the oldest records to stay under the byte cap', async () => {
  const big = plainHeaders({ 'x-big': 'y'.repeat(20_000) })
  const one = estimateRecordBytes(fakeRecord('x', { request: { headers: big, query: {}, remoteAddress: '', httpVersion: '1.1' } }))
  const store = createStore(100, one * 3 + 10)
  for (let i = 0; i < 10; i++) store.save(fakeRecord(String(i), { request: { headers: big, query: {}, remoteAddress: '', httpVersion: '1.1' } }))
  assert.equal(store.size, 3)
  assert.ok(store.sizeBytes <= one * 3 + 10)
  assert.deepEqual((await store.list()).map((r) => r.id), ['9', '8', '7'])
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

/** A store and a finalizer wired as the plugin wires them, and a way to save a record whose window opened at `startMs`. */
function storeWithFinalizer (maxStoreBytes: number) {
  const { tracker, gcs } = fakeTracker()
  const store = createStore(10, maxStoreBytes, (id) => f.settle(id))
  const f = new MemoryFinalizer(tracker, 20, (id) => { store.revise(id) })
  function saveAt (id: string, startMs: number): RequestRecord {
    const w: MemoryWindow = { startMs, endMs: startMs + 1, heapUsedBefore: 1000, heapUsedAfter: 1000, externalBefore: 0, externalAfter: 0, forcedFromMs: Infinity }
    const r = fakeRecord(id)
    r.memory = f.build('test', w, 0, 0, false, [])
    store.save(r)
    f.finalizeLater(id, w, r.memory)
    return r
  }
  return { store, finalizer: f, gcs, saveAt }
}

test('GC events the finalizer adds after a record was saved count against maxStoreBytes', async () => {
  const one = estimateRecordBytes(fakeRecord('a'))
  const { store, finalizer, gcs, saveAt } = storeWithFinalizer(2 * one + 1000)
  const a = saveAt('a', 0)
  const b = saveAt('b', 10)
  assert.equal(store.sizeBytes, estimateRecordBytes(a) + estimateRecordBytes(b))
  // 20 GCs inside a's window, reported after it was saved.
  for (let i = 0; i < 20; i++) gcs.push({ startMs: 0.01 * (i + 1), durationMs: 0.1, kind: 'minor', heapUsedBefore: 2000, heapUsedAfter: 1000 })
  finalizer.onGcReported(5)
  assert.equal(a.memory.final, true)
  assert.equal(a.memory.gc.events.length, 20)
  // a grew past the cap with its events: the oldest record (a itself) left, as on save.
  assert.ok(estimateRecordBytes(a) + estimateRecordBytes(b) > 2 * one + 1000)
  assert.deepEqual((await store.list()).map((r) => r.id), ['b'])
  assert.equal(store.sizeBytes, estimateRecordBytes(b))
})

test('a record whose figures grew after saving is counted again at its new size', () => {
  const { store, finalizer, gcs, saveAt } = storeWithFinalizer(1024 * 1024)
  const a = saveAt('a', 0)
  const before = store.sizeBytes
  gcs.push({ startMs: 0.5, durationMs: 0.1, kind: 'minor', heapUsedBefore: 2000, heapUsedAfter: 1000 })
  finalizer.onGcReported(5)
  assert.equal(a.memory.gc.count, 1)
  assert.ok(store.sizeBytes > before)
  assert.equal(store.sizeBytes, estimateRecordBytes(a))
})

test('reading a record from the store waits for its final memory figures', async () => {
  const { store, gcs, saveAt } = storeWithFinalizer(1024 * 1024)
  const a = saveAt('a', 0)
  gcs.push({ startMs: 0.5, durationMs: 0.1, kind: 'minor', heapUsedBefore: 2000, heapUsedAfter: 1000 })
  assert.equal(a.memory.final, false)
  const read = await store.get('a')
  assert.equal(read?.memory.final, true)
  assert.equal(read?.memory.gc.count, 1)
  const b = saveAt('b', 10)
  assert.equal(b.memory.final, false)
  const list = await store.list()
  assert.deepEqual(list.map((r) => r.memory.final), [true, true])
})
