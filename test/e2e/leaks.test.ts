/**
 * The Memory panel's *Test for leaks* button in a real browser: the page repeats its own request
 * (fetch with its cookies) while the server forces GCs and reads the heap between calls; the panel
 * shows progress, then the verdict, and links the report page. Skipped without a browser unless
 * DEBUG_TOOLBAR_REQUIRE_BROWSER=1. The app runs in a process of its own (test/e2e/leak-app.ts), so
 * that the browser driver's allocations are not in its heap. The report page's screenshot goes to
 * test-results/leak-report.png (docs/leak-report.png is a copy of one).
 */
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { after, before, describe, test } from 'node:test'
import { spawn, type ChildProcess } from 'node:child_process'
import { type Browser } from 'playwright-core'
import { SKIP, launchBrowser, RESULTS } from './browser.ts'

const PREFIX = '/__debug'
const LEAK_TIMEOUT_MS = 480_000

const APP = fileURLToPath(new URL('./leak-app.ts', import.meta.url))

let browser: Browser | undefined
let app: ChildProcess | undefined
let base = ''

describe('leak tests from the Memory panel', { skip: SKIP, timeout: LEAK_TIMEOUT_MS * 2 }, () => {
  before(async () => {
    app = spawn(process.execPath, ['--import', 'tsx', APP], { stdio: ['ignore', 'pipe', 'inherit'] })
    base = await new Promise<string>((resolve, reject) => {
      let out = ''
      app?.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString()
        const m = /listening (\S+)\n/.exec(out)
        if (m !== null) resolve(m[1] as string)
      })
      app?.once('exit', (code) => { reject(new Error(`the test app exited (${code})`)) })
    })
    browser = await launchBrowser()
  })

  after(async () => {
    await browser?.close()
    if (app !== undefined && app.exitCode === null) {
      const exited = new Promise((resolve) => app?.once('exit', resolve))
      app.kill('SIGTERM')
      await exited
    }
  })

  test('the Test for leaks button repeats the page\'s request with its cookies and reports a leak of CartItem', { timeout: LEAK_TIMEOUT_MS }, async () => {
    assert.ok(browser !== undefined)
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 } })
    const errors: string[] = []
    context.on('page', (p) => { p.on('pageerror', (err) => { errors.push(err.message) }) })
    try {
      await context.addCookies([{ name: 'session', value: 'abc', url: base }])
      const page = await context.newPage()
      page.setDefaultTimeout(15_000)
      const res = await page.goto(`${base}/cart`)
      assert.equal(res?.status(), 200)
      const handle = page.locator('.fdt-handle')
      await handle.waitFor()
      if (await handle.getAttribute('aria-expanded') !== 'true') await handle.click()
      await page.locator('.fdt-nav [data-open-panel="memory"]').click()
      const dialog = page.locator('[role="dialog"]')
      const button = dialog.locator('[data-action="leak-test"]')
      await button.click()
      // Progress while it runs, then the verdict and a link to the report.
      await dialog.locator('[data-leak-status]', { hasText: /Running: .*\d+ of \d+/ }).waitFor({ timeout: LEAK_TIMEOUT_MS })
      const link = dialog.locator('[data-leak-report]')
      await link.waitFor({ timeout: LEAK_TIMEOUT_MS })
      assert.equal(await link.getAttribute('data-leak-report'), 'done', await dialog.locator('[data-leak-status]').textContent() ?? '')
      assert.equal(await dialog.locator('[data-leak-status] [data-verdict]').getAttribute('data-verdict'), 'leak')
      assert.match(await dialog.locator('[data-leak-status]').textContent() ?? '', /leaks about [\d.]+ kB a call.*Top type: CartItem/)

      // The report page: the verdict, the top type with its holder, the chart.
      const href = await link.getAttribute('href') ?? ''
      const reportPage = await context.newPage()
      await reportPage.goto(`${base}${href}`)
      assert.equal(await reportPage.locator('[data-verdict]').getAttribute('data-verdict'), 'leak')
      assert.equal(await reportPage.locator('[data-leak-types] [data-type-name]').first().textContent(), 'CartItem')
      assert.match(await reportPage.locator('[data-leak-types] .fdt-leak-path').first().textContent() ?? '', /abandonedCarts/)
      await reportPage.locator('svg.fdt-leak-plot').waitFor()
      await reportPage.screenshot({ path: `${RESULTS}leak-report.png`, fullPage: true })

      // The repeated calls all carried the session cookie and none was recorded.
      const id = href.split('/').pop() ?? ''
      const test = await (await fetch(`${base}${PREFIX}/api/leak-tests/${id}`)).json() as { source: string, route: string, report: { statusCodes: Record<string, number>, overlapping: number } }
      assert.equal(test.source, 'page')
      assert.equal(test.route, '/cart')
      assert.deepEqual(Object.keys(test.report.statusCodes), ['200'])
      assert.equal(test.report.overlapping, 0, 'the page\'s own calls and steps are not counted as other requests')
      const records = await (await fetch(`${base}${PREFIX}/api/requests`)).json() as Array<{ url: string }>
      assert.equal(records.filter((r) => r.url === '/cart').length, 1, 'only the page\'s first visit is recorded')
      assert.deepEqual(errors, [])
    } finally {
      await context.close()
    }
  })
})
