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
  /** The allocation sampler's share of the overhead, when this request was sampled. */
  sampling?: { sampler: 'native' | 'inspector', overheadMs: number }
}

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB']

/**
 * Bytes in SI units with one decimal ('13.6kB'), for the header only: it runs on every response,
 * where pretty-bytes (about 0.25 µs a call) and longer headers (validated and written byte by byte)
 * cost a measurable share of a hello-world request. Panels use pretty-bytes.
 */
export function compactBytes (n: number): string {
  if (!Number.isFinite(n)) return 'n/a'
  let v = Math.abs(n)
  let u = 0
  while (v >= 1000 && u < UNITS.length - 1) { v /= 1000; u++ }
  // Integer arithmetic rather than toFixed: small integers print from V8's number-string cache.
  let text: string
  if (u === 0) {
    text = String(v)
  } else if (v >= 100) {
    text = String(Math.round(v))
  } else {
    const tenths = Math.round(v * 10)
    text = tenths >= 1000 ? String(tenths / 10) : `${Math.floor(tenths / 10)}.${tenths % 10}`
  }
  return (n < 0 ? '-' : '') + text + (UNITS[u] as string)
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
  const main = `memory-profiling;dur=${fixedMs(f.overheadMs)}, memory;desc="heap ${signed(f.heapUsedDelta)}, peak ${signed(f.peakDelta)}, alloc ${compactBytes(f.allocatedBytes)}, ext ${signed(f.externalDelta)}, gc ${f.gcCount}${f.precise ? ', precise' : ''}"`
  if (f.sampling === undefined) return main
  // Part of memory-profiling's dur; the inspector sampler's includes the full GC it forces.
  return `${main}, memory-sampling;dur=${fixedMs(f.sampling.overheadMs)};desc="${f.sampling.sampler === 'inspector' ? 'inspector, forced full GC' : 'native'}"`
}

/** Append our entries to whatever Server-Timing the app already set. */
export function appendServerTiming (existing: unknown, ours: string): string {
  if (existing === undefined || existing === null || existing === '') return ours
  if (Array.isArray(existing)) return [...existing.map(String), ours].join(', ')
  return `${String(existing)}, ${ours}`
}
