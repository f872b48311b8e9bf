/**
 * The live page in a real browser: requests made from another tab appear as marks and rows within a
 * second, a mark opens its request page, a forced GC shows what it freed, pausing stops the updates,
 * filters and sorting apply to the live rows. Skipped when the browser is missing.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Browser, Page } from 'playwright-core'
import debugToolbar from '../../src/index.ts'
import { SKIP, launchBrowser, RESULTS } from './browser.ts'

const PREFIX = '/__debug'
const TEST_TIMEOUT_MS = 60_000
const ACTION_TIMEOUT_MS = 10_000
/** How soon a request must show on the live page, in ms. */
const LIVE_WITHIN_MS = 1000
const MiB = 1024 * 1024

let browser: Browser | undefined
let app: FastifyInstance | undefined
let base = ''
let kept: number[][] = []

async function buildApp (): Promise<FastifyInstance> {
  const a = Fastify()
  await a.register(debugToolbar, { enabled: true, live: { keepRunningMs: 0 } })
  a.get('/work', async (request) => {
    const n = Number((request.query as { n?: string }).n ?? 1)
    return { items: Array.from({ length: 100 * n }, (_, i) => ({ i, label: `item ${i}` })) }
  })
  a.get('/slow', async () => { await new Promise((resolve) => setTimeout(resolve, 120)); return { slow: true } })
  a.get('/keep', async () => {
    // About 24 MiB of arrays, kept until /drop.
    for (let i = 0; i < 48; i++) kept.push(new Array(65536).fill(i))
    return { kept: kept.length }
  })
  a.get('/drop', async () => { kept = []; return { kept: 0 } })
  await a.ready()
  return a
}

