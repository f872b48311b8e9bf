import assert from 'node:assert/strict'
import { test } from 'node:test'
import { foldBuiltins } from '../src/allocations/builtins.ts'
import type { ProfileNode } from '../src/allocations/types.ts'
import { fitLine, fitLineSegments, t975 } from '../src/leak/regression.ts'
import { resolveLeakOptions } from '../src/leak/options.ts'
import { summaryOf, verdictOf } from '../src/leak/verdict.ts'
import { isSteady } from '../src/leak/warmup.ts'

test('the slope of an exact line is its step, with a zero-width interval', () => {
  const xs = [0, 1, 2, 3, 4, 5]
  const fit = fitLine(xs, xs.map((x) => 1000 + 2048 * x))
  assert.equal(fit.slope, 2048)
  assert.equal(fit.intercept, 1000)
  assert.ok(Math.abs(fit.high - fit.low) < 1e-6)
})

test('the 95% interval of a noisy slope matches the textbook t-interval', () => {
  // y = 3x + noise; by hand: slope 2.9, se = sqrt(SSE/(n-2)/Sxx).
  const xs = [1, 2, 3, 4, 5]
  const ys = [3.5, 5.5, 9.5, 12, 14.5]
  const fit = fitLine(xs, ys)
  assert.equal(Math.round(fit.slope * 1000) / 1000, 2.85)
  const sse = ys.reduce((a, y, i) => a + (y - fit.intercept - fit.slope * (xs[i] as number)) ** 2, 0)
  const se = Math.sqrt(sse / 3 / 10)
  assert.ok(Math.abs(fit.high - fit.slope - 3.182 * se) < 0.01)
})

test('Student t quantiles agree with the table to three decimals', () => {
  assert.ok(Math.abs(t975(3) - 3.182) < 0.01)
  assert.ok(Math.abs(t975(10) - 2.228) < 0.002)
  assert.ok(Math.abs(t975(28) - 2.048) < 0.001)
  assert.ok(Math.abs(t975(498) - 1.965) < 0.001)
})

test('warm-up ends when three blocks grow the heap alike, not before', () => {
  assert.equal(isSteady([40_000, 3000, 2000]), false)
  assert.equal(isSteady([40_000, 3000, 2000, 1030, 1010, 1050]), true)
  assert.equal(isSteady([1_050_000, 1_049_000, 1_048_700]), true)
  assert.equal(isSteady([30, -60, 90]), true)
})

test('the verdict is a leak only when the low end of the interval clears the threshold', () => {
  assert.equal(verdictOf({ estimate: 1024, low: 990, high: 1050 }, 512), 'leak')
  assert.equal(verdictOf({ estimate: 300, low: 200, high: 400 }, 512), 'no-leak')
  assert.equal(summaryOf('leak', { estimate: 12_345, low: 11_800, high: 12_900 }, 30, 40), 'leaks about 12.3 kB a call (11.8 kB–12.9 kB, 95%; 30 calls after 40 warm-up)')
  assert.equal(summaryOf('no-leak', { estimate: 20, low: -300, high: 412 }, 30, 40), 'no leak found: at most 412 B a call (95%; 30 calls after 40 warm-up)')
})

test('leak test options out of range are refused with a coded error naming the option', () => {
  assert.throws(() => resolveLeakOptions({ calls: 4 }), { code: 'FST_DEBUG_TOOLBAR_INVALID_OPTION', message: /"calls".*5 to 500/ })
  assert.throws(() => resolveLeakOptions({ calls: 501 }), { code: 'FST_DEBUG_TOOLBAR_INVALID_OPTION' })
  assert.throws(() => resolveLeakOptions({ snapshots: 'yes' as unknown as boolean }), { code: 'FST_DEBUG_TOOLBAR_INVALID_OPTION', message: /"snapshots"/ })
  assert.equal(resolveLeakOptions().calls, 30)
  assert.equal(resolveLeakOptions().maxSnapshotHeapBytes, 2 ** 30)
})

function node (id: number, functionName: string, url: string, selfBytes: number, children: ProfileNode[] = []): ProfileNode {
  return { id, frame: { functionName, url, line: url === '' ? 0 : 10, column: 1 }, selfBytes, selfSamples: selfBytes > 0 ? 1 : 0, children }
}

test('builtins count toward the JavaScript function that called them, and stand apart under a synthetic root', () => {
  const tree = node(1, '(root)', '', 0, [
    node(2, 'parseLines', 'file:///app/report.js', 100, [
      node(3, 'split', '', 4000, [node(4, 'push', '', 50)]),
      node(5, 'JSON.parse', '', 700)
    ]),
    node(6, 'next', '', 30)
  ])
  const folded = foldBuiltins(tree)
  const parse = folded.children[0] as ProfileNode
  assert.equal(parse.frame.functionName, 'parseLines')
  assert.equal(parse.selfBytes, 4850)
  assert.equal(parse.children.length, 0)
  assert.equal((folded.children[1] as ProfileNode).frame.functionName, 'next')
  assert.equal((tree.children[0] as ProfileNode).selfBytes, 100, 'the input is not changed')
})

test('a one-off step between segments is left out of their common slope', () => {
  const xs = Array.from({ length: 12 }, (_, i) => i)
  // 1000 B a call, a 6 kB step at call 5 (code compiled), ±8 B of alternating noise.
  const ys = xs.map((x) => 50_000 + 1000 * x + (x >= 5 ? 6000 : 0) + (x % 2 === 0 ? 8 : -8))
  const plain = fitLine(xs, ys)
  assert.ok(plain.slope > 1300, `the step biases a single line: ${plain.slope}`)
  const fit = fitLineSegments(xs, ys, [5])
  assert.ok(Math.abs(fit.slope - 1000) < 5, String(fit.slope))
  assert.ok(fit.low <= 1000 && fit.high >= 1000, `${fit.low}–${fit.high}`)
  assert.equal(fit.points, 12)
})

test('with no segment start a segmented fit is the plain fit', () => {
  const xs = [0, 1, 2, 3, 4, 5]
  const ys = [3, 5, 4, 8, 9, 12]
  assert.deepEqual(fitLineSegments(xs, ys, []), fitLine(xs, ys))
  assert.deepEqual(fitLineSegments(xs, ys, [1, 2, 3, 4, 5]), fitLine(xs, ys))
})
