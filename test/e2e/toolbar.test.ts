/**
 * The toolbar in a real browser: a listening Fastify app on 127.0.0.1 and headless Chromium driven by
 * playwright-core. Skipped when the browser is missing, unless DEBUG_TOOLBAR_REQUIRE_BROWSER=1.
 * Screenshots go to test-results/.
 */
import assert from 'node:assert/strict'
import { request } from 'node:http'
import { after, before, describe, test } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { type Browser, type BrowserContext, type Page, type Response } from 'playwright-core'
import { SKIP, launchBrowser, RESULTS } from './browser.ts'
import { buildTestApp } from './app.ts'

const PREFIX = '/__debug'
/** Per test, in ms: a test that hangs fails instead of holding the run. */
const TEST_TIMEOUT_MS = 45_000
/** Per Playwright action or wait, in ms. */
const ACTION_TIMEOUT_MS = 10_000

interface Nav { id: string, method: string, url: string, statusCode: number, panels: Array<{ id: string, title: string, subtitle: string }> }
interface StoredRecord { id: string, url: string, memory: { heapUsedDelta: number, precise: boolean, allocations?: { sampler?: string, sites?: unknown[], skipped?: string } } }

let browser: Browser | undefined
let app: FastifyInstance | undefined
let cspApp: FastifyInstance | undefined
/** Samples allocation sites only of the requests that ask (the Sample switch's cookie, or the header). */
let markedApp: FastifyInstance | undefined
/** Registered with allocations: false. */
let offApp: FastifyInstance | undefined
let base = ''
let cspBase = ''
let markedBase = ''
let offBase = ''

