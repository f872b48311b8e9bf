import v8 from 'node:v8'
import { performance } from 'node:perf_hooks'
import type { Measurement, MemoryBackend, MemoryWindow } from './backend.ts'

/**
 * Reads V8's heap statistics (about 0.15 µs a call; `process.memoryUsage()` costs 7 µs because it
 * reads RSS from /proc) at the start and end of a request. Peak and allocated bytes come from the
 * GC tracker, which fills in what happened between the two readings.
 */
class HeapMeasurement implements Measurement {
  readonly startMs: number
  readonly heapUsedBefore: number
  readonly externalBefore: number
  readonly handlesBefore: number
  private window: MemoryWindow | undefined

  constructor () {
    const s = v8.getHeapStatistics()
    this.heapUsedBefore = s.used_heap_size
    this.externalBefore = s.external_memory
    this.handlesBefore = s.used_global_handles_size
    this.startMs = performance.now()
  }

  stop (): MemoryWindow {
    if (this.window !== undefined) return this.window
    const endMs = performance.now()
    const s = v8.getHeapStatistics()
    this.window = {
      startMs: this.startMs,
      endMs,
      heapUsedBefore: this.heapUsedBefore,
      heapUsedAfter: s.used_heap_size,
      externalBefore: this.externalBefore,
      externalAfter: s.external_memory,
      handlesBefore: this.handlesBefore,
      handlesAfter: s.used_global_handles_size,
      forcedFromMs: Infinity
    }
    return this.window
  }
}

/** The default backend: heap statistics at both ends plus the process-wide GC tracker. */
export const heapStatisticsBackend: MemoryBackend = {
  id: 'heap-statistics',
  start: () => new HeapMeasurement()
}
