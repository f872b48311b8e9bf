/**
 * Allocation sites in a real browser: the playground sampling every request (`allocations:
 * { requests: 'all' }`) on 127.0.0.1 and headless Chromium (playwright-core). The Memory panel's
 * sites table, group-by and filters, the flame graph from the keyboard, the .heapprofile download,
 * and the compare page; then the same
 * under a strict helmet CSP. Skipped without a browser unless DEBUG_TOOLBAR_REQUIRE_BROWSER=1.
 * Screenshots go to test-results/.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import Fastify, { type FastifyInstance } from 'fastify'
import helmet from '@fastify/helmet'
import { type Browser, type BrowserContext, type Page } from 'playwright-core'
import { SKIP, launchBrowser, RESULTS } from './browser.ts'
import debugToolbar from '../../src/index.ts'
import type { AllocationsRecord } from '../../src/allocations/types.ts'
import { buildPlayground } from '../../playground/app.ts'
import { buildReport } from '../../playground/lib/report.ts'

const PREFIX = '/__debug'
/** The playground route whose allocations come from named functions, and its top site. */
const ROUTE = '/allocations'
const TOP_FUNCTION = 'buildReport'
const TOP_FILE = 'playground/lib/report.ts'
const TEST_TIMEOUT_MS = 60_000
const ACTION_TIMEOUT_MS = 10_000

interface StoredRecord { id: string, url: string, memory: { allocations?: AllocationsRecord | { skipped: string, reason: string } } }
interface HeapNode { callFrame: { functionName: string, scriptId: string, url: string, lineNumber: number, columnNumber: number }, selfSize: number, id: number, children: HeapNode[] }

let browser: Browser | undefined
let playground: FastifyInstance | undefined
let cspApp: FastifyInstance | undefined
let base = ''
let cspBase = ''