describe('toolbar in a browser', { skip: SKIP, timeout: 300_000 }, () => {
  before(async () => {
    app = await buildTestApp()
    base = await app.listen({ host: '127.0.0.1', port: 0 })
    cspApp = await buildTestApp({ csp: true })
    cspBase = await cspApp.listen({ host: '127.0.0.1', port: 0 })
    markedApp = await buildTestApp({ allocations: { requests: 'marked' } })
    markedBase = await markedApp.listen({ host: '127.0.0.1', port: 0 })
    offApp = await buildTestApp({ allocations: false })
    offBase = await offApp.listen({ host: '127.0.0.1', port: 0 })
    browser = await launchBrowser()
  })

  after(async () => {
    await browser?.close()
    await app?.close()
    await cspApp?.close()
    await markedApp?.close()
    await offApp?.close()
  })

  test('leaves out the Sample switch when the app does not sample allocations', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage({ width: 1280, height: 720 }, async (page) => {
      await page.goto(`${offBase}/`)
      await page.locator('.fdt-handle').click()
      await page.locator('.fdt-precise').waitFor({ state: 'visible' })
      assert.equal(await page.locator('.fdt-sample').count(), 0)
    })
  })

  test('shows the heap delta of the page in the handle, the nav and the Memory panel, as the stored record has it', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage({ width: 1280, height: 720 }, async (page) => {
      const res = await page.goto(`${base}/retain`)
      const id = res?.headers()['x-debug-toolbar-id'] ?? ''
      assert.match(id, /^[0-9a-f]{32}$/)
      const nav = await getJson<Nav>(`${base}${PREFIX}/requests/${id}/toolbar`)
      const subtitle = panelSubtitle(nav, 'memory')
      const record = await getJson<StoredRecord>(`${base}${PREFIX}/api/requests/${id}`)

      const handle = page.locator('.fdt-handle')
      await handle.click()
      assert.equal(await handle.getAttribute('aria-expanded'), 'true')
      const memoryButton = page.locator('.fdt-nav [data-open-panel="memory"]')
      await memoryButton.locator('.fdt-nav-sub').filter({ hasText: subtitle }).waitFor()
      await memoryButton.click()
      const dialog = page.locator('[role="dialog"]')
      await dialog.locator('[data-panel="memory"]').waitFor()

      assert.equal(await memoryButton.getAttribute('aria-expanded'), 'true')
      assert.equal(await dialog.locator('#fdt-drawer-title').textContent(), 'Memory')
      assert.equal(await dialog.locator('[data-figure="delta"]').textContent(), subtitle)
      assert.equal(await memoryButton.locator('.fdt-nav-sub').textContent(), subtitle)
      assert.equal(await page.locator('.fdt-handle-sub').textContent(), subtitle)
      assertSameBytes(subtitle, record.memory.heapUsedDelta)

      // The picture has its axis labels: heap at the top and bottom, duration on the right.
      const yLabels = await dialog.locator('.fdt-picture .fdt-axis-y span').allTextContents()
      assert.ok(yLabels.length >= 2 && yLabels.every((l) => l.trim() !== ''), `y axis labels: ${JSON.stringify(yLabels)}`)
      assert.match(await dialog.locator('.fdt-picture .fdt-axis-x').textContent() ?? '', /0 ms.*\d.*(ms|s)$/)
      assert.equal(await dialog.locator('.fdt-heap-line').count(), 1)

      await page.screenshot({ path: `${RESULTS}toolbar-memory.png` })
    })
  })

  test('exposes memory-profiling and memory entries in the navigation timing of the page', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage({ width: 1280, height: 720 }, async (page) => {
      await page.goto(`${base}/`)
      const entries = await page.evaluate(() => {
        const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined
        return (nav?.serverTiming ?? []).map((e) => ({ name: e.name, duration: e.duration, description: e.description }))
      })
      const profiling = entries.find((e) => e.name === 'memory-profiling')
      const memory = entries.find((e) => e.name === 'memory')
      assert.ok(profiling !== undefined, `serverTiming: ${JSON.stringify(entries)}`)
      assert.ok(Number.isFinite(profiling.duration) && profiling.duration >= 0, `memory-profiling duration ${profiling.duration}`)
      assert.ok(memory !== undefined, `serverTiming: ${JSON.stringify(entries)}`)
      assert.match(memory.description, /heap/)
    })
  })

  test('lists the fetch() and XHR requests the page makes and switches the toolbar to one of them', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage({ width: 1280, height: 720 }, async (page) => {
      await page.goto(`${base}/`)
      await page.locator('.fdt-handle').click()
      await page.locator('.fdt-nav [data-open-panel="history"]').click()
      const live = page.locator('.fdt-live')
      await live.waitFor()

      const fetched = page.waitForResponse((r) => r.url().includes('/api/data?from=fetch'))
      await page.locator('#load-fetch').click()
      const fetchId = (await fetched).headers()['x-debug-toolbar-id'] ?? ''
      assert.match(fetchId, /^[0-9a-f]{32}$/)
      await page.locator('#out').filter({ hasText: 'fetch: 200 items' }).waitFor()
      const fetchRow = live.locator(`tr[data-id="${fetchId}"]`)
      await fetchRow.filter({ hasText: '/api/data?from=fetch' }).waitFor()
      await page.locator('.fdt-current .fdt-badge').filter({ hasText: '1' }).waitFor()

      const xhred = page.waitForResponse((r) => r.url().includes('/api/data?from=xhr'))
      await page.locator('#load-xhr').click()
      const xhrId = (await xhred).headers()['x-debug-toolbar-id'] ?? ''
      await live.locator(`tr[data-id="${xhrId}"]`).filter({ hasText: 'xhr' }).waitFor()
      await page.locator('.fdt-current .fdt-badge').filter({ hasText: '2' }).waitFor()

      // The toolbar's own requests are never listed, even when the page calls the prefix itself.
      await page.evaluate(async (prefix) => { await fetch(`${prefix}/api/requests`) }, PREFIX)
      assert.equal(await live.locator('tbody tr').count(), 3)
      assert.equal(await live.locator('td.fdt-url', { hasText: PREFIX }).count(), 0)

      // Switch: the bar, the nav subtitles and the open History panel follow the fetch's record.
      const nav = await getJson<Nav>(`${base}${PREFIX}/requests/${fetchId}/toolbar`)
      await fetchRow.locator(`button[data-switch="${fetchId}"]`).click()
      await page.locator('.fdt-current-url').filter({ hasText: '/api/data?from=fetch' }).waitFor()
      await page.locator(`.fdt-history tr.fdt-current-row[data-id="${fetchId}"]`).waitFor()
      await page.locator('.fdt-nav [data-open-panel="memory"] .fdt-nav-sub').filter({ hasText: panelSubtitle(nav, 'memory') }).waitFor()
      assert.equal(await page.locator('.fdt-drawer-sub').textContent(), 'GET /api/data?from=fetch · 200')

      await page.locator('.fdt-nav [data-open-panel="memory"]').click()
      await page.locator('[role="dialog"] [data-panel="memory"]').waitFor()
      assert.equal(await page.locator('[data-figure="delta"]').textContent(), panelSubtitle(nav, 'memory'))
      const record = await getJson<StoredRecord>(`${base}${PREFIX}/api/requests/${fetchId}`)
      assertSameBytes(panelSubtitle(nav, 'memory'), record.memory.heapUsedDelta)
    })
  })

  test('opens with Enter from the keyboard and closes with Escape, giving focus back', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage({ width: 1280, height: 720 }, async (page) => {
      await page.goto(`${base}/`)
      await page.locator('.fdt-handle').waitFor()
      let reached = false
      for (let i = 0; i < 12 && !reached; i++) {
        await page.keyboard.press('Tab')
        reached = await focusedInToolbar(page) === 'fdt-handle'
      }
      assert.ok(reached, 'Tab reaches the handle')
      assert.equal(await page.locator('.fdt-handle').getAttribute('aria-expanded'), 'false')

      await page.keyboard.press('Enter')
      assert.equal(await page.locator('.fdt-handle').getAttribute('aria-expanded'), 'true')
      await page.locator('#fdt-bar').waitFor({ state: 'visible' })
      // Tab to the Memory button: the request button comes first.
      await page.keyboard.press('Tab')
      await page.keyboard.press('Tab')
      assert.equal(await focusedInToolbar(page, 'data-open-panel'), 'memory')
      await page.keyboard.press('Enter')
      await page.locator('[role="dialog"] [data-panel="memory"]').waitFor()
      assert.equal(await focusedInToolbar(page, 'role'), 'dialog')

      await page.keyboard.press('Escape')
      await page.locator('[role="dialog"]').waitFor({ state: 'hidden' })
      assert.equal(await focusedInToolbar(page, 'data-open-panel'), 'memory')
      assert.equal(await page.locator('.fdt-nav [data-open-panel="memory"]').getAttribute('aria-expanded'), 'false')

      await page.keyboard.press('Escape')
      await page.locator('#fdt-bar').waitFor({ state: 'hidden' })
      assert.equal(await focusedInToolbar(page), 'fdt-handle')
      assert.equal(await page.locator('.fdt-handle').getAttribute('aria-expanded'), 'false')
    })
  })

  test('remembers whether the bar was expanded across page loads', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage({ width: 1280, height: 720 }, async (page) => {
      await page.goto(`${base}/`)
      await page.locator('.fdt-handle').click()
      await page.locator('#fdt-bar').waitFor({ state: 'visible' })
      await page.reload()
      await page.locator('#fdt-bar').waitFor({ state: 'visible' })
      assert.equal(await page.locator('.fdt-handle').getAttribute('aria-expanded'), 'true')
      await page.locator('.fdt-handle').click()
      await page.reload()
      await page.locator('.fdt-handle').waitFor()
      assert.equal(await page.locator('.fdt-handle').getAttribute('aria-expanded'), 'false')
      assert.equal(await page.locator('#fdt-bar').isVisible(), false)
    })
  })

  test('turns precise mode on for the next request with a cookie and off again', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage({ width: 1280, height: 720 }, async (page, context) => {
      await page.goto(`${base}/`)
      await page.locator('.fdt-handle').click()
      const toggle = page.locator('.fdt-precise')
      assert.equal(await toggle.getAttribute('aria-pressed'), 'false')
      await toggle.click()
      assert.equal(await toggle.getAttribute('aria-pressed'), 'true')
      const said = await page.locator('.fdt-status').textContent() ?? ''
      assert.match(said, /next request/)
      assert.match(said, /three forced GCs/)
      const cookie = (await context.cookies()).find((c) => c.name === 'fdt-precise')
      assert.equal(cookie?.value, '1')
      assert.equal(cookie?.path, '/')
      assert.equal(cookie?.sameSite, 'Strict')

      const res = await page.reload()
      const record = await getJson<StoredRecord>(`${base}${PREFIX}/api/requests/${res?.headers()['x-debug-toolbar-id'] ?? ''}`)
      assert.equal(record.memory.precise, true)

      await page.locator('.fdt-precise').click()
      assert.equal(await page.locator('.fdt-precise').getAttribute('aria-pressed'), 'false')
      assert.equal((await context.cookies()).some((c) => c.name === 'fdt-precise'), false)
    })
  })

  test('marks this browser\'s requests for allocation sampling with the Sample switch, from the keyboard, and unmarks them', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage({ width: 1280, height: 720 }, async (page, context) => {
      const allocationsOf = async (res: Response | null): Promise<StoredRecord['memory']['allocations']> =>
        (await getJson<StoredRecord>(`${markedBase}${PREFIX}/api/requests/${res?.headers()['x-debug-toolbar-id'] ?? ''}`)).memory.allocations

      // allocations.requests 'marked': a request that did not ask is not sampled, and the panel says how to ask.
      assert.equal(await allocationsOf(await page.goto(`${markedBase}/`)), undefined)
      await page.locator('.fdt-handle').click()
      await page.locator('.fdt-nav [data-open-panel="memory"]').click()
      assert.match(await page.locator('.fdt-allocs[data-allocations="off"]').textContent() ?? '', /toolbar's Sample switch or send x-debug-toolbar-sample: 1/)
      await page.keyboard.press('Escape')
      await page.locator('[role="dialog"]').waitFor({ state: 'hidden' })

      // Tab goes from the Precise switch to the Sample switch, and Enter presses it.
      const toggle = page.locator('.fdt-sample')
      assert.equal(await toggle.getAttribute('aria-pressed'), 'false')
      assert.match(await toggle.getAttribute('title') ?? '', /next request/)
      const describedBy = await toggle.getAttribute('aria-describedby') ?? ''
      assert.match(await page.locator(`#${describedBy}.fdt-sr`).textContent() ?? '', /next request.*'marked'.*bypasses the sampling budget.*overhead/)
      await page.locator('.fdt-precise').focus()
      await page.keyboard.press('Tab')
      assert.equal(await focusedInToolbar(page, 'data-action'), 'sample')
      await page.keyboard.press('Enter')
      assert.equal(await toggle.getAttribute('aria-pressed'), 'true')
      assert.match(await page.locator('.fdt-status').textContent() ?? '', /next request/)
      const cookies = await context.cookies()
      const cookie = cookies.find((c) => c.name === 'fdt-sample')
      assert.equal(cookie?.value, '1')
      assert.equal(cookie?.path, '/')
      assert.equal(cookie?.sameSite, 'Strict')
      assert.equal(cookies.some((c) => c.name === 'fdt-precise'), false, 'the Precise switch is untouched')
      await page.locator('.fdt-row').screenshot({ path: `${RESULTS}toolbar-sample.png` })

      const sampled = await allocationsOf(await page.reload())
      assert.ok(sampled?.sampler !== undefined && Array.isArray(sampled.sites) && sampled.skipped === undefined, `sampled: ${JSON.stringify(sampled)}`)
      await page.locator('.fdt-nav [data-open-panel="memory"]').click()
      await page.locator('.fdt-allocs[data-allocations="sampled"]').waitFor()
      await page.keyboard.press('Escape')
      await page.locator('[role="dialog"]').waitFor({ state: 'hidden' })

      // The switch reads the cookie after the reload; Space turns it off.
      assert.equal(await toggle.getAttribute('aria-pressed'), 'true')
      await toggle.focus()
      await page.keyboard.press('Space')
      assert.equal(await toggle.getAttribute('aria-pressed'), 'false')
      assert.equal((await context.cookies()).some((c) => c.name === 'fdt-sample'), false)
      assert.equal(await allocationsOf(await page.reload()), undefined)
    })
  })

  test('works under @fastify/helmet CSP nonces without a single CSP violation', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage({ width: 1280, height: 720 }, async (page) => {
      const consoleProblems: string[] = []
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning' || /Content Security Policy/i.test(m.text())) consoleProblems.push(`${m.type()}: ${m.text()}`)
      })
      await page.addInitScript(() => {
        const seen: string[] = []
        Object.defineProperty(window, '__cspViolations', { value: seen })
        document.addEventListener('securitypolicyviolation', (e) => { seen.push(`${e.violatedDirective} ${e.blockedURI}`) }, true)
      })
      const res = await page.goto(`${cspBase}/retain`)
      const csp = res?.headers()['content-security-policy'] ?? ''
      assert.match(csp, /script-src[^;]*'nonce-/)
      assert.match(csp, /style-src[^;]*'nonce-/)

      await page.locator('.fdt-handle').click()
      await page.locator('.fdt-nav [data-open-panel="memory"]').click()
      await page.locator('[role="dialog"] .fdt-heap-line').waitFor()
      for (const panel of ['request', 'timing', 'history']) {
        await page.locator(`.fdt-nav [data-open-panel="${panel}"]`).click()
        await page.locator(`[role="dialog"] [data-panel="${panel}"]`).waitFor()
      }
      await page.locator('#load-fetch').click()
      await page.locator('.fdt-live td.fdt-url', { hasText: '/api/data?from=fetch' }).waitFor()
      await page.locator('.fdt-precise').click()
      await page.locator('.fdt-precise').click()
      // The page's stylesheet and the toolbar's both applied: the drawer is laid out, not inline.
      const position = await page.locator('.fdt-dock').evaluate((el) => getComputedStyle(el).position)
      assert.equal(position, 'fixed')

      const violations = await page.evaluate(() => (window as unknown as { __cspViolations: string[] }).__cspViolations)
      assert.deepEqual(violations, [])
      assert.deepEqual(consoleProblems, [])

      // The listener does see violations: an inline style attribute is refused.
      await page.evaluate(() => { document.body.setAttribute('style', 'color: red') })
      await page.waitForFunction(() => (window as unknown as { __cspViolations: string[] }).__cspViolations.length > 0, undefined, { timeout: ACTION_TIMEOUT_MS })
    })
  })

  test('is usable in a 400 px wide window: the panel fits and closes', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage({ width: 400, height: 800 }, async (page) => {
      await page.goto(`${base}/churn`)
      await page.locator('.fdt-handle').click()
      const navItems = page.locator('.fdt-nav .fdt-nav-item')
      await navItems.first().waitFor()
      for (const item of await navItems.all()) assertInside(await item.boundingBox(), 400, 800, 'nav button')
      assertInside(await page.locator('.fdt-precise').boundingBox(), 400, 800, 'Precise switch')
      assertInside(await page.locator('.fdt-sample').boundingBox(), 400, 800, 'Sample switch')

      await page.locator('.fdt-nav [data-open-panel="memory"]').click()
      const dialog = page.locator('[role="dialog"]')
      await dialog.locator('[data-panel="memory"]').waitFor()
      assertInside(await dialog.boundingBox(), 400, 800, 'drawer')
      assertInside(await page.locator('.fdt-close').boundingBox(), 400, 800, 'close button')
      const overflow = await page.locator('.fdt-drawer-body').evaluate((el) => el.scrollWidth - el.clientWidth)
      assert.ok(overflow <= 1, `the panel scrolls sideways by ${overflow}px`)
      await page.screenshot({ path: `${RESULTS}toolbar-narrow.png` })

      await page.locator('.fdt-close').click()
      await dialog.waitFor({ state: 'hidden' })
    })
  })

  test('shows a failing toolbar request inside the toolbar and leaves the page alone', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage({ width: 1280, height: 720 }, async (page) => {
      await page.route(`**${PREFIX}/requests/*/panels/memory`, (route) => route.fulfill({
        status: 500,
        contentType: 'application/json',
        body: JSON.stringify({ statusCode: 500, message: 'simulated failure' })
      }))
      await page.goto(`${base}/`)
      await page.locator('.fdt-handle').click()
      await page.locator('.fdt-nav [data-open-panel="memory"]').click()
      await page.locator('[role="dialog"] .fdt-error').filter({ hasText: 'simulated failure' }).waitFor()
      // The page still works.
      await page.locator('#load-fetch').click()
      await page.locator('#out').filter({ hasText: 'fetch: 200 items' }).waitFor()
    })
  })

  test('serves a history page for API-only apps with links to each request\'s page and JSON', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage({ width: 1280, height: 720 }, async (page) => {
      const api = await fetch(`${base}/api/data?from=curl`)
      const id = api.headers.get('x-debug-toolbar-id') ?? ''
      assert.match(id, /^[0-9a-f]{32}$/)
      await page.goto(`${base}${PREFIX}/`)
      const row = page.locator(`tr[data-id="${id}"]`)
      await row.waitFor()
      assert.equal(await row.locator(`a[href="${PREFIX}/api/requests/${id}"]`).count(), 1)
      await page.screenshot({ path: `${RESULTS}page-history.png`, fullPage: true })

      await row.locator(`a.fdt-button[href="${PREFIX}/requests/${id}"]`).click()
      await page.waitForURL(`**${PREFIX}/requests/${id}`)
      assert.match(await page.locator('h1').textContent() ?? '', /GET\s+\/api\/data\?from=curl\s+200/)
      for (const panel of ['memory', 'request', 'timing', 'history']) {
        await page.locator(`#fdt-panel-${panel} [data-panel="${panel}"]`).waitFor()
      }
      const record = await getJson<StoredRecord>(`${base}${PREFIX}/api/requests/${id}`)
      assertSameBytes(await page.locator('#fdt-panel-memory [data-figure="delta"]').textContent() ?? '', record.memory.heapUsedDelta)
      // On a page without the toolbar's script, history rows are links, not switch buttons.
      assert.equal(await page.locator('#fdt-panel-history button[data-switch]').count(), 0)
      await page.screenshot({ path: `${RESULTS}page-request.png`, fullPage: true })
    })
  })

  test('escapes a hostile request URL in the History panel and on the history page', { timeout: TEST_TIMEOUT_MS }, async () => {
    const hostile = '/api/data?x=<img/src=x/onerror=window.__pwned=1>'
    const id = await rawGet(base, hostile)
    await withPage({ width: 1280, height: 720 }, async (page) => {
      await page.goto(`${base}/`)
      await page.locator('.fdt-handle').click()
      await page.locator('.fdt-nav [data-open-panel="history"]').click()
      const row = page.locator(`.fdt-history tr[data-id="${id}"]`)
      await row.waitFor()
      assert.equal(await row.locator('td.fdt-url > span').first().textContent(), hostile)
      assert.equal(await page.locator('[role="dialog"] img').count(), 0)

      await page.goto(`${base}${PREFIX}/`)
      assert.equal(await page.locator(`tr[data-id="${id}"] td.fdt-url a`).textContent(), hostile)
      assert.equal(await page.locator('main img').count(), 0)
      assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined)
    })
  })

  test('shows the playground\'s memory spike with its GCs in the Memory panel', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    let playground: FastifyInstance
    try {
      const { buildPlayground } = await import('../../playground/app.ts')
      playground = await buildPlayground()
    } catch (err) {
      t.skip(`playground not available: ${(err as Error).message}`)
      return
    }
    try {
      const playgroundBase = await playground.listen({ host: '127.0.0.1', port: 0 })
      await withPage({ width: 1280, height: 720 }, async (page) => {
        const res = await page.goto(`${playgroundBase}/spike`)
        const id = res?.headers()['x-debug-toolbar-id'] ?? ''
        const nav = await getJson<Nav>(`${playgroundBase}${PREFIX}/requests/${id}/toolbar`)
        await page.locator('.fdt-handle').click()
        await page.locator('.fdt-nav [data-open-panel="memory"]').click()
        await page.locator('[role="dialog"] .fdt-heap-line').waitFor()
        assert.equal(await page.locator('[data-figure="delta"]').textContent(), panelSubtitle(nav, 'memory'))
        await page.screenshot({ path: `${RESULTS}toolbar-playground.png` })
      })
    } finally {
      await playground.close()
    }
  })
})

