/**
 * The end of warm-up, found in the readings: a route's first calls grow the heap while code is
 * compiled and caches fill, so calls are made in blocks and warm-up ends once the per-call growth of
 * the last few blocks agrees. Pure.
 */

/** How warm-up is judged. */
export interface WarmupRule {
  /** Blocks whose per-call growth must agree. @default 3 */
  steadyBlocks: number
  /** Relative tolerance around their mean. @default 0.05 */
  relativeTolerance: number
  /** Absolute tolerance around their mean, bytes per call. @default 128 */
  absoluteToleranceBytes: number
}

/** The default rule: three blocks within 5% or 128 B a call of their mean. */
export const DEFAULT_WARMUP_RULE: WarmupRule = { steadyBlocks: 3, relativeTolerance: 0.05, absoluteToleranceBytes: 128 }

/** Whether the last `steadyBlocks` per-call growths (bytes a call, one per block) agree. */
export function isSteady (blockRates: readonly number[], rule: WarmupRule = DEFAULT_WARMUP_RULE): boolean {
  const n = blockRates.length
  if (n < rule.steadyBlocks) return false
  const last = blockRates.slice(n - rule.steadyBlocks)
  const mean = last.reduce((a, b) => a + b, 0) / last.length
  const tolerance = Math.max(rule.relativeTolerance * Math.abs(mean), rule.absoluteToleranceBytes)
  return last.every((r) => Math.abs(r - mean) <= tolerance)
}
