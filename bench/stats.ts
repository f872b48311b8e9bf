/** The bench's arithmetic: medians, paired differences and ratios, round spread. Pure functions. */

/** The median of `xs` (the mean of the middle two for an even count); NaN for none. */
export function median (xs: readonly number[]): number {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2
}

/**
 * The median over rounds of on − off, each round's "on" against the same round's "off". Runs of one
 * round are close in time, so drift over the whole run (another process, a bigger heap's GCs)
 * cancels out better than in the difference of the two medians.
 */
export function medianPairedDifference (on: readonly number[], off: readonly number[]): number {
  return median(pairs(on, off).map(([a, b]) => a - b))
}

/** The median over rounds of on / off, paired as in medianPairedDifference. */
export function medianPairedRatio (on: readonly number[], off: readonly number[]): number {
  return median(pairs(on, off).map(([a, b]) => a / b))
}

/** Each round's on − off, in round order. */
export function pairedDifferences (on: readonly number[], off: readonly number[]): number[] {
  return pairs(on, off).map(([a, b]) => a - b)
}

function pairs (on: readonly number[], off: readonly number[]): Array<[number, number]> {
  if (on.length !== off.length) throw new RangeError(`paired series differ in length: ${on.length} and ${off.length}`)
  return on.map((a, i) => [a, off[i] ?? NaN])
}

/** (max − min) / median of `xs`, as a percentage: how much the rounds of one row disagree. */
export function spreadPercent (xs: readonly number[]): number {
  if (xs.length === 0) return NaN
  return ((Math.max(...xs) - Math.min(...xs)) / median(xs)) * 100
}

/** The mean of two measurements that bracket another in time (the "off" runs before and after it). */
export function bracketMean (before: number, after: number): number {
  return (before + after) / 2
}