describe('allocation sites in a browser', { skip: SKIP, timeout: 400_000 }, () => {
  before(async () => {
    // Every request sampled: the default budget (20 a second) is for load, not for what is shown here.
    playground = await buildPlayground({ toolbar: { allocations: { requests: 'all' } } })
    base = await playground.listen({ host: '127.0.0.1', port: 0 })
    cspApp = await buildCspApp()
    cspBase = await cspApp.listen({ host: '127.0.0.1', port: 0 })
    // The first call of a route compiles its code: warm it so the pages below show steady figures.
    await fetch(`${base}${ROUTE}`).then((r) => r.text())
    browser = await launchBrowser()
  })

  after(async () => {
    await browser?.close()
    await playground?.close()
    await cspApp?.close()
  })

  test('shows the route\'s top allocation site in the Memory panel, as the record has it, and expands its stack', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage({ width: 1280, height: 720 }, async (page) => {
      const id = await open(page, `${base}${ROUTE}`)
      const a = await sampledRecord(base, id)
      const first = a.sites[0]
      assert.ok(first !== undefined)
      assert.equal(first.functionName, TOP_FUNCTION, `top site of ${ROUTE}: ${a.sites.slice(0, 3).map((s) => s.functionName).join(', ')}`)

      const dialog = await openMemory(page)
      const section = dialog.locator('.fdt-allocs[data-allocations="sampled"]')
      await section.waitFor()
      assert.match(await section.locator('.fdt-allocs-meaning').textContent() ?? '', /had not freed by its end, sampled about every 16.4 kB/)
      const top = section.locator('.fdt-site').first()
      assert.equal(await top.locator('.fdt-site-label').textContent(), TOP_FUNCTION)
      assert.equal(await top.locator('.fdt-site-detail').textContent(), `${TOP_FILE}:28`)
      assertSameBytes(await top.locator('[data-bytes]').textContent() ?? '', first.bytes)
      assert.equal(await top.locator('.fdt-site-samples').textContent(), `${first.samples} samples`)

      // Keyboard: the row's summary takes focus and Enter opens its stack, the site first.
      await top.locator('summary').focus()
      await page.keyboard.press('Enter')
      const stack = top.locator('.fdt-stack li')
      await stack.first().waitFor()
      assert.equal(await stack.first().textContent(), `${TOP_FUNCTION} ${TOP_FILE}:28`)
      assert.equal(await stack.nth(1).textContent(), '(anonymous) playground/routes/demo.ts:64')
      assert.equal(await stack.count(), first.stack.length)
      await page.screenshot({ path: `${RESULTS}allocations-panel.png` })
    })
  })

  test('groups the sites by package and file and filters them, from the panel\'s form', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage({ width: 1280, height: 720 }, async (page) => {
      await open(page, `${base}${ROUTE}`)
      const dialog = await openMemory(page)
      await dialog.locator('.fdt-segmented label', { hasText: 'Package' }).click()
      await dialog.locator('.fdt-sites[data-group="package"]').waitFor()
      const packages = await dialog.locator('.fdt-site-label').allTextContents()
      assert.equal(packages[0], '(app)')
      assert.ok(packages.includes('fake-dep'), packages.join(', '))
      // The radio keeps focus across the redraw, so arrow keys go on choosing.
      assert.equal(await focusedInToolbar(page, 'value'), 'package')
      await page.keyboard.press('ArrowLeft')
      await dialog.locator('.fdt-sites[data-group="file"]').waitFor()
      assert.equal(await dialog.locator('.fdt-site-label').first().textContent(), TOP_FILE)

      await dialog.locator('input[name="include"]').fill('report')
      await dialog.locator('input[name="include"]').press('Enter')
      await dialog.locator('.fdt-sites[data-group="file"] .fdt-site').first().waitFor()
      await page.waitForFunction(() => {
        const host = document.querySelector('fdt-toolbar')
        return host?.shadowRoot?.querySelectorAll('.fdt-site').length === 1
      }, undefined, { timeout: ACTION_TIMEOUT_MS })
      assert.equal(await dialog.locator('input[name="include"]').inputValue(), 'report')
      assert.match(await dialog.locator('.fdt-allocs > p.fdt-muted').first().textContent() ?? '', /^The filters hide \d+ sites? \(/)
    })
  })

  test('counts builtins toward their callers until the panel\'s Builtins switch lists them apart, keeping the grouping', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage({ width: 1280, height: 720 }, async (page) => {
      await open(page, `${base}${ROUTE}`)
      const dialog = await openMemory(page)
      await dialog.locator('.fdt-segmented[data-builtins="folded"]').waitFor()
      assert.equal((await dialog.locator('.fdt-site-label').allTextContents()).includes('split'), false)
      assert.match(await dialog.locator('.fdt-builtins-note').textContent() ?? '', /count toward the JavaScript function that called them/)
      await dialog.locator('.fdt-segmented label', { hasText: 'Apart' }).click()
      await dialog.locator('.fdt-segmented[data-builtins="apart"]').waitFor()
      const functions = await dialog.locator('.fdt-site-label').allTextContents()
      assert.equal(functions[0], TOP_FUNCTION)
      assert.ok(functions.includes('split'), functions.join(', '))
      assert.equal(await focusedInToolbar(page, 'value'), 'apart')
      await dialog.locator('.fdt-segmented label', { hasText: 'Package' }).click()
      await dialog.locator('.fdt-sites[data-group="package"]').waitFor()
      assert.ok((await dialog.locator('.fdt-site-label').allTextContents()).includes('(native)'))
      assert.equal(await dialog.locator('input[name="builtins"][value="apart"]').isChecked(), true)
      await page.screenshot({ path: `${RESULTS}allocations-builtins-apart.png` })
    })
  })

  test('draws the flame graph in the panel and moves, zooms and resets it from the keyboard', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage({ width: 1280, height: 720 }, async (page) => {
      await open(page, `${base}${ROUTE}`)
      const dialog = await openMemory(page)
      const button = dialog.locator('[data-action="flamegraph"]')
      await button.click()
      assert.equal(await button.getAttribute('aria-expanded'), 'true')
      const frames = dialog.locator('.fdt-flame g.frame')
      await frames.first().waitFor()
      // The pointer off the graph: hovering a frame also writes its label into the details line.
      await page.mouse.move(1, 1)
      // The widget's own stylesheet is adopted inside the shadow root, and it left no global behind.
      assert.equal(await dialog.locator('.fdt-flame .d3-flame-graph-label').first().evaluate((el) => getComputedStyle(el).whiteSpace), 'nowrap')
      assert.equal(await page.evaluate(() => 'flamegraph' in window), false)

      // Focus starts on the top site; Home goes to the root, Down into the widest callee, back to the top site.
      await page.waitForFunction(() => document.activeElement?.shadowRoot?.activeElement?.matches('g.frame') === true, undefined, { timeout: ACTION_TIMEOUT_MS })
      assert.match(await focusedFrame(page) ?? '', new RegExp(`^${TOP_FUNCTION}, ${TOP_FILE}:28: `))
      assert.match(await dialog.locator('.fdt-flame-details').textContent() ?? '', new RegExp(`^${TOP_FUNCTION}, `))
      await page.keyboard.press('Home')
      assert.match(await focusedFrame(page) ?? '', /^all sampled allocations: /)
      let label = ''
      for (let i = 0; i < 60 && !label.startsWith(`${TOP_FUNCTION},`); i++) {
        await page.keyboard.press('ArrowDown')
        label = await focusedFrame(page) ?? ''
      }
      assert.match(label, new RegExp(`^${TOP_FUNCTION}, ${TOP_FILE}:28: `))
      // Right and Left move along the row and back.
      await page.keyboard.press('ArrowRight')
      assert.doesNotMatch(await focusedFrame(page) ?? '', new RegExp(`^${TOP_FUNCTION},`))
      await page.keyboard.press('ArrowLeft')
      assert.match(await focusedFrame(page) ?? '', new RegExp(`^${TOP_FUNCTION},`))

      // Enter zooms: the frame fills the width.
      const chartWidth = await dialog.locator('.fdt-flame-chart svg').evaluate((el) => el.getBoundingClientRect().width)
      await page.keyboard.press('Enter')
      const zoomed = dialog.locator('.fdt-flame g.frame[aria-pressed="true"]')
      await zoomed.waitFor()
      await page.waitForFunction((w) => {
        const g = document.querySelector('fdt-toolbar')?.shadowRoot?.querySelector('.fdt-flame g.frame[aria-pressed="true"] rect')
        return g !== null && g !== undefined && g.getBoundingClientRect().width >= w - 2
      }, chartWidth, { timeout: ACTION_TIMEOUT_MS })
      assert.match(await dialog.locator('.fdt-flame-details').textContent() ?? '', new RegExp(`^Zoomed into ${TOP_FUNCTION}\\.`))
      await page.screenshot({ path: `${RESULTS}allocations-flamegraph-zoomed.png` })

      // Escape zooms out and keeps the drawer open; a second Escape closes it.
      await page.keyboard.press('Escape')
      await zoomed.waitFor({ state: 'detached' })
      assert.equal(await dialog.isVisible(), true)
      assert.match(await focusedFrame(page) ?? '', new RegExp(`^${TOP_FUNCTION},`))
      await page.keyboard.press('Home')
      assert.match(await focusedFrame(page) ?? '', /^all sampled allocations: /)
      await page.keyboard.press('End')
      await settled(page)
      await page.screenshot({ path: `${RESULTS}allocations-flamegraph.png` })
      await page.keyboard.press('Escape')
      await dialog.waitFor({ state: 'hidden' })
    })
  })

  test('downloads the request\'s .heapprofile, which parses as a V8 sampling heap profile, and its record', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage({ width: 1280, height: 720 }, async (page) => {
      const id = await open(page, `${base}${ROUTE}`)
      const dialog = await openMemory(page)
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        dialog.locator('a[data-download="heapprofile"]').click()
      ])
      assert.match(download.suggestedFilename(), /^fdt-get-allocations-[0-9a-f]{8}\.heapprofile$/)
      const profile = JSON.parse(readFileSync(await download.path(), 'utf8')) as { head: HeapNode, samples: Array<{ size: number, nodeId: number, ordinal: number }> }
      const nodes: HeapNode[] = []
      const visit = (n: HeapNode): void => {
        assert.equal(typeof n.callFrame.functionName, 'string')
        assert.equal(typeof n.callFrame.scriptId, 'string')
        assert.equal(typeof n.callFrame.url, 'string')
        assert.ok(Number.isInteger(n.callFrame.lineNumber) && n.callFrame.lineNumber >= -1)
        assert.ok(Number.isInteger(n.callFrame.columnNumber) && n.callFrame.columnNumber >= -1)
        assert.ok(Number.isFinite(n.selfSize) && n.selfSize >= 0)
        assert.ok(Number.isInteger(n.id))
        assert.ok(Array.isArray(n.children))
        nodes.push(n)
        n.children.forEach(visit)
      }
      visit(profile.head)
      assert.ok(Array.isArray(profile.samples) && profile.samples.length > 0)
      const ids = new Set(nodes.map((n) => n.id))
      assert.equal(ids.size, nodes.length, 'node ids are unique')
      for (const s of profile.samples) assert.ok(ids.has(s.nodeId) && s.size > 0 && Number.isInteger(s.ordinal))
      const report = nodes.find((n) => n.callFrame.functionName === TOP_FUNCTION)
      assert.ok(report !== undefined, 'the profile has the top site')
      assert.ok(report.callFrame.url.endsWith(TOP_FILE), report.callFrame.url)
      const a = await sampledRecord(base, id)
      assert.equal(nodes.reduce((n, x) => n + x.selfSize, 0), a.sampledBytes)

      const [json] = await Promise.all([
        page.waitForEvent('download'),
        dialog.locator('a[data-download="record"]').click()
      ])
      const record = JSON.parse(readFileSync(await json.path(), 'utf8')) as StoredRecord
      assert.equal(record.id, id)
      assert.deepEqual(record.memory.allocations, a)
    })
  })

  test('compares two requests of the same route on a page of its own, and draws the flame graph on the request page', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage({ width: 1280, height: 720 }, async (page, context) => {
      const earlier = await open(page, `${base}${ROUTE}`)
      const later = await open(page, `${base}${ROUTE}`)
      const dialog = await openMemory(page)
      const link = dialog.locator(`a.fdt-compare-link[href="${PREFIX}/requests/${later}/compare/${earlier}"]`)
      await link.waitFor()
      const [compare] = await Promise.all([context.waitForEvent('page'), link.click()])
      await compare.waitForLoadState()
      assert.equal(await compare.locator('h1').textContent(), 'Allocation sites compared')
      assert.equal(await compare.locator('[data-side="base"] a').getAttribute('href'), `${PREFIX}/requests/${earlier}`)
      assert.equal(await compare.locator('[data-side="target"] a').getAttribute('href'), `${PREFIX}/requests/${later}`)
      const row = compare.locator('.fdt-compare-table tbody tr', { hasText: TOP_FUNCTION })
      assert.equal(await row.count(), 1)
      assert.match(await row.getAttribute('data-change') ?? '', /^(grew|shrank|same)$/)
      await compare.locator('.fdt-segmented label', { hasText: 'Package' }).click()
      await compare.waitForURL(/group=package/)
      const packages = await compare.locator('.fdt-compare-table tbody .fdt-site-label').allTextContents()
      assert.ok(packages.includes('(app)') && packages.includes('fake-dep'), packages.join(', '))
      // Largest change first, as pytracemalloc orders a comparison.
      const deltas = (await compare.locator('.fdt-compare-table tbody td:last-child').allTextContents()).map(prettyBytes)
      for (let i = 1; i < deltas.length; i++) assert.ok(Math.abs(deltas[i] ?? 0) <= Math.abs(deltas[i - 1] ?? 0) * 1.006 + 1, `deltas in order: ${deltas.join(', ')}`)
      await compare.screenshot({ path: `${RESULTS}allocations-compare.png`, fullPage: true })

      await compare.goto(`${base}${PREFIX}/requests/${later}`)
      await compare.locator('#fdt-panel-memory [data-action="flamegraph"]').click()
      await compare.locator('#fdt-panel-memory .fdt-flame g.frame').first().waitFor()
      await compare.waitForFunction(() => document.activeElement?.matches('g.frame') === true, undefined, { timeout: ACTION_TIMEOUT_MS })
      assert.match(await compare.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? ''), new RegExp(`^${TOP_FUNCTION}, ${TOP_FILE}:28: `))
      await compare.keyboard.press('Home')
      assert.match(await compare.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? ''), /^all sampled allocations: /)
      await settled(compare, true)
      await compare.screenshot({ path: `${RESULTS}allocations-request-page.png` })
    })
  })

  test('fits a 420 px wide window: the sites, the form and the flame graph stay inside the drawer', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage({ width: 420, height: 860 }, async (page) => {
      await open(page, `${base}${ROUTE}`)
      const dialog = await openMemory(page)
      await dialog.locator('.fdt-site').first().waitFor()
      const body = page.locator('.fdt-drawer-body')
      const overflow = await body.evaluate((el) => el.scrollWidth - el.clientWidth)
      assert.ok(overflow <= 1, `the panel scrolls sideways by ${overflow}px`)
      await dialog.locator('.fdt-allocs').scrollIntoViewIfNeeded()
      await dialog.locator('.fdt-site').first().locator('summary').click()
      await page.screenshot({ path: `${RESULTS}allocations-narrow.png` })
      await dialog.locator('[data-action="flamegraph"]').click()
      await dialog.locator('.fdt-flame g.frame').first().waitFor()
      await settled(page)
      const svgWidth = await dialog.locator('.fdt-flame-chart svg').evaluate((el) => el.getBoundingClientRect().width)
      const chartWidth = await dialog.locator('.fdt-flame-chart').evaluate((el) => el.clientWidth)
      assert.ok(svgWidth <= chartWidth + 1, `flame graph ${svgWidth}px in a ${chartWidth}px box`)
      assert.equal(await body.evaluate((el) => el.scrollWidth - el.clientWidth), 0)
      await page.screenshot({ path: `${RESULTS}allocations-narrow-flamegraph.png` })
    })
  })

  test('works under @fastify/helmet CSP nonces: panel, flame graph and compare page without a CSP violation', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage({ width: 1280, height: 720 }, async (page, context) => {
      const problems: string[] = []
      const watch = (p: Page): void => {
        p.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning' || /Content Security Policy/i.test(m.text())) problems.push(`${m.type()}: ${m.text()}`) })
      }
      watch(page)
      context.on('page', watch)
      await context.addInitScript(() => {
        const seen: string[] = []
        Object.defineProperty(window, '__cspViolations', { value: seen })
        document.addEventListener('securitypolicyviolation', (e) => { seen.push(`${e.violatedDirective} ${e.blockedURI}`) }, true)
      })
      const earlier = await open(page, `${cspBase}/report`)
      const res = await page.goto(`${cspBase}/report`)
      const later = res?.headers()['x-debug-toolbar-id'] ?? ''
      assert.match(res?.headers()['content-security-policy'] ?? '', /script-src[^;]*'nonce-/)
      const dialog = await openMemory(page)
      assert.equal(await dialog.locator('.fdt-site-label').first().textContent(), TOP_FUNCTION)
      await dialog.locator('[data-action="flamegraph"]').click()
      await dialog.locator('.fdt-flame g.frame').first().waitFor()
      await page.keyboard.press('ArrowDown')
      await page.keyboard.press('Enter')
      await dialog.locator('.fdt-flame g.frame[aria-pressed="true"]').waitFor()
      await dialog.locator('.fdt-segmented label', { hasText: 'File' }).click()
      await dialog.locator('.fdt-sites[data-group="file"]').waitFor()
      assert.deepEqual(await page.evaluate(() => (window as unknown as { __cspViolations: string[] }).__cspViolations), [])

      const compare = await context.newPage()
      await compare.goto(`${cspBase}${PREFIX}/requests/${later}/compare/${earlier}`)
      await compare.locator('.fdt-compare-table').waitFor()
      await compare.goto(`${cspBase}${PREFIX}/requests/${later}`)
      await compare.locator('#fdt-panel-memory [data-action="flamegraph"]').click()
      await compare.locator('#fdt-panel-memory .fdt-flame g.frame').first().waitFor()
      assert.deepEqual(await compare.evaluate(() => (window as unknown as { __cspViolations: string[] }).__cspViolations), [])
      assert.deepEqual(problems, [])
    })
  })
})

