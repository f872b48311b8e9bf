/**
 * Readings of the JS heap over a span, gathered from what the toolbar already has (each stored
 * request's heap at its start and end, each GC's heap before and after, the live sampler's readings
 * when it ran) and thinned to a few points for the toolbar handle's sparkline. Pure: no clock, no I/O.
 */
import type { RecordSummary } from './types.ts'

/** A GC on the epoch clock (ms), with the JS heap used before and after it in bytes. */
export interface HeapGc { t: number, durationMs: number, heapUsedBefore: number, heapUsedAfter: number }

/** Where readings come from; each part may be empty. */
export interface HeapSources {
  /** Stored requests (any order). */
  requests: ReadonlyArray<Pick<RecordSummary, 'startedAt' | 'durationMs' | 'heapUsedBefore' | 'heapUsedDelta'>>
  gcs: readonly HeapGc[]
  /** Sampler readings as columns: `t[i]` goes with `heapUsedBytes[i]`. */
  samples: { t: readonly number[], heapUsedBytes: readonly number[] }
  /** One reading taken when answering, at `toMs`. */
  nowBytes?: number
}

/** The thinned line: `t[i]` (epoch ms) goes with `heapUsedBytes[i]`, oldest first. */
export interface HeapLine {
  fromMs: number
  toMs: number
  t: number[]
  heapUsedBytes: number[]
  /** Readings found in the span, before thinning, by source. */
  readings: { requests: number, gcs: number, samples: number }
}

/** Most points the line has by default: one a second over a minute. */
export const MAX_LINE_POINTS = 60

/**
 * The heap in [fromMs, toMs] as at most `maxPoints` points. The newest reading ends the line; before it the
 * span is cut into `maxPoints - 1` equal slices, each keeping the reading furthest from the point kept
 * before it, so a spike or a GC's drop inside a slice survives the thinning.
 */
export function heapLine (sources: HeapSources, fromMs: number, toMs: number, maxPoints = MAX_LINE_POINTS): HeapLine {
  const points: Array<[number, number]> = []
  const readings = { requests: 0, gcs: 0, samples: 0 }
  const add = (t: number, v: number): boolean => {
    if (!(t >= fromMs && t <= toMs) || !Number.isFinite(v) || v < 0) return false
    points.push([t, v])
    return true
  }
  for (const r of sources.requests) {
    if (add(r.startedAt, r.heapUsedBefore)) readings.requests++
    if (add(r.startedAt + r.durationMs, r.heapUsedBefore + r.heapUsedDelta)) readings.requests++
  }
  for (const g of sources.gcs) {
    if (add(g.t, g.heapUsedBefore)) readings.gcs++
    if (add(g.t + g.durationMs, g.heapUsedAfter)) readings.gcs++
  }
  const { t, heapUsedBytes } = sources.samples
  for (let i = 0; i < t.length; i++) {
    if (add(t[i] as number, heapUsedBytes[i] as number)) readings.samples++
  }
  if (sources.nowBytes !== undefined) add(toMs, sources.nowBytes)
  points.sort((a, b) => a[0] - b[0])

  const out: HeapLine = { fromMs, toMs, t: [], heapUsedBytes: [], readings }
  const newest = points.pop()
  if (newest === undefined) return out
  // The newest reading always ends the line; the others share the remaining points.
  const slices = Math.max(1, Math.floor(maxPoints) - 1)
  const sliceMs = (toMs - fromMs) / slices
  let i = 0
  let last: number | undefined
  for (let s = 0; s < slices && i < points.length; s++) {
    const end = s === slices - 1 ? Infinity : fromMs + (s + 1) * sliceMs
    let pick: [number, number] | undefined
    for (; i < points.length && (points[i] as [number, number])[0] < end; i++) {
      const p = points[i] as [number, number]
      // The first slice, with nothing kept before it, keeps its first reading.
      if (pick === undefined || (last !== undefined && Math.abs(p[1] - last) > Math.abs(pick[1] - last))) pick = p
    }
    if (pick === undefined) continue
    out.t.push(pick[0])
    out.heapUsedBytes.push(pick[1])
    last = pick[1]
  }
  if (maxPoints > 1 || out.t.length === 0) {
    out.t.push(newest[0])
    out.heapUsedBytes.push(newest[1])
  }
  return out
}
