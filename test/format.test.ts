// The hot-path byte formatter must print exactly what pretty-bytes prints.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import prettyBytes from 'pretty-bytes'
import { quickBytes, signedBytes } from '../src/format.ts'

test('quickBytes prints what pretty-bytes prints for whole byte counts, boundaries and ties included', () => {
  const values: number[] = [0, 1, 9, 10, 99, 100, 999, 1000, 1001, 1005, 1805, 1999, 9994, 9995, 9999, 99_949, 99_950, 999_499, 999_500, 999_999, 1e6, 999_999_999_999_999, 1e15, 2 ** 53 - 1, 1e20, 1e21 - 65536]
  for (let e = 0; e <= 20; e++) {
    const p = 10 ** e
    for (const k of [1, 1.005, 1.0049, 1.0051, 1.5, 9.995, 9.9949, 9.9951, 99.95, 99.949, 999.5, 999.49]) values.push(Math.round(k * p))
  }
  // And a seeded log-uniform sweep.
  let seed = 42
  const random = (): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 }
  for (let i = 0; i < 100_000; i++) values.push(Math.floor(10 ** (random() * 18)))
  for (const v of values) assert.equal(quickBytes(v), prettyBytes(v), `${v}`)
  assert.equal(quickBytes(0.5), prettyBytes(0.5), 'not whole: pretty-bytes itself')
})

test('signedBytes puts the sign before pretty-bytes\' figure', () => {
  assert.equal(signedBytes(0), '0 B')
  assert.equal(signedBytes(2_345_678), '+2.35 MB')
  assert.equal(signedBytes(-512_000), '-512 kB')
})