// Helpers.

/** An app with helmet's CSP (nonces) before the toolbar, and a page whose handler calls buildReport(). */
async function buildCspApp (): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(helmet, { enableCSPNonces: true })
  await app.register(debugToolbar, { enabled: true, allocations: { requests: 'all' } })
  app.get('/report', async (_request, reply) => {
    const report = buildReport()
    return reply.type('text/html; charset=utf-8').send(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Report</title></head><body><h1>Report</h1><p>${report.rows.length} rows</p></body></html>`)
  })
  app.get('/favicon.ico', async (_request, reply) => reply.code(204).send())
  return app
}

/** Go to a URL; the record id of the page. */
async function open (page: Page, url: string): Promise<string> {
  const res = await page.goto(url)
  const id = res?.headers()['x-debug-toolbar-id'] ?? ''
  assert.match(id, /^[0-9a-f]{32}$/)
  return id
}

/** Expand the bar if needed and open the Memory panel; the drawer. */
async function openMemory (page: Page) {
  const handle = page.locator('.fdt-handle')
  await handle.waitFor()
  if (await handle.getAttribute('aria-expanded') !== 'true') await handle.click()
  await page.locator('.fdt-nav [data-open-panel="memory"]').click()
  const dialog = page.locator('[role="dialog"]')
  await dialog.locator('[data-panel="memory"]').waitFor()
  return dialog
}

async function sampledRecord (origin: string, id: string): Promise<AllocationsRecord> {
  const res = await fetch(`${origin}${PREFIX}/api/requests/${id}`, { signal: AbortSignal.timeout(ACTION_TIMEOUT_MS) })
  assert.equal(res.status, 200)
  const a = (await res.json() as StoredRecord).memory.allocations
  assert.ok(a !== undefined && 'sites' in a, `sampled: ${JSON.stringify(a)}`)
  return a
}

/** A fresh context (no cookies, no localStorage) and page; fails the test on any uncaught page error. */
async function withPage (viewport: { width: number, height: number }, run: (page: Page, context: BrowserContext) => Promise<void>): Promise<void> {
  assert.ok(browser !== undefined, 'browser launched')
  const context = await browser.newContext({ viewport, acceptDownloads: true })
  const pageErrors: string[] = []
  context.on('page', (p) => { p.on('pageerror', (err) => { pageErrors.push(err.message) }) })
  try {
    const page = await context.newPage()
    page.setDefaultTimeout(ACTION_TIMEOUT_MS)
    await run(page, context)
    assert.deepEqual(pageErrors, [], 'no uncaught error in the page')
  } finally {
    await context.close()
  }
}

/** The flame graph's transitions have ended (in the toolbar, or on the page when `inPage`). */
async function settled (page: Page, inPage = false): Promise<void> {
  // d3 keeps a node's running transitions in its `__transition` property until they end.
  await page.waitForFunction((onPage) => {
    const root = onPage ? document : document.querySelector('fdt-toolbar')?.shadowRoot
    const nodes = [...(root?.querySelectorAll('.fdt-flame g.frame, .fdt-flame g.frame *') ?? [])]
    return nodes.length > 0 && nodes.every((n) => !('__transition' in n))
  }, inPage, { timeout: ACTION_TIMEOUT_MS })
}

/** An attribute of the element focused inside the toolbar's shadow root. */
async function focusedInToolbar (page: Page, attribute: string): Promise<string | null> {
  return await page.evaluate((attr) => {
    const el = document.activeElement?.shadowRoot?.activeElement
    return el === null || el === undefined ? null : el.getAttribute(attr)
  }, attribute)
}

/** The aria-label of the flame graph frame focused inside the toolbar. */
async function focusedFrame (page: Page): Promise<string | null> {
  return await page.evaluate(() => {
    const el = document.activeElement?.shadowRoot?.activeElement
    return el?.matches('g.frame') === true ? el.getAttribute('aria-label') : null
  })
}

const UNITS: Record<string, number> = { B: 1, kB: 1e3, MB: 1e6, GB: 1e9 }

/** '+1.71 MB', '-512 kB', '0 B' (pretty-bytes, signed) as a number of bytes. */
function prettyBytes (shown: string): number {
  const m = /^([+-]?)(\d+(?:\.\d+)?) (B|kB|MB|GB)$/.exec(shown.trim())
  assert.ok(m !== null, `"${shown}" looks like pretty bytes`)
  return (m[1] === '-' ? -1 : 1) * Number(m[2]) * (UNITS[m[3] ?? 'B'] ?? 1)
}

/** '1.71 MB' (pretty-bytes) is `bytes` to three significant digits. */
function assertSameBytes (shown: string, bytes: number): void {
  const m = /^(\d+(?:\.\d+)?) (B|kB|MB|GB)$/.exec(shown.trim())
  assert.ok(m !== null, `"${shown}" looks like pretty bytes`)
  const magnitude = Number(m[1]) * (UNITS[m[2] ?? 'B'] ?? 1)
  assert.ok(Math.abs(magnitude - bytes) <= bytes * 0.006 + 1, `"${shown}" against ${bytes} bytes`)
}
