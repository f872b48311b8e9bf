import type { GcEventRecord } from '../record/types.ts'
import type { MemoryWindow } from './backend.ts'
import type { TrackedGc } from './gc-tracker.ts'

/** How many GCs a record lists for its picture; the count and pause cover all of them. */
export const MAX_GC_EVENTS = 64

/** The figures derived from a window and the GCs that started inside it. */
export interface WindowFigures {
  peakHeapUsed: number
  allocatedBytes: number
  gc: { count: number, pauseMs: number, forced: number, events: GcEventRecord[] }
}

/**
 * Between two GCs the heap only grows, so the peak is the highest of: the start, the end, and the
 * heap just before each GC. Everything the GCs reclaimed was allocated inside the window too, so
 * allocated = (end - start) + sum(before - after).
 */
export function windowFigures (w: MemoryWindow, gcs: readonly TrackedGc[]): WindowFigures {
  let peak = Math.max(w.heapUsedBefore, w.heapUsedAfter)
  let reclaimed = 0
  let count = 0
  let forced = 0
  let pauseMs = 0
  const events: GcEventRecord[] = []
  for (const g of gcs) {
    if (g.heapUsedBefore > peak) peak = g.heapUsedBefore
    reclaimed += g.heapUsedBefore - g.heapUsedAfter
    if (g.startMs >= w.forcedFromMs) {
      forced++
    } else {
      count++
      pauseMs += g.durationMs
    }
    if (events.length < MAX_GC_EVENTS) {
      events.push({ kind: g.kind, offsetMs: round3(g.startMs - w.startMs), durationMs: round3(g.durationMs), heapUsedBefore: g.heapUsedBefore, heapUsedAfter: g.heapUsedAfter })
    }
  }
  return {
    peakHeapUsed: peak,
    allocatedBytes: Math.max(0, w.heapUsedAfter - w.heapUsedBefore + reclaimed),
    gc: { count, pauseMs: round3(pauseMs), forced, events }
  }
}

/** Round to 3 decimals (µs resolution for ms figures). */
export function round3 (n: number): number {
  return Math.round(n * 1000) / 1000
}