// Helpers.

/** A fresh context (no cookies, no localStorage) and page; fails the test on any uncaught page error. */
async function withPage (viewport: { width: number, height: number }, run: (page: Page, context: BrowserContext) => Promise<void>): Promise<void> {
  assert.ok(browser !== undefined, 'browser launched')
  const context = await browser.newContext({ viewport })
  const pageErrors: string[] = []
  try {
    const page = await context.newPage()
    page.setDefaultTimeout(ACTION_TIMEOUT_MS)
    page.on('pageerror', (err) => { pageErrors.push(err.message) })
    await run(page, context)
    assert.deepEqual(pageErrors, [], 'no uncaught error in the page')
  } finally {
    await context.close()
  }
}

/** GET a path exactly as written (no URL encoding), return the record id the response carries. */
async function rawGet (origin: string, path: string): Promise<string> {
  const { hostname, port } = new URL(origin)
  return await new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method: 'GET', timeout: ACTION_TIMEOUT_MS }, (res) => {
      res.resume()
      res.on('end', () => { resolve(String(res.headers['x-debug-toolbar-id'] ?? '')) })
    })
    req.on('timeout', () => { req.destroy(new Error(`GET ${path} timed out`)) })
    req.on('error', reject)
    req.end()
  })
}

async function getJson<T> (url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(ACTION_TIMEOUT_MS) })
  assert.equal(res.status, 200, `GET ${url}`)
  return await res.json() as T
}

