import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Measurement, MemoryBackend, MemoryWindow } from '../src/capture/backend.ts'
import { BACKENDS, chooseBackend } from '../src/capture/backends.ts'
import { heapStatisticsBackend } from '../src/capture/heap-backend.ts'
import { PreciseCollector } from '../src/capture/precise.ts'
import { windowTookNoSample } from '../src/capture/sampling-policy.ts'

function windowOf (fields: Partial<MemoryWindow> = {}): MemoryWindow {
  return { startMs: 0, endMs: 1, heapUsedBefore: 1000, heapUsedAfter: 1000, externalBefore: 0, externalAfter: 0, forcedFromMs: Infinity, ...fields }
}

/** A backend that reads no handle counts, as a second backend may not. */
function countingBackend (): MemoryBackend & { created: number } {
  const backend = {
    id: 'counting',
    created: 0,
    create (startMs: number): Measurement {
      backend.created++
      const w = windowOf({ startMs })
      return { begin () {}, stop: () => w }
    }
  }
  return backend
}

test('the heap-statistics backend is the default, and backends are chosen from one list', () => {
  assert.equal(BACKENDS[0], heapStatisticsBackend)
  assert.equal(chooseBackend(), heapStatisticsBackend)
  assert.equal(chooseBackend('heap-statistics'), heapStatisticsBackend)
})

test('a window is known to hold no sample only when its backend read unmoved handle counts and no GC ran', () => {
  assert.equal(windowTookNoSample(windowOf({ handlesBefore: 512, handlesAfter: 512 }), 0), true)
  assert.equal(windowTookNoSample(windowOf({ handlesBefore: 512, handlesAfter: 544 }), 0), false, 'a new handle: maybe a sample')
  assert.equal(windowTookNoSample(windowOf({ handlesBefore: 512, handlesAfter: 512 }), 1), false, 'a GC frees handles')
  assert.equal(windowTookNoSample(windowOf(), 0), false, 'no handle counts: cannot tell, read the profile')
  assert.equal(windowTookNoSample(windowOf({ handlesBefore: 512 }), 0), false, 'half the counts: cannot tell')
})

test('precise mode measures with the backend it is given', async (t) => {
  const backend = countingBackend()
  const precise = new PreciseCollector(backend)
  t.after(() => { precise.close() })
  let sampledBeforeBaseline = false
  const m = await precise.start(() => { sampledBeforeBaseline = true })
  assert.equal(backend.created, 1)
  assert.equal(sampledBeforeBaseline, true)
  await m.settle()
  const w = m.stop()
  assert.ok(Number.isFinite(w.forcedFromMs), 'the closing GC is marked as forced')
  assert.equal(w.handlesBefore, undefined)
})
