/**
 * A leak test's verdict and its one-line summary, from the fitted slope. Pure.
 */
import { quickBytes } from '../format.ts'

/** What a leak test concludes. */
export type LeakVerdict = 'leak' | 'no-leak'

/** Retained bytes per call: the slope and its 95% interval. */
export interface RetainedPerCall {
  estimate: number
  low: number
  high: number
}

/** A run leaks when even the low end of the 95% interval is above the threshold (bytes a call). */
export function verdictOf (r: RetainedPerCall, thresholdBytes: number): LeakVerdict {
  return r.low > thresholdBytes ? 'leak' : 'no-leak'
}

/** Bytes with one decimal in kB and above: '12.3 kB', '512 B', '-40 B'. */
export function perCallBytes (n: number): string {
  const rounded = Math.round(n)
  return rounded < 0 ? `-${quickBytes(-rounded)}` : quickBytes(rounded)
}

/** One line for people and assertion messages. */
export function summaryOf (verdict: LeakVerdict, r: RetainedPerCall, calls: number, warmupCalls: number): string {
  const runs = `${calls} calls after ${warmupCalls} warm-up`
  if (verdict === 'leak') {
    return `leaks about ${perCallBytes(r.estimate)} a call (${perCallBytes(r.low)}–${perCallBytes(r.high)}, 95%; ${runs})`
  }
  return `no leak found: at most ${perCallBytes(Math.max(0, r.high))} a call (95%; ${runs})`
}
