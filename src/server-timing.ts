import { compactBytes } from './format.ts'
import { ID_TIMING_ENTRY } from './protocol.ts'

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
  /** Precise mode was asked for and refused (e.g. over `preciseMaxPerSecond`). */
  preciseRefused?: boolean
  /** The allocation sampler's share of the overhead, when this request was sampled. */
  sampling?: { sampler: 'native' | 'inspector', overheadMs: number }
}

/** Milliseconds with three decimals (µs), as toFixed(3) would print them. */
export function fixedMs (ms: number): string {
  const us = Math.round(Math.max(0, ms) * 1000)
  const frac = us % 1000
  return `${Math.floor(us / 1000)}.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}`
}

function signed (n: number): string {
  return n > 0 ? '+' + compactBytes(n) : compactBytes(n)
}

/**
 * The toolbar's Server-Timing entries: `memory-profiling` with the plugin's own time as `dur`, and
 * `memory` whose `desc` summarises the request. Figures are those known when headers are sent; GCs
 * reported later complete the stored record.
 */
export function serverTimingValue (f: TimingFigures): string {
  const main = `memory-profiling;dur=${fixedMs(f.overheadMs)}, memory;desc="heap ${signed(f.heapUsedDelta)}, peak ${signed(f.peakDelta)}, alloc ${compactBytes(f.allocatedBytes)}, ext ${signed(f.externalDelta)}, gc ${f.gcCount}${f.precise ? ', precise' : f.preciseRefused === true ? ', precise refused' : ''}"`
  if (f.sampling === undefined) return main
  // Part of memory-profiling's dur; the inspector sampler's includes the full GC it forces.
  return `${main}, memory-sampling;dur=${fixedMs(f.sampling.overheadMs)};desc="${f.sampling.sampler === 'inspector' ? 'inspector, forced full GC' : 'native'}"`
}

/** The entry naming an HTML page's record, for the injected toolbar; ids are hex, so nothing to quote. */
export function idTimingEntry (id: string): string {
  return `${ID_TIMING_ENTRY};desc="${id}"`
}

/** Append our entries to whatever Server-Timing the app already set. */
export function appendServerTiming (existing: unknown, ours: string): string {
  if (existing === undefined || existing === null || existing === '') return ours
  if (Array.isArray(existing)) return [...existing.map(String), ours].join(', ')
  return `${String(existing)}, ${ours}`
}
