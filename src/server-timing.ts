import { signedBytes, bytes } from './format.ts'

/** The figures the header carries; sizes in bytes, times in ms. */
export interface TimingFigures {
  overheadMs: number
  heapUsedDelta: number
  /** Peak minus the heap at the start. */
  peakDelta: number
  allocatedBytes: number
  externalDelta: number
  gcCount: number
  precise: boolean
}

/**
 * The toolbar's Server-Timing entries: `memory-profiling` with the plugin's own time as `dur`, and
 * `memory` whose `desc` summarises the request. Figures are those known when headers are sent; GCs
 * reported later complete the stored record.
 */
export function serverTimingValue (f: TimingFigures): string {
  const desc = `heap ${signedBytes(f.heapUsedDelta)}, peak ${signedBytes(f.peakDelta)}, alloc ${bytes(f.allocatedBytes)}, ext ${signedBytes(f.externalDelta)}, gc ${f.gcCount}${f.precise ? ', precise' : ''}`
  return `memory-profiling;dur=${f.overheadMs.toFixed(3)};desc="debug toolbar overhead", memory;desc="${desc}"`
}

/** Append our entries to whatever Server-Timing the app already set. */
export function appendServerTiming (existing: unknown, ours: string): string {
  if (existing === undefined || existing === null || existing === '') return ours
  if (Array.isArray(existing)) return [...existing.map(String), ours].join(', ')
  return `${String(existing)}, ${ours}`
}
