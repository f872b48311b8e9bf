import prettyBytes from 'pretty-bytes'

/** What a figure that is not a finite number (a bad reading) is shown as. */
export const NOT_A_FIGURE = 'n/a'

/** True for a finite number; formatting shows anything else as NOT_A_FIGURE and never throws. */
function isFigure (n: unknown): n is number {
  return typeof n === 'number' && Number.isFinite(n)
}

/** Bytes for people: '12.3 MB'. */
export function bytes (n: number): string {
  return isFigure(n) ? prettyBytes(n) : NOT_A_FIGURE
}

/** Signed bytes for people: '+2.3 MB', '-512 kB', '0 B'. */
export function signedBytes (n: number): string {
  if (n === 0) return '0 B'
  if (!isFigure(n)) return NOT_A_FIGURE
  return (n > 0 ? '+' : '-') + quickBytes(Math.abs(n))
}

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB']

/**
 * prettyBytes(n) with its default options, for whole byte counts: the same steps without its option
 * handling, which cost about 1 µs a call on the hot path (every injected page's subtitle).
 * test/format.test.ts checks it prints exactly what pretty-bytes prints.
 */
export function quickBytes (n: number): string {
  if (!(Number.isInteger(n) && n >= 0 && n < 1e21)) return bytes(n)
  let exponent = n >= 1 ? Math.min(Math.floor(Math.log10(n) / 3), UNITS.length - 1) : 0
  let v = n / 1000 ** exponent
  if (v < 1 && exponent > 0) {
    v *= 1000
    exponent--
  }
  v = Number(v.toPrecision(Math.max(3, String(Math.floor(v)).length)))
  if (v >= 1000 && exponent < UNITS.length - 1) {
    v /= 1000
    exponent++
  }
  return `${v} ${UNITS[exponent] as string}`
}

/**
 * Bytes in SI units with one decimal ('13.6kB'), for the header only: it runs on every response,
 * where pretty-bytes (about 0.25 µs a call) and longer headers (validated and written byte by byte)
 * cost a measurable share of a hello-world request. Panels use pretty-bytes.
 */
export function compactBytes (n: number): string {
  if (!Number.isFinite(n)) return 'n/a'
  let v = Math.abs(n)
  let u = 0
  while (v >= 1000 && u < 4 /* TB */) { v /= 1000; u++ }
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

/** Milliseconds for people: '0.012 ms', '3.4 ms', '1.25 s'. */
export function ms (n: number): string {
  if (!isFigure(n)) return NOT_A_FIGURE
  if (n >= 1000) return `${(n / 1000).toFixed(2)} s`
  if (n >= 10) return `${n.toFixed(1)} ms`
  if (n >= 1) return `${n.toFixed(2)} ms`
  return `${n.toFixed(3)} ms`
}