describe('live page in a browser', { skip: SKIP, timeout: 300_000 }, () => {
  before(async () => {
    app = await buildApp()
    base = await app.listen({ host: '127.0.0.1', port: 0 })
    browser = await launchBrowser()
  })

  after(async () => {
    await browser?.close()
    await app?.close()
  })

  test('shows requests made from another tab as marks and rows within a second; a mark opens its request page', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withLivePage(async (live, other) => {
      for (const n of [1, 3, 2]) {
        const res = await other.goto(`${base}/work?n=${n}`)
        const shownBy = Date.now() + LIVE_WITHIN_MS
        const id = res?.headers()['x-debug-toolbar-id'] ?? ''
        assert.match(id, /^[0-9a-f]{32}$/)
        await live.locator(`[data-live-table] tr[data-request-id="${id}"]`).filter({ hasText: `/work?n=${n}` }).waitFor({ timeout: LIVE_WITHIN_MS })
        // Rows and marks are drawn together: the mark is there as soon as the row is.
        await markPoint(live, id)
        assert.ok(Date.now() <= shownBy, 'shown within a second')
      }
      const res = await other.goto(`${base}/work?n=5`)
      const id = res?.headers()['x-debug-toolbar-id'] ?? ''
      await live.locator(`[data-live-table] tr[data-request-id="${id}"]`).waitFor({ timeout: LIVE_WITHIN_MS })
      await live.screenshot({ path: `${RESULTS}live-page.png`, fullPage: true })

      // Hover: the tooltip names the request; click: its page opens. With the pointer on the chart its axis holds still.
      const box = await live.locator('[data-chart="requests"] .u-over').boundingBox()
      assert.ok(box !== null)
      await live.mouse.move(box.x + 2, box.y + 2)
      const point = await markPoint(live, id)
      await live.mouse.move(point.x, point.y)
      const tip = live.locator('[data-live-tip]')
      await tip.filter({ hasText: 'GET /work?n=5' }).waitFor()
      assert.match(await tip.textContent() ?? '', /200 · .*heap [+-]?[\d.]+ (B|kB|MB)/)
      await live.mouse.click(point.x, point.y)
      await live.waitForURL(`${base}${PREFIX}/requests/${id}`)
      await live.locator('h1, .fdt-page-url').first().waitFor()
    })
  })

  test('forcing a GC shows what it freed, and the heap drops on the chart\'s data', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withLivePage(async (live, other) => {
      await other.goto(`${base}/keep`)
      await other.goto(`${base}/drop`)
      await live.locator('button[data-live="gc"]').click()
      const result = live.locator('[data-live-gc-result]')
      await result.filter({ hasText: /^Freed / }).waitFor()
      const freed = Number(await result.getAttribute('data-freed-bytes'))
      assert.ok(freed >= 16 * MiB, `freed ${freed} bytes of the ~24 MiB dropped`)
      // The reading taken just after the GC is the drop the chart draws.
      const series = await live.evaluate(async (prefix) => await (await fetch(`${prefix}/api/process?window=1m`)).json(), PREFIX) as { samples: { heapUsedBytes: number[] }, gcs: Array<{ kind: string, heapUsedBefore: number, heapUsedAfter: number }> }
      const heap = series.samples.heapUsedBytes
      const peak = Math.max(...heap.slice(0, -1))
      // The lowest reading after the peak: on a busy machine the page's own work can add a reading after the drop.
      const after = Math.min(...heap.slice(heap.lastIndexOf(peak) + 1))
      assert.ok(after < peak - 16 * MiB, `heap ${after} after, peak ${peak} before`)
      assert.ok(series.gcs.some((g) => g.kind === 'major' && g.heapUsedBefore - g.heapUsedAfter >= 16 * MiB), 'the forced GC is on the chart with its heap before and after')
      await live.screenshot({ path: `${RESULTS}live-gc.png`, fullPage: true })
    })
  })

  test('pausing stops the updates; resuming brings the missed requests in', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withLivePage(async (live, other) => {
      const pause = live.locator('button[data-live="pause"]')
      await pause.click()
      assert.equal(await pause.getAttribute('aria-pressed'), 'true')
      await live.locator('[data-live-status]').filter({ hasText: 'Paused' }).waitFor()
      const res = await other.goto(`${base}/work?n=4`)
      const id = res?.headers()['x-debug-toolbar-id'] ?? ''
      await live.waitForTimeout(LIVE_WITHIN_MS)
      assert.equal(await live.locator(`[data-live-table] tr[data-request-id="${id}"]`).count(), 0, 'no update while paused')
      await pause.click()
      await live.locator(`[data-live-table] tr[data-request-id="${id}"]`).waitFor()
      await live.locator('[data-live-status]').filter({ hasText: 'Live' }).waitFor()
    })
  })

  test('reconnects by itself after the server restarts, shows requests made after the restart, and its actions use the new token', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withLivePage(async (live, other) => {
      const port = Number(new URL(base).port)
      await app?.close()
      await live.locator('[data-live-status]').filter({ hasText: 'Reconnecting' }).waitFor()
      app = await buildApp()
      await app.listen({ host: '127.0.0.1', port })
      await live.locator('[data-live-status]').filter({ hasText: 'Live' }).waitFor({ timeout: 15_000 })
      const id = (await other.goto(`${base}/work?n=2`))?.headers()['x-debug-toolbar-id'] ?? ''
      await live.locator(`[data-live-table] tr[data-request-id="${id}"]`).waitFor()
      // The restarted server made a new token: the page takes it, so its forms are not refused.
      const fresh = await other.evaluate(async (prefix) => new DOMParser().parseFromString(await (await fetch(`${prefix}/`)).text(), 'text/html').querySelector('[data-live-snapshot] input[name="token"]')?.getAttribute('value') ?? '', PREFIX)
      assert.ok(fresh !== '')
      await live.waitForFunction((t) => [...document.querySelectorAll('form input[name="token"]')].every((i) => (i as HTMLInputElement).value === t), fresh)
      await live.locator('button[data-live="gc"]').click()
      await live.locator('[data-live-gc-result]').filter({ hasText: /^Freed / }).waitFor()
    })
  })

  test('filters and sorting apply to the live rows, and a filter is kept in the address', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withLivePage(async (live, other) => {
      const slow = (await other.goto(`${base}/slow`))?.headers()['x-debug-toolbar-id'] ?? ''
      const fast = (await other.goto(`${base}/work?n=1`))?.headers()['x-debug-toolbar-id'] ?? ''
      const rows = live.locator('[data-live-table] tbody tr')
      await live.locator(`[data-live-table] tr[data-request-id="${fast}"]`).waitFor()
      await live.locator('[data-live-filters] input[name="route"]').fill('/slow')
      await live.locator(`[data-live-table] tr[data-request-id="${fast}"]`).waitFor({ state: 'detached' })
      assert.ok(await rows.count() >= 1)
      assert.deepEqual(new Set(await rows.locator('.fdt-url a').allTextContents()), new Set(['/slow']))
      assert.match(live.url(), /[?&]route=%2Fslow/)
      await live.locator('[data-live-filters] input[name="route"]').fill('')
      await live.locator('[data-live-filters] input[name="minDurationMs"]').fill('100')
      await live.locator(`[data-live-table] tr[data-request-id="${fast}"]`).waitFor({ state: 'detached' })
      await live.locator(`[data-live-table] tr[data-request-id="${slow}"]`).waitFor()
      await live.locator('[data-live-filters] input[name="minDurationMs"]').fill('')
      // Longest first.
      await live.locator('[data-live-table] button[data-sort="durationMs"]').click()
      await live.locator('[data-live-table] th[aria-sort="descending"] button[data-sort="durationMs"]').waitFor()
      const durations = (await rows.locator('td:nth-child(5)').allTextContents()).map(toMs)
      assert.deepEqual(durations, [...durations].sort((a, b) => b - a), 'longest first')
      assert.ok((durations[0] as number) >= 120)
    })
  })
})

/** '1.25 s', '12.3 ms' -> ms. */
function toMs (text: string): number {
  const m = /^([\d.]+) (ms|s)$/.exec(text.trim())
  assert.ok(m !== null, `a duration: ${text}`)
  return Number(m[1]) * (m[2] === 's' ? 1000 : 1)
}

async function markPoint (page: Page, id: string): Promise<{ x: number, y: number }> {
  const p = await page.evaluate((id) => (document.querySelector('[data-fdt-live]') as unknown as { fdtMarkPoint: (id: string) => { x: number, y: number } | null }).fdtMarkPoint(id), id)
  assert.ok(p !== null, `mark of ${id}`)
  return p
}

/** The live page in one tab and a second tab of the same browser for the app's requests. */
async function withLivePage (run: (live: Page, other: Page) => Promise<void>): Promise<void> {
  assert.ok(browser !== undefined, 'browser launched')
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const pageErrors: string[] = []
  try {
    const live = await context.newPage()
    live.setDefaultTimeout(ACTION_TIMEOUT_MS)
    live.on('pageerror', (err) => { pageErrors.push(err.message) })
    await live.goto(`${base}${PREFIX}/?window=1m`)
    await live.locator('[data-live-status]').filter({ hasText: 'Live' }).waitFor()
    const other = await context.newPage()
    other.setDefaultTimeout(ACTION_TIMEOUT_MS)
    await live.bringToFront()
    await run(live, other)
    assert.deepEqual(pageErrors, [], 'no uncaught error in the page')
  } finally {
    await context.close()
  }
}
