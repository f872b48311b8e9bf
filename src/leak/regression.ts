/**
 * Least-squares line through (x, y) points with a 95% confidence interval on its slope. Pure.
 */

/** A fitted line `y = intercept + slope·x`, with the slope's 95% interval (Student's t, n − 2 degrees of freedom). */
export interface LineFit {
  slope: number
  intercept: number
  /** 95% confidence interval of the slope; equal to the slope when there are too few points to tell. */
  low: number
  high: number
  /** Standard error of the slope (0 with fewer than three points). */
  standardError: number
  /** Residual standard deviation, in y's units. */
  residualSd: number
  points: number
}

/** The two-sided 95% quantile of Student's t with `df` degrees of freedom (Cornish–Fisher expansion, exact to about 1e-3 from df = 3). */
export function t975 (df: number): number {
  if (df <= 0) return Infinity
  if (df === 1) return 12.706
  if (df === 2) return 4.303
  const z = 1.959963984540054
  const z2 = z * z
  const g1 = (z2 * z + z) / 4
  const g2 = (5 * z2 * z2 * z + 16 * z2 * z + 3 * z) / 96
  const g3 = (3 * z2 * z2 * z2 * z + 19 * z2 * z2 * z + 17 * z2 * z - 15 * z) / 384
  const g4 = (79 * z2 * z2 * z2 * z2 * z + 776 * z2 * z2 * z2 * z + 1482 * z2 * z2 * z - 1920 * z2 * z - 945 * z) / 92160
  return z + g1 / df + g2 / df ** 2 + g3 / df ** 3 + g4 / df ** 4
}

/** Ordinary least squares of `ys` against `xs` (same length, at least two points with distinct x). */
export function fitLine (xs: ArrayLike<number>, ys: ArrayLike<number>): LineFit {
  const n = Math.min(xs.length, ys.length)
  if (n < 2) throw new RangeError('a line needs at least two points')
  let mx = 0
  let my = 0
  for (let i = 0; i < n; i++) {
    mx += xs[i] as number
    my += ys[i] as number
  }
  mx /= n
  my /= n
  let sxx = 0
  let sxy = 0
  for (let i = 0; i < n; i++) {
    const dx = (xs[i] as number) - mx
    sxx += dx * dx
    sxy += dx * ((ys[i] as number) - my)
  }
  if (sxx === 0) throw new RangeError('a line needs points with distinct x')
  const slope = sxy / sxx
  const intercept = my - slope * mx
  let sse = 0
  for (let i = 0; i < n; i++) {
    const r = (ys[i] as number) - intercept - slope * (xs[i] as number)
    sse += r * r
  }
  if (n < 3) return { slope, intercept, low: slope, high: slope, standardError: 0, residualSd: 0, points: n }
  const residualSd = Math.sqrt(sse / (n - 2))
  const standardError = residualSd / Math.sqrt(sxx)
  const half = t975(n - 2) * standardError
  return { slope, intercept, low: slope - half, high: slope + half, standardError, residualSd, points: n }
}

/**
 * Least squares with one slope shared by consecutive segments, each with its own intercept: a
 * level shift at every segment start is left out of the slope. `segmentStarts` are indexes into the
 * points (0 is implied). The intercept returned is that of the line through the mean point.
 * Falls back to fitLine when no segment has two points.
 */
export function fitLineSegments (xs: ArrayLike<number>, ys: ArrayLike<number>, segmentStarts: readonly number[]): LineFit {
  const n = Math.min(xs.length, ys.length)
  const bounds = [0, ...segmentStarts.filter((s) => s > 0 && s < n), n]
  let sxx = 0
  let sxy = 0
  let segments = 0
  const means: Array<{ from: number, to: number, mx: number, my: number }> = []
  for (let b = 0; b + 1 < bounds.length; b++) {
    const from = bounds[b] as number
    const to = bounds[b + 1] as number
    if (to <= from) continue
    segments++
    let mx = 0
    let my = 0
    for (let i = from; i < to; i++) {
      mx += xs[i] as number
      my += ys[i] as number
    }
    mx /= to - from
    my /= to - from
    for (let i = from; i < to; i++) {
      const dx = (xs[i] as number) - mx
      sxx += dx * dx
      sxy += dx * ((ys[i] as number) - my)
    }
    means.push({ from, to, mx, my })
  }
  if (segments <= 1 || sxx === 0) return fitLine(xs, ys)
  const slope = sxy / sxx
  let sse = 0
  let mxAll = 0
  let myAll = 0
  for (const m of means) {
    for (let i = m.from; i < m.to; i++) {
      const r = (ys[i] as number) - m.my - slope * ((xs[i] as number) - m.mx)
      sse += r * r
      mxAll += xs[i] as number
      myAll += ys[i] as number
    }
  }
  const intercept = myAll / n - slope * (mxAll / n)
  const df = n - segments - 1
  if (df < 1) return { slope, intercept, low: slope, high: slope, standardError: 0, residualSd: 0, points: n }
  const residualSd = Math.sqrt(sse / df)
  const standardError = residualSd / Math.sqrt(sxx)
  const half = t975(df) * standardError
  return { slope, intercept, low: slope - half, high: slope + half, standardError, residualSd, points: n }
}