function panelSubtitle (nav: Nav, id: string): string {
  const p = nav.panels.find((x) => x.id === id)
  assert.ok(p !== undefined, `panel ${id} in ${JSON.stringify(nav)}`)
  return p.subtitle
}

const UNITS: Record<string, number> = { B: 1, kB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12 }

/** '+2.3 MB' (pretty-bytes, signed) has the sign of `bytes` and its magnitude to three significant digits. */
function assertSameBytes (shown: string, bytes: number): void {
  const m = /^([+-]?)(\d+(?:\.\d+)?) (B|kB|MB|GB|TB)$/.exec(shown.trim())
  assert.ok(m !== null, `"${shown}" looks like signed pretty bytes`)
  const sign = m[1] === '-' ? -1 : (m[1] === '+' ? 1 : 0)
  assert.equal(sign, Math.sign(bytes), `sign of "${shown}" against ${bytes}`)
  const magnitude = Number(m[2]) * (UNITS[m[3] ?? 'B'] ?? 1)
  const error = Math.abs(magnitude - Math.abs(bytes))
  assert.ok(error <= Math.abs(bytes) * 0.006 + 1, `"${shown}" against ${bytes} bytes`)
}

/** The class name (or another attribute) of the element focused inside the toolbar's shadow root. */
async function focusedInToolbar (page: Page, attribute = 'class'): Promise<string | null> {
  return await page.evaluate((attr) => {
    const host = document.activeElement
    if (host === null || host.shadowRoot === null) return null
    const el = host.shadowRoot.activeElement
    if (el === null) return null
    return attr === 'class' ? el.className : el.getAttribute(attr)
  }, attribute)
}

function assertInside (box: { x: number, y: number, width: number, height: number } | null, width: number, height: number, what: string): void {
  assert.ok(box !== null, `${what} is rendered`)
  assert.ok(box.x >= -0.5 && box.y >= -0.5 && box.x + box.width <= width + 0.5 && box.y + box.height <= height + 0.5,
    `${what} at ${JSON.stringify(box)} is inside the ${width}x${height} viewport`)
}
