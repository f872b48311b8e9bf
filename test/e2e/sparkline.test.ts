/**
 * The handle's sparkline in a real browser, under a strict CSP with nonces: drawn from the server's
 * answer with one SVG point per reading, at a wide and a narrow window, refreshed after the page's
 * own requests. Screenshots of the handle go to test-results/.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { FastifyInstance } from 'fastify'
import type { Browser, Page } from 'playwright-core'
import { SKIP, launchBrowser, RESULTS } from './browser.ts'
import { buildTestApp } from './app.ts'

const TEST_TIMEOUT_MS = 60_000
const ACTION_TIMEOUT_MS = 15_000

interface Line { fromMs: number, toMs: number, t: number[], heapUsedBytes: number[] }

let browser: Browser | undefined
let app: FastifyInstance | undefined
let base = ''

describe('handle sparkline in a browser', { skip: SKIP, timeout: 300_000 }, () => {
  before(async () => {
    app = await buildTestApp({ csp: true })
    base = await app.listen({ host: '127.0.0.1', port: 0 })
    // Requests a second or more apart, so the minute has readings in several of its slices.
    for (const path of ['/churn', '/retain', '/api/data']) {
      const res = await fetch(`${base}${path}`)
      await res.arrayBuffer()
      await new Promise((resolve) => setTimeout(resolve, 1100))
    }
    browser = await launchBrowser()
  })

  after(async () => {
    await browser?.close()
    await app?.close()
  })

  for (const viewport of [{ width: 1280, height: 720, name: 'wide', drawnWidth: 60 }, { width: 390, height: 700, name: 'narrow', drawnWidth: 40 }]) {
    test(`draws the last minute's heap beside the delta with one point per reading (${viewport.name} window)`, { timeout: TEST_TIMEOUT_MS }, async () => {
      await withPage(viewport, async (page, problems) => {
        const answer = page.waitForResponse((r) => r.url().endsWith('/__debug/api/sparkline'))
        await page.goto(`${base}/`)
        const line = await (await answer).json() as Line
        assert.ok(line.t.length >= 4 && line.t.length <= 60, `points in the answer: ${line.t.length}`)
        const svg = page.locator('fdt-toolbar .fdt-handle svg.fdt-spark')
        await svg.waitFor({ state: 'visible' })
        assert.equal(await svg.getAttribute('data-points'), String(line.t.length))
        const points = (await svg.locator('polyline.fdt-spark-line').getAttribute('points'))?.trim().split(/\s+/) ?? []
        assert.equal(points.length, line.t.length, 'one SVG point per reading')
        // x grows with time from the oldest reading (0) to now (60); y stays inside the drawing's 16 units.
        const xs = points.map((p) => Number(p.split(',')[0]))
        const ys = points.map((p) => Number(p.split(',')[1]))
        for (let i = 1; i < xs.length; i++) assert.ok((xs[i] as number) >= (xs[i - 1] as number), `x in time order: ${points.join(' ')}`)
        for (const y of ys) assert.ok(y >= 0 && y <= 16, `y inside the drawing: ${y}`)
        assert.equal(xs[0], 0, 'the oldest reading is at the left edge')
        assert.ok((xs.at(-1) as number) > 55, 'the newest reading is at the right edge')

        const box = await svg.boundingBox()
        assert.ok(box !== null && Math.abs(box.width - viewport.drawnWidth) < 1 && Math.abs(box.height - 16) < 1, JSON.stringify(box))
        // Beside the delta, inside the handle, on one line with it.
        const sub = await page.locator('fdt-toolbar .fdt-handle-sub').boundingBox()
        const handle = await page.locator('fdt-toolbar .fdt-handle').boundingBox()
        assert.ok(sub !== null && handle !== null)
        assert.ok(box.x >= sub.x + sub.width && box.x + box.width <= handle.x + handle.width, 'after the delta, within the handle')
        assert.ok(Math.abs((box.y + box.height / 2) - (sub.y + sub.height / 2)) < 4, 'centred on the delta\'s line')
        assert.ok(handle.x + handle.width <= viewport.width, 'the handle fits the window')

        const title = await page.locator('fdt-toolbar .fdt-spark-box').getAttribute('title')
        assert.match(title ?? '', /^JS heap over the last minute: [\d.]+ [kMG]?B to [\d.]+ [kMG]?B, now [\d.]+ [kMG]?B$/)
        assert.match(await page.locator('fdt-toolbar .fdt-handle').innerText(), /[+-]?[\d.]+ [kMG]?B/)
        await page.locator('fdt-toolbar .fdt-handle').screenshot({ path: join(RESULTS, `sparkline-handle-${viewport.name}.png`) })
        assert.deepEqual(problems, [], 'no CSP violation, no page error')
      })
    })
  }

  test('fetches the sparkline again after the page\'s own requests', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage({ width: 1280, height: 720 }, async (page, problems) => {
      const first = page.waitForResponse((r) => r.url().endsWith('/__debug/api/sparkline'))
      await page.goto(`${base}/`)
      const before = await (await first).json() as Line
      await page.locator('fdt-toolbar svg.fdt-spark').waitFor({ state: 'visible' })
      const again = page.waitForResponse((r) => r.url().endsWith('/__debug/api/sparkline'), { timeout: ACTION_TIMEOUT_MS })
      await page.locator('#load-fetch').click()
      const after = await (await again).json() as Line
      assert.ok(after.toMs > before.toMs)
      // The drawing follows the new answer.
      await page.waitForFunction((n) => document.querySelector('fdt-toolbar')?.shadowRoot?.querySelector('svg.fdt-spark')?.getAttribute('data-points') === String(n), after.t.length)
      assert.equal(await page.locator('fdt-toolbar svg.fdt-spark').count(), 1, 'replaced, not added')
      assert.deepEqual(problems, [])
    })
  })
})

/** A fresh context and page; `problems` collects CSP violations and uncaught errors. */
async function withPage (viewport: { width: number, height: number }, run: (page: Page, problems: string[]) => Promise<void>): Promise<void> {
  assert.ok(browser !== undefined, 'browser launched')
  const context = await browser.newContext({ viewport: { width: viewport.width, height: viewport.height }, deviceScaleFactor: 2 })
  const problems: string[] = []
  try {
    const page = await context.newPage()
    page.setDefaultTimeout(ACTION_TIMEOUT_MS)
    page.on('pageerror', (err) => { problems.push(err.message) })
    page.on('console', (msg) => { if (/Content Security Policy/i.test(msg.text())) problems.push(msg.text()) })
    await run(page, problems)
  } finally {
    await context.close()
  }
}
