/**
 * The live page of a two-process app sharing one Redis, in a real browser: the per-process chart has
 * one labelled line for each process, the serving one marked, and follows the measure switch.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Browser } from 'playwright-core'
import { newId } from '../../src/id.ts'
import { RedisServer, redisSkipReason } from '../redis-server.ts'
import { startWorker, stopWorker, type Worker } from '../redis-workers.ts'
import { SKIP, launchBrowser, RESULTS } from './browser.ts'

const ACTION_TIMEOUT_MS = 20_000
const skip = SKIP === false ? redisSkipReason() ?? false : SKIP

describe('the live page of two processes in a browser', { skip, timeout: 120_000 }, () => {
  let redis: RedisServer
  let a: Worker
  let b: Worker
  let browser: Browser | undefined

  before(async () => {
    redis = await RedisServer.start()
    const prefix = `e2elive:${newId()}:`
    ;[a, b] = await Promise.all([startWorker(redis.url, prefix, 50, { LIVE: '1' }), startWorker(redis.url, prefix, 50, { LIVE: '1' })])
    browser = await launchBrowser()
  })
  after(async () => {
    await browser?.close()
    await Promise.all([a, b].filter((w) => w !== undefined).map(stopWorker))
    await redis?.stop()
  })

  test('shows one labelled line per process, the serving one marked', async () => {
    const page = await (browser as Browser).newPage({ viewport: { width: 1280, height: 1400 } })
    page.setDefaultTimeout(ACTION_TIMEOUT_MS)
    const errors: string[] = []
    page.on('pageerror', (err) => { errors.push(err.message) })
    try {
      assert.equal((await page.goto(`${a.base}/__debug/`))?.status(), 200)
      for (let i = 0; i < 5; i++) for (const w of [a, b]) assert.equal((await fetch(`${w.base}/hello`)).status, 200)
      const chart = page.locator('[data-chart="processes"]')
      await chart.and(page.locator('[data-processes="2"]')).waitFor()
      const labels = chart.locator('.u-legend .u-series .u-label')
      // The time column's label, then one per process.
      await page.waitForFunction(() => document.querySelectorAll('[data-chart="processes"] .u-legend .u-series').length === 3)
      const texts = (await labels.allTextContents()).slice(1)
      assert.equal(texts.length, 2)
      assert.match(texts[0] as string, new RegExp(`^${a.pid}@.+ \\(serving this page\\)$`))
      assert.match(texts[1] as string, new RegExp(`^${b.pid}@.+$`))
      // B's line has points: its readings came through Redis (the stream adds them as they come).
      await page.waitForFunction(() => {
        const n = (document.querySelector('[data-chart="processes"]')?.getAttribute('data-readings') ?? '').split(' ').map(Number)
        return n.length === 2 && (n[0] as number) >= 5 && (n[1] as number) >= 5
      })
      // Requests either process served reach the live table.
      await page.waitForFunction((pid) => [...document.querySelectorAll('[data-live-table] td.fdt-process')].some((td) => td.textContent === String(pid)), b.pid)
      assert.match(await page.locator('[data-live-acts-on]').textContent() ?? '', new RegExp(`process ${a.pid} on .+ only; the app's other processes are not touched`))
      await page.locator('[data-live-processes] input[value="rss"]').check()
      assert.equal(await chart.getAttribute('data-processes'), '2')
      await page.waitForTimeout(2500)
      await chart.scrollIntoViewIfNeeded()
      await page.screenshot({ path: `${RESULTS}live-redis.png`, fullPage: true })
      assert.deepEqual(errors, [])
    } finally {
      await page.close()
    }
  })
})
