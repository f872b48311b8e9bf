import prettyBytes from 'pretty-bytes'

/** Bytes for people: '12.3 MB'. */
export function bytes (n: number): string {
  return prettyBytes(n)
}

/** Signed bytes for people: '+2.3 MB', '-512 kB', '0 B'. */
export function signedBytes (n: number): string {
  if (n === 0) return '0 B'
  return (n > 0 ? '+' : '-') + prettyBytes(Math.abs(n))
}

/** Milliseconds for people: '0.012 ms', '3.4 ms', '1.25 s'. */
export function ms (n: number): string {
  if (n >= 1000) return `${(n / 1000).toFixed(2)} s`
  if (n >= 10) return `${n.toFixed(1)} ms`
  if (n >= 1) return `${n.toFixed(2)} ms`
  return `${n.toFixed(3)} ms`
}
