import assert from 'node:assert/strict'
import { test } from 'node:test'
import { bracketMean, median, medianPairedDifference, medianPairedRatio, pairedDifferences, spreadPercent } from '../bench/stats.ts'

test('the bench takes the middle value of an odd count and the mean of the middle two of an even count', () => {
  assert.equal(median([5, 1, 3]), 3)
  assert.equal(median([4, 1, 3, 2]), 2.5)
  assert.ok(Number.isNaN(median([])))
})

test('the bench pairs each round of a scenario with the same round of the off server', () => {
  const off = [10, 20, 30]
  const on = [13, 21, 40]
  assert.deepEqual(pairedDifferences(on, off), [3, 1, 10])
  assert.equal(medianPairedDifference(on, off), 3)
  // Not the difference of the medians (21 − 20 = 1): a slow round slows both sides of its pair.
  assert.notEqual(medianPairedDifference(on, off), median(on) - median(off))
  assert.equal(medianPairedRatio([50, 90, 60], [100, 100, 100]), 0.6)
})

test('the bench refuses to pair series of different lengths', () => {
  assert.throws(() => medianPairedDifference([1, 2], [1]), RangeError)
})

test('the round spread is the range over the median, in percent', () => {
  assert.equal(spreadPercent([90, 100, 110]), 20)
  assert.equal(spreadPercent([100, 100, 100]), 0)
})

test('an off run before and one after a scenario count equally', () => {
  assert.equal(bracketMean(100, 120), 110)
})
