import { bytes, ms, signedBytes } from '../format.ts'
import type { RecordSummary } from '../record/types.ts'
import type { Panel } from './panel.ts'

/** One row of the history table. */
export interface HistoryRow {
  id: string
  current: boolean
  method: string
  url: string
  route: string
  statusCode: number
  duration: string
  delta: string
  peak: string
  allocated: string
  startedAt: string
  overlapping: number
  precise: boolean
  /** The serving process. */
  pid: number
  hostname: string
}

/** What templates/history.eta renders (the panel, and the standalone history page). */
export interface HistoryContext {
  rows: HistoryRow[]
  /** Heap before each request, oldest first, as an SVG polyline across the history; undefined below two requests. */
  timeline: { width: number, height: number, points: string, minLabel: string, maxLabel: string } | undefined
  /** What `{prefix}/` is: the live page, or (false) the static history page. @default true */
  live?: boolean
}

/** Rows and timeline for a list of summaries (newest first). */
export function historyContext (history: readonly RecordSummary[], currentId: string | undefined): HistoryContext {
  const rows = history.map((s) => ({
    id: s.id,
    current: s.id === currentId,
    method: s.method,
    url: s.url,
    route: s.route,
    statusCode: s.statusCode,
    duration: ms(s.durationMs),
    delta: signedBytes(s.heapUsedDelta),
    peak: signedBytes(s.peakHeapUsed - s.heapUsedBefore),
    allocated: bytes(s.allocatedBytes),
    startedAt: new Date(s.startedAt).toISOString(),
    overlapping: s.overlapping,
    precise: s.precise,
    pid: s.pid,
    hostname: s.hostname
  }))
  return { rows, timeline: heapTimeline(history) }
}

const W = 560
const H = 60

function heapTimeline (history: readonly RecordSummary[]): HistoryContext['timeline'] {
  if (history.length < 2) return undefined
  const values = [...history].reverse().map((s) => s.heapUsedBefore + s.heapUsedDelta)
  // A bad reading (not a finite number) leaves a gap, not a broken line.
  const finite = values.filter((v) => Number.isFinite(v))
  if (finite.length < 2) return undefined
  const lo = Math.min(...finite)
  const hi = Math.max(...finite, lo + 1)
  const points = values.flatMap((v, i) => Number.isFinite(v) ? [`${Math.round((i / (values.length - 1)) * (W - 8)) + 4},${Math.round(H - 4 - ((v - lo) / (hi - lo)) * (H - 8))}`] : []).join(' ')
  return { width: W, height: H, points, minLabel: bytes(lo), maxLabel: bytes(hi) }
}

/** The History panel: recent requests, including the page's fetch/XHR calls. */
export const historyPanel: Panel<HistoryContext> = {
  id: 'history',
  title: 'History',
  navSubtitle: (r) => r.url.length > 24 ? `${r.url.slice(0, 23)}…` : r.url,
  context: (r, env) => ({ ...historyContext(env.history, r.id), live: env.live !== false })
}
