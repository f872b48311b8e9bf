/**
 * The Routes view of the history page: every route seen in the stored requests, with its request
 * count, median and p95 duration, median heap delta and allocated bytes, how many were sampled, and
 * its last leak test. Pure: summaries and tests in, rows out.
 */
import { bytes, ms, signedBytes } from '../format.ts'
import type { LeakTestEntry } from '../leak-test-store.ts'
import type { RecordSummary } from '../record/types.ts'

/** One row of the Routes view. */
export interface RouteRow {
  method: string
  /** The route pattern, or the URL path when no route matched. */
  route: string
  matched: boolean
  requests: number
  medianDuration: string
  p95Duration: string
  medianHeapDelta: string
  medianAllocated: string
  sampled: number
  /** The newest request's URL, which a leak test started here repeats. */
  exampleUrl: string
  /** The page repeats GET routes only from here (in process, with no cookies). */
  testable: boolean
  lastTest?: { verdict: string, summary: string, href: string }
}

/** Rows, most requested first; `latest` holds the newest finished test per `METHOD route`. */
export function routeRows (history: readonly RecordSummary[], sampled: ReadonlyMap<string, number>, latest: ReadonlyMap<string, LeakTestEntry>, prefix: string): RouteRow[] {
  const groups = new Map<string, RecordSummary[]>()
  for (const s of history) {
    const key = `${s.method} ${s.route === '' ? s.url.split('?')[0] : s.route}`
    const list = groups.get(key)
    if (list === undefined) groups.set(key, [s])
    else list.push(s)
  }
  const rows: RouteRow[] = []
  for (const [key, list] of groups) {
    const first = list[0] as RecordSummary
    const route = key.slice(first.method.length + 1)
    const test = latest.get(key)
    const report = test?.report
    rows.push({
      method: first.method,
      route,
      matched: first.route !== '',
      requests: list.length,
      medianDuration: ms(quantile(list.map((s) => s.durationMs), 0.5)),
      p95Duration: ms(quantile(list.map((s) => s.durationMs), 0.95)),
      medianHeapDelta: signedBytes(quantile(list.map((s) => s.heapUsedDelta), 0.5)),
      medianAllocated: bytes(quantile(list.map((s) => s.allocatedBytes), 0.5)),
      sampled: list.filter((s) => sampled.has(s.id)).length,
      exampleUrl: first.url,
      testable: first.method === 'GET' && first.route !== '',
      ...(test === undefined || report === undefined ? {} : { lastTest: { verdict: report.verdict, summary: report.summary, href: `${prefix}/leak-tests/${test.id}` } })
    })
  }
  return rows.sort((a, b) => b.requests - a.requests || a.route.localeCompare(b.route))
}

/** The q-quantile (0 to 1) by the nearest-rank method; NaN for no values, finite values only. */
export function quantile (values: readonly number[], q: number): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (v.length === 0) return Number.NaN
  return v[Math.min(v.length - 1, Math.max(0, Math.ceil(q * v.length) - 1))] as number
}
