import assert from 'node:assert/strict'
import { test } from 'node:test'
import Fastify, { type FastifyInstance } from 'fastify'
import { measureLeak } from '../src/testing.ts'

const KIB = 1024

/** Holds what the leaking routes keep; preallocated so that its own growth is not in the figures. */
const held: unknown[] = new Array(4000)
let next = 0

/** An array of doubles whose JS heap footprint is exactly `bytes`: a 32-byte JSArray and a 16-byte-header FixedDoubleArray. */
function exactBytes (bytes: number): number[] {
  return new Array<number>((bytes - 48) / 8).fill(0.5)
}

class Invoice {
  readonly n: number
  constructor (n: number) { this.n = n }
}
class InvoiceLedger {
  readonly entries = new Map<number, Invoice>()
}
const ledger = new InvoiceLedger()
let firstCallCache: string[] | undefined

function app (): FastifyInstance {
  const a = Fastify()
  a.get('/keep/:bytes', async function keepExactBytes (request) {
    held[next++] = exactBytes(Number((request.params as { bytes: string }).bytes))
    return { ok: true }
  })
  a.get('/nothing', async () => ({ ok: true }))
  a.get('/churn', async () => {
    let total = 0
    for (let i = 0; i < 100; i++) total += new Array(4000).fill(i).length
    return { total }
  })
  a.get('/first-call-cache', async () => {
    firstCallCache ??= Array.from({ length: 2000 }, (_, i) => `entry ${i}`)
    return { size: firstCallCache.length }
  })
  a.get('/invoice', async function keepInvoice () {
    const n = next++
    ledger.entries.set(n, new Invoice(n))
    return { ok: true }
  })
  return a
}

for (const k of [KIB, 64 * KIB, 1024 * KIB]) {
  test(`a route keeping exactly ${k / KIB} KiB a call reads within 5% of it, its interval holding it, its function the top site`, async () => {
    const a = app()
    const report = await measureLeak(a, { method: 'GET', url: `/keep/${k}` }, { snapshots: false })
    await a.close()
    assert.equal(report.verdict, 'leak', report.summary)
    assert.ok(Math.abs(report.retainedPerCall.estimate - k) <= 0.05 * k, `${report.summary}; expected ${k} B a call`)
    assert.ok(report.retainedPerCall.low <= k && k <= report.retainedPerCall.high, `${report.summary}; expected the interval to hold ${k}`)
    const top = report.sites[0]
    assert.equal(top?.functionName, 'keepExactBytes')
    assert.match(top?.source?.url ?? top?.url ?? '', /leak-truth\.test\.ts$/)
  })
}

test('a route that keeps nothing reads as no leak through app.inject', async () => {
  const a = app()
  const report = await measureLeak(a, '/nothing', { snapshots: false })
  await a.close()
  assert.equal(report.verdict, 'no-leak', report.summary)
  assert.ok(report.retainedPerCall.high < KIB, report.summary)
  assert.deepEqual(report.statusCodes, { 200: 2 * report.calls + report.warmupCalls })
})

test('a route that churns megabytes and keeps nothing reads as no leak under 1 KiB a call', async () => {
  const a = app()
  const report = await measureLeak(a, '/churn', { snapshots: false })
  await a.close()
  assert.equal(report.verdict, 'no-leak', report.summary)
  assert.ok(report.retainedPerCall.high < KIB, report.summary)
})

test('a cache filled on the first call reads as no leak under 1 KiB a call', async () => {
  const a = app()
  const report = await measureLeak(a, '/first-call-cache', { snapshots: false })
  await a.close()
  assert.equal(report.verdict, 'no-leak', report.summary)
  assert.ok(report.retainedPerCall.high < KIB, report.summary)
})

test('a route keeping one Invoice a call has Invoice as top grown type, once a call, held by its ledger', async () => {
  const a = app()
  const report = await measureLeak(a, '/invoice', { calls: 20 })
  await a.close()
  assert.equal(report.snapshots.status, 'taken', report.snapshots.message)
  const top = report.types[0]
  assert.equal(top?.name, 'Invoice', JSON.stringify(report.types.slice(0, 3)))
  assert.ok(Math.abs((top?.countPerCall ?? 0) - 1) <= 0.1, `${top?.countPerCall} Invoice a call`)
  assert.ok(top?.retainers.some((step) => step.includes('InvoiceLedger')), top?.retainers.join(' <- '))
})
