import { FST_DEBUG_TOOLBAR_BAD_QUERY } from '../errors.ts'
import type { RecordSummary } from './types.ts'

/**
 * The live page's query: a time window and request filters, parsed from a query string. The page
 * and `/api/process` take the same parameters; a bad value is a coded 400 naming the parameter.
 */

/** The chart's windows, in ms. */
export const WINDOWS = { '1m': 60_000, '5m': 300_000, '15m': 900_000 } as const
/** A window's name. */
export type WindowName = keyof typeof WINDOWS
/** The window when none is asked for. */
export const DEFAULT_WINDOW: WindowName = '5m'
const MAX_ROUTE_LENGTH = 200

/** Request filters; an absent field filters nothing. */
export interface RequestFilter {
  /** Part of the route pattern or of the URL. */
  route?: string
  /** Upper case, e.g. 'GET'. */
  method?: string
  /** A status code ('404') or a class ('5xx'). */
  status?: string
  /** Smallest heap delta shown, in bytes (may be negative). */
  minHeapDeltaBytes?: number
  /** Shortest duration shown, in ms. */
  minDurationMs?: number
  /** Only requests served by the process with this id (with a shared store, records come from several). */
  pid?: number
}

/** A parsed live query. */
export interface LiveQuery { window: WindowName, filter: RequestFilter }

/** The raw query string object as Fastify parses it. */
export type LiveQuerystring = Record<string, string | string[] | undefined>

function one (q: LiveQuerystring, name: string): string | undefined {
  const v = q[name]
  if (Array.isArray(v)) throw new FST_DEBUG_TOOLBAR_BAD_QUERY(name, 'given more than once')
  return v === '' ? undefined : v
}

function number (q: LiveQuerystring, name: string, integer: boolean, min: number): number | undefined {
  const v = one(q, name)
  if (v === undefined) return undefined
  const n = /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : NaN
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || Math.abs(n) > 2 ** 50) {
    throw new FST_DEBUG_TOOLBAR_BAD_QUERY(name, `expected ${integer ? 'an integer' : 'a number'}${min > -Infinity ? ` of at least ${min}` : ''}, got ${JSON.stringify(v.slice(0, 40))}`)
  }
  return n
}

/** Parse `window`, `route`, `method`, `status`, `minHeapDeltaBytes`, `minDurationMs` and `pid`; other parameters are ignored. */
export function parseLiveQuery (q: LiveQuerystring | undefined): LiveQuery {
  const query = q ?? {}
  const w = one(query, 'window') ?? DEFAULT_WINDOW
  if (!Object.hasOwn(WINDOWS, w)) throw new FST_DEBUG_TOOLBAR_BAD_QUERY('window', `expected one of ${Object.keys(WINDOWS).join(', ')}, got ${JSON.stringify(w.slice(0, 40))}`)
  const filter: RequestFilter = {}
  const route = one(query, 'route')
  if (route !== undefined) {
    if (route.length > MAX_ROUTE_LENGTH) throw new FST_DEBUG_TOOLBAR_BAD_QUERY('route', `longer than ${MAX_ROUTE_LENGTH} characters`)
    filter.route = route
  }
  const method = one(query, 'method')
  if (method !== undefined) {
    if (!/^[A-Za-z]{1,16}$/.test(method)) throw new FST_DEBUG_TOOLBAR_BAD_QUERY('method', `expected an HTTP method such as GET, got ${JSON.stringify(method.slice(0, 40))}`)
    filter.method = method.toUpperCase()
  }
  const status = one(query, 'status')
  if (status !== undefined) {
    if (!/^[1-5](\d\d|xx)$/i.test(status)) throw new FST_DEBUG_TOOLBAR_BAD_QUERY('status', `expected a status code (404) or a class (5xx), got ${JSON.stringify(status.slice(0, 40))}`)
    filter.status = status.toLowerCase()
  }
  const minHeapDeltaBytes = number(query, 'minHeapDeltaBytes', true, -Infinity)
  if (minHeapDeltaBytes !== undefined) filter.minHeapDeltaBytes = minHeapDeltaBytes
  const minDurationMs = number(query, 'minDurationMs', false, 0)
  if (minDurationMs !== undefined) filter.minDurationMs = minDurationMs
  const pid = number(query, 'pid', true, 0)
  if (pid !== undefined) filter.pid = pid
  return { window: w as WindowName, filter }
}

/** True when a request passes every filter. */
export function matchesFilter (s: RecordSummary, f: RequestFilter): boolean {
  if (f.route !== undefined && !s.route.includes(f.route) && !s.url.includes(f.route)) return false
  if (f.method !== undefined && s.method !== f.method) return false
  if (f.status !== undefined) {
    const code = String(s.statusCode)
    if (f.status.endsWith('xx') ? code[0] !== f.status[0] : code !== f.status) return false
  }
  if (f.minHeapDeltaBytes !== undefined && s.heapUsedDelta < f.minHeapDeltaBytes) return false
  if (f.minDurationMs !== undefined && s.durationMs < f.minDurationMs) return false
  if (f.pid !== undefined && s.pid !== f.pid) return false
  return true
}
