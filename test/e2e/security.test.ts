/**
 * Hostile input in a real browser. Requests carry payloads in their URL path, query names and values,
 * header names and values, cookie names and route names; then Chromium opens the history page, every
 * request page, and the toolbar with every panel on each hostile HTML page. Traps: every payload
 * bumps window.__xss (or opens a dialog, or loads a missing image) if it ever runs; console errors
 * and uncaught page errors are collected. Markup must hold: as many rows, panels and table cells as
 * the records have, each hostile string shown as text. The same walk under @fastify/helmet's strict
 * CSP with nonces must report no violation. test/security.test.ts runs the corpus server-side;
 * test/e2e/toolbar.test.ts covers the toolbar's own features under CSP.
 *
 * Skipped when the browser is missing, unless DEBUG_TOOLBAR_REQUIRE_BROWSER=1.
 */
import assert from 'node:assert/strict'
import { request as httpRequest, createServer, type OutgoingHttpHeaders, type Server } from 'node:http'
import { after, before, describe, test } from 'node:test'
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify'
import helmet from '@fastify/helmet'
import { type Browser, type BrowserContext, type Page } from 'playwright-core'
import { SKIP, launchBrowser } from './browser.ts'
import debugToolbar from '../../src/index.ts'

const PREFIX = '/__debug'
const TEST_TIMEOUT_MS = 240_000
const ACTION_TIMEOUT_MS = 10_000

/** Payloads for every place that takes free text. Each one bumps window.__xss (or parent.__xss) if it ever runs. */
export const PAYLOADS = [
  '<script>window.__xss++</script>',
  '"><img src=x onerror=window.__xss++>',
  "'><svg onload=window.__xss++>",
  'javascript:window.__xss++',
  '" autofocus onfocus="window.__xss++" x="',
  "' onmouseover='window.__xss++' x='",
  '</textarea></title></style></script><script>window.__xss++</script>',
  '</td></tr></tbody></table></div></section><h1>broken</h1>',
  '\u202e<img src=x onerror=window.__xss++>\u200b\u2066',
  '<%= it %><%~ it.prefix %><%= 7*7 %>',
  // A template literal and an Angular-style expression.
  '$' + "{window.__xss++}{{constructor.constructor('window.__xss++')()}}",
  '<iframe srcdoc="<script>parent.__xss++</script>"></iframe>',
  '&lt;img src=x onerror=window.__xss++&gt;&#60;script&#62;window.__xss++&#60;/script&#62;'
] as const

/** Header names can only hold token characters (RFC 9110): the hostile ones that fit. */
export const HEADER_NAMES = ['x-&#60script&#62', 'x-&ltimg&gt', "x-'onfocus'", 'x-`backtick`', 'x-|pipe|~', 'x-%3Cscript%3E', 'x-$it$', 'x-!#*+.^_'] as const

/** Cookie names (no ; or =, which would end the name). */
export const COOKIE_NAMES = [
  '<script>window.__xss++</script>',
  '"><b>bold</b>',
  '</td></tr></tbody></table></div><h1>broken</h1>',
  '<%= it %>',
  '$' + '{window.__xss++}',
  'javascript:window.__xss++',
  latin1('\u202e<i>rtl</i>\u200b')
] as const

/** Route paths the app registers under /route/ ('::' is find-my-way's literal colon). */
export const ROUTE_NAMES = [
  '<script>window.__xss++</script>',
  '"><img src=x onerror=window.__xss++>',
  "'><svg onload=window.__xss++>",
  'javascript::window.__xss++',
  '\u202e<b>rtl</b>\u200b',
  '</td></tr></tbody></table></div><h1>broken</h1>',
  "{{constructor.constructor('window.__xss++')()}}"
] as const

/** Planted in Authorization, Proxy-Authorization, cookie values and the app's Set-Cookie: never stored, never shown. */
const SECRET = 'fdt-planted-secret'

const HTML = '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Hostile</title></head><body><main><h1>Hostile request</h1><p>The toolbar shows this request.</p></main></body></html>'

/** The app under attack: HTML pages behind a parametric route, a wildcard and hostile static routes. */
async function buildHostileApp (csp: boolean): Promise<FastifyInstance> {
  const app = Fastify()
  if (csp) await app.register(helmet, { enableCSPNonces: true })
  await app.register(debugToolbar, { enabled: true, maxRequests: 1000 })
  const page = async (_q: unknown, reply: FastifyReply): Promise<unknown> => reply.header('set-cookie', `sid=${SECRET}-set-cookie; Path=/; HttpOnly; SameSite=Strict`).type('text/html; charset=utf-8').send(HTML)
  app.get('/page/:name', page)
  app.get('/q', page)
  app.get('/raw/*', page)
  for (const name of ROUTE_NAMES) app.get(`/route/${name}`, page)
  app.get('/favicon.ico', { config: { debugToolbar: false } }, async (_q, reply) => reply.code(204).send())
  // The control: a page that does render a payload raw, to prove the traps fire. Never recorded.
  app.get('/control', { config: { debugToolbar: false } }, async (_q, reply) => reply.type('text/html; charset=utf-8').send(HTML.replace('</main>', `${PAYLOADS[1]}</main>`)))
  return app
}

interface StoredRecord {
  id: string
  url: string
  route: string
  statusCode: number
  request: { headers: Record<string, string>, query: Record<string, string> }
  response: { headers: Record<string, string> }
}

interface Nav { panels: Array<{ id: string, title: string }> }

interface Site {
  app: FastifyInstance
  base: string
  /** The HTML pages the browser loaded itself, with the hostile headers it sent: the toolbar is opened on these. */
  pages: Array<{ url: string, headers: Record<string, string> }>
}

let browser: Browser | undefined
let plain: Site | undefined
let strict: Site | undefined
const cases: Record<string, number> = {}

describe('hostile input in a real browser', { skip: SKIP, timeout: 900_000 }, () => {
  before(async () => {
    browser = await launchBrowser()
    plain = await attack(false)
    strict = await attack(true)
  })

  after(async () => {
    await browser?.close()
    await plain?.app.close()
    await strict?.app.close()
  })

  test('sent every hostile case and each one was stored', { timeout: TEST_TIMEOUT_MS }, async () => {
    for (const site of [plain, strict]) {
      assert.ok(site !== undefined)
      const records = await getJson<StoredRecord[]>(`${site.base}${PREFIX}/api/requests`)
      assert.equal(records.length, expectedRecords(), `${site.base}: one record a case (${JSON.stringify(cases)})`)
    }
    assert.deepEqual(cases, {
      'URL path, from the browser': PAYLOADS.length,
      'URL path, raw bytes': PAYLOADS.length,
      'query names and values': PAYLOADS.length,
      'header values': PAYLOADS.length,
      'header names': HEADER_NAMES.length,
      'cookie names': COOKIE_NAMES.length,
      'route names': ROUTE_NAMES.length
    })
  })

  test('no payload runs, no markup breaks and no planted secret shows on the history page, every request page and every toolbar panel', { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.ok(plain !== undefined)
    const seen = await walk(plain, false)
    assert.equal(seen.requestPages, expectedRecords())
    assert.equal(seen.toolbarPages, plain.pages.length)
  })

  test('under @fastify/helmet\'s strict CSP with nonces the same walk reports no CSP violation', { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.ok(strict !== undefined)
    const res = await fetch(`${strict.base}${PREFIX}/`)
    assert.match(res.headers.get('content-security-policy') ?? '', /script-src[^;]*'nonce-/, 'the toolbar\'s own pages are served under the app\'s CSP')
    const seen = await walk(strict, true)
    assert.equal(seen.requestPages, expectedRecords())
    assert.equal(seen.toolbarPages, strict.pages.length)
  })

  test('the traps fire on a control page that renders a payload raw (and CSP reports it)', { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.ok(plain !== undefined && strict !== undefined)
    for (const [site, csp] of [[plain, false], [strict, true]] as const) {
      await withPage(csp, async (page, traps) => {
        await page.goto(`${site.base}/control`)
        await page.waitForLoadState('load')
        const failed = await traps.assertClean('control').then(() => undefined, (err: Error) => err.message)
        assert.ok(failed !== undefined, `${csp ? 'CSP' : 'plain'}: the traps caught the raw payload`)
        if (csp) assert.match(failed, /CSP violations|Content Security Policy/, 'the CSP listener saw the blocked handler')
        else assert.match(failed, /window.__xss = 1|request for an injected resource/, 'the payload ran and was counted')
        traps.reset()
      })
    }
  })

  test('the Clear history form works without JavaScript, and under helmet\'s CSP and no-referrer policy from the History panel\'s link', { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.ok(browser !== undefined && plain !== undefined && strict !== undefined)
    // Plain app, JavaScript off: the history page's form alone.
    const noJs = await browser.newContext({ javaScriptEnabled: false })
    try {
      const page = await noJs.newPage()
      page.setDefaultTimeout(ACTION_TIMEOUT_MS)
      await page.goto(`${plain.base}${PREFIX}/`)
      assert.ok(await page.locator('tr[data-id]').count() > 0)
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith(`${PREFIX}/api/requests/clear`)),
        page.locator('form.fdt-clear button[type="submit"]').click()
      ])
      assert.equal(response.status(), 303)
      await page.waitForURL(`${plain.base}${PREFIX}/`)
      assert.match(await page.locator('main').textContent() ?? '', /0 of at most 1000 kept in memory/)
      assert.equal((await getJson<unknown[]>(`${plain.base}${PREFIX}/api/requests`)).length, 0)
    } finally {
      await noJs.close()
    }

    // CSP app (helmet: strict CSP with nonces, form-action 'self', Referrer-Policy: no-referrer on
    // the app's pages): from the toolbar's History panel to the history page's form, and submit.
    const site = strict
    await withPage(true, async (page, traps) => {
      const res = await page.goto(`${site.base}/page/clear-me`)
      assert.equal(res?.headers()['referrer-policy'], 'no-referrer')
      assert.ok((await getJson<unknown[]>(`${site.base}${PREFIX}/api/requests`)).length > 1)
      await page.locator('.fdt-handle').click()
      await page.locator('.fdt-nav [data-open-panel="history"]').click()
      const link = page.locator('[role="dialog"] [data-panel="history"] a[href$="/#fdt-clear"]')
      assert.equal(await page.locator('[role="dialog"] form').count(), 0, 'no token in the app\'s page')
      await traps.assertClean('History panel under CSP')
      await Promise.all([page.waitForURL(`${site.base}${PREFIX}/#fdt-clear`), link.click()])
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith(`${PREFIX}/api/requests/clear`)),
        page.waitForURL(`${site.base}${PREFIX}/`),
        page.locator('form#fdt-clear button[type="submit"]').click()
      ])
      assert.equal(response.status(), 303, 'the browser sent the page\'s own Origin (the toolbar page is same-origin, not no-referrer)')
      assert.equal((await getJson<unknown[]>(`${site.base}${PREFIX}/api/requests`)).length, 0)
      assert.match(await page.locator('main').textContent() ?? '', /0 of at most 1000 kept in memory/)
      await traps.assertClean('history page after clearing under CSP')
    })
  })

  test('a cross-site page cannot clear the history: its form post and its fetch() are refused', { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.ok(browser !== undefined)
    const site = await attack(false, false)
    const evil = await evilSite(`${site.base}${PREFIX}/api/requests/clear`, await tokenOf(site.base))
    try {
      const count = async (): Promise<number> => (await getJson<unknown[]>(`${site.base}${PREFIX}/api/requests`)).length
      const stored = await count()
      assert.ok(stored > 0)
      await withPage(false, async (page) => {
        await page.goto(`${evil.url}/`)
        for (const form of ['guess', 'leaked']) {
          const [response] = await Promise.all([
            page.waitForResponse((r) => r.url().endsWith('/api/requests/clear')),
            page.locator(`#${form} button`).click()
          ])
          assert.equal(response.status(), 403, `${form} token`)
          const body = await response.json() as { code: string, message: string }
          assert.equal(body.code, 'FST_DEBUG_TOOLBAR_BAD_ORIGIN')
          assert.ok(body.message.includes(`got "${evil.url}"`), `the browser sent the foreign Origin: ${body.message}`)
          assert.equal(await count(), stored, `${form}: nothing cleared`)
          await page.goto(`${evil.url}/`)
        }
        // fetch() with the token header needs a CORS preflight, which the toolbar never grants.
        const outcome = await page.evaluate(async ({ url, token }) => {
          try {
            const r = await fetch(url, { method: 'POST', headers: { 'x-debug-toolbar-token': token } })
            return `answered ${r.status}`
          } catch (err) {
            return `failed: ${(err as Error).name}`
          }
        }, { url: `${site.base}${PREFIX}/api/requests/clear`, token: await tokenOf(site.base) })
        assert.equal(outcome, 'failed: TypeError')
        // A no-cors form-encoded fetch() goes out, with the foreign Origin, and is refused.
        await page.evaluate(async ({ url, token }) => {
          await fetch(url, { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${token}` })
        }, { url: `${site.base}${PREFIX}/api/requests/clear`, token: await tokenOf(site.base) })
        assert.equal(await count(), stored, 'no-cors fetch: nothing cleared')
      })
    } finally {
      await new Promise((resolve) => evil.server.close(resolve))
      await site.app.close()
    }
  })
})

// The attack: send every case to a fresh app.

function expectedRecords (): number {
  return Object.values(cases).reduce((a, b) => a + b, 0)
}

/** Start an app, send every hostile case to it (raw over HTTP, and from the browser), return its pages. */
async function attack (csp: boolean, count = true): Promise<Site> {
  const app = await buildHostileApp(csp)
  try {
    return await sendEveryCase(app, csp, count)
  } catch (err) {
    await app.close()
    throw err
  }
}

async function sendEveryCase (app: FastifyInstance, csp: boolean, count: boolean): Promise<Site> {
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  const tally = (category: string): void => { if (count && !csp) cases[category] = (cases[category] ?? 0) + 1 }
  const pages: Site['pages'] = []

  for (const p of PAYLOADS) {
    await rawGet(base, `/raw/${rawPath(p)}`, {})
    tally('URL path, raw bytes')
    await rawGet(base, `/q?${rawQuery(p)}=${rawQuery(p)}&v=${rawQuery(p)}`, {})
    tally('query names and values')
    await rawGet(base, '/q?h=1', { 'x-hostile': latin1(p), 'user-agent': latin1(p), referer: latin1(p), authorization: `Bearer ${SECRET}-authorization`, 'proxy-authorization': `Basic ${SECRET}-proxy` })
    tally('header values')
  }
  for (const name of HEADER_NAMES) {
    await rawGet(base, '/q?name=1', { [name]: 'v' })
    tally('header names')
  }
  for (const name of COOKIE_NAMES) {
    await rawGet(base, '/q?cookie=1', { cookie: `${name}=${SECRET}-cookie; plain=1` })
    tally('cookie names')
  }

  // HTML pages the browser loads itself (the toolbar is opened on these later), with hostile
  // headers and cookie names on the navigation too.
  assert.ok(browser !== undefined)
  const context = await browser.newContext()
  try {
    const page = await context.newPage()
    page.setDefaultTimeout(ACTION_TIMEOUT_MS)
    const visit = async (path: string, headers: Record<string, string>): Promise<void> => {
      await page.setExtraHTTPHeaders(headers)
      const res = await page.goto(`${base}${path}`)
      assert.equal(res?.status(), 200, path)
      assert.match(res?.headers()['x-debug-toolbar-id'] ?? '', /^[0-9a-f]{32}$/, path)
      pages.push({ url: path, headers })
    }
    for (const p of PAYLOADS) {
      await visit(`/page/${encodeURIComponent(p)}`, { 'x-hostile': ascii(p), cookie: `${ascii(COOKIE_NAMES[0])}=v; ${ascii(COOKIE_NAMES[2])}=w` })
      tally('URL path, from the browser')
    }
    for (const name of ROUTE_NAMES) {
      // encodeURI: what Chromium escapes in a path anyway; find-my-way matches a literal '+' but not %2B.
      await visit(encodeURI(`/route/${name.replace(/::/g, ':')}`), { 'x-hostile': ascii(name) })
      tally('route names')
    }
  } finally {
    await context.close()
  }
  return { app, base, pages }
}

/** The path as sent on the wire: raw except what would end the path or cannot be sent at all. */
function rawPath (s: string): string {
  return s.replace(/[%#? ]|[^\x21-\x7e]/gu, (c) => encodeURIComponent(c))
}

/** Same for a query name or value: also keep & = + from splitting it. */
function rawQuery (s: string): string {
  return s.replace(/[%#&=+ ]|[^\x21-\x7e]/gu, (c) => encodeURIComponent(c))
}

/** A string's UTF-8 bytes as a latin1 string: how non-ASCII text travels in an HTTP header. */
function latin1 (s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1')
}

/** Chromium only sends ASCII header values: non-ASCII characters as '?'. */
function ascii (s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?')
}

async function rawGet (base: string, path: string, headers: OutgoingHttpHeaders): Promise<void> {
  const { hostname, port } = new URL(base)
  await new Promise<void>((resolve, reject) => {
    const req = httpRequest({ hostname, port, path, headers, timeout: ACTION_TIMEOUT_MS }, (res) => {
      res.resume()
      res.on('end', () => {
        if (typeof res.headers['x-debug-toolbar-id'] !== 'string') reject(new Error(`${path}: not profiled (${res.statusCode})`))
        else resolve()
      })
    })
    req.on('timeout', () => { req.destroy(new Error(`GET ${path} timed out`)) })
    req.on('error', reject)
    req.end()
  })
}

async function tokenOf (base: string): Promise<string> {
  const html = await (await fetch(`${base}${PREFIX}/`)).text()
  const m = /name="token" value="([^"]+)"/.exec(html)
  assert.ok(m !== null, 'the history page carries the clear token')
  return m[1] as string
}

/** Another origin (localhost instead of 127.0.0.1, another port) serving plain forms that post to the toolbar. */
async function evilSite (action: string, leakedToken: string): Promise<{ server: Server, url: string }> {
  const page = `<!doctype html><html><body>
<form id="guess" method="post" action="${action}"><input type="hidden" name="token" value="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"><button>Win a prize</button></form>
<form id="leaked" method="post" action="${action}"><input type="hidden" name="token" value="${leakedToken}"><button>Win another</button></form>
</body></html>`
  const server = createServer((req, res) => {
    res.writeHead(req.url === '/' ? 200 : 204, { 'content-type': 'text/html; charset=utf-8' })
    res.end(req.url === '/' ? page : '')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, url: `http://localhost:${(server.address() as { port: number }).port}` }
}

// The walk: every page the toolbar renders, with traps.

interface Traps {
  /** Fails the test if any trap fired; `where` names the page. */
  assertClean (where: string): Promise<void>
  /** Forget what fired so far (for the control page). */
  reset (): void
}

/** A fresh context with traps: __xss counter, dialogs, console errors, page errors, and CSP violation events when `csp`. */
async function withPage (csp: boolean, run: (page: Page, traps: Traps, context: BrowserContext) => Promise<void>): Promise<void> {
  assert.ok(browser !== undefined)
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const problems: string[] = []
  try {
    await context.addInitScript(() => {
      const w = window as unknown as { __xss: number, __csp: string[] }
      w.__xss = 0
      w.__csp = []
      document.addEventListener('securitypolicyviolation', (e) => { w.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample}`) }, true)
    })
    const page = await context.newPage()
    page.setDefaultTimeout(ACTION_TIMEOUT_MS)
    page.on('dialog', (d) => {
      problems.push(`dialog: ${d.message()}`)
      d.dismiss().catch(() => {})
    })
    page.on('pageerror', (err) => { problems.push(`page error: ${err.message}`) })
    page.on('console', (m) => {
      if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) problems.push(`console ${m.type()}: ${m.text()}`)
    })
    page.on('request', (r) => {
      // An injected <img src=x> or <iframe> would fetch something the app never links to.
      const path = new URL(r.url()).pathname
      if (path === '/x' || path.endsWith('/x')) problems.push(`request for an injected resource: ${r.url()}`)
    })
    const traps: Traps = {
      async assertClean (where) {
        const fired = await page.evaluate(() => {
          const w = window as unknown as { __xss?: number, __csp?: string[] }
          return { xss: w.__xss, csp: w.__csp ?? [] }
        })
        assert.equal(fired.xss, 0, `${where}: a payload ran (window.__xss = ${String(fired.xss)})`)
        if (csp) assert.deepEqual(fired.csp, [], `${where}: CSP violations`)
        assert.deepEqual(problems, [], `${where}: traps fired`)
      },
      reset () { problems.length = 0 }
    }
    await run(page, traps, context)
  } finally {
    await context.close()
  }
}

/** What no toolbar page may contain, counted over the document and the toolbar's shadow root. */
interface Hostile { scripts: number, imgs: number, frames: number, handlers: string[], jsLinks: number, h1InToolbar: number, h1: number }

async function hostileMarkup (page: Page): Promise<Hostile> {
  // No named inner functions: tsx would wrap them in a helper the page does not have.
  return await page.evaluate(() => {
    const host = document.querySelector('fdt-toolbar')
    const elements = [...document.querySelectorAll('*'), ...(host?.shadowRoot ? host.shadowRoot.querySelectorAll('*') : [])]
    const out = { scripts: 0, imgs: 0, frames: 0, handlers: [] as string[], jsLinks: 0, h1InToolbar: 0, h1: document.querySelectorAll('h1').length }
    for (const el of elements) {
      const name = el.localName
      // The toolbar's own modules are served from its static folder; any other script is injected.
      if (name === 'script' && !(el.getAttribute('src') ?? '').startsWith('/__debug/static/')) out.scripts++
      if (name === 'img') out.imgs++
      if (name === 'iframe' || name === 'frame' || name === 'object' || name === 'embed') out.frames++
      for (const a of el.getAttributeNames()) {
        if (a.toLowerCase().startsWith('on')) out.handlers.push(`<${name} ${a}>`)
        if ((a === 'href' || a === 'src' || a === 'action' || a === 'formaction') && /^\s*javascript:/i.test(el.getAttribute(a) ?? '')) out.jsLinks++
      }
    }
    out.h1InToolbar = host?.shadowRoot ? host.shadowRoot.querySelectorAll('h1').length : 0
    return out
  })
}

function assertNoHostileMarkup (h: Hostile, where: string): void {
  assert.deepEqual(h, { scripts: 0, imgs: 0, frames: 0, handlers: [], jsLinks: 0, h1InToolbar: 0, h1: 1 }, `${where}: injected markup`)
}

/** [name, value] cells of the key-value tables under `scope` (the Request panel), in document order. */
async function kvCells (page: Page, scopeSelector: string, inToolbar: boolean): Promise<Array<[string, string]>> {
  return await page.evaluate(({ sel, shadow }) => {
    const root: ParentNode | null | undefined = shadow ? document.querySelector('fdt-toolbar')?.shadowRoot : document
    const scope = root?.querySelector(sel)
    if (scope === null || scope === undefined) return []
    return [...scope.querySelectorAll('table.fdt-kv tr')].map((tr) => [tr.querySelector('th')?.textContent ?? '<no th>', tr.querySelector('td')?.textContent ?? '<no td>'] as [string, string])
  }, { sel: scopeSelector, shadow: inToolbar })
}

/** Every header, query and response-header pair of the record, as the Request panel must show them. */
function expectedCells (r: StoredRecord): Array<[string, string]> {
  const sorted = (m: Record<string, string>): Array<[string, string]> => Object.entries(m).sort(([a], [b]) => a.localeCompare(b))
  return [...sorted(r.request.headers), ...sorted(r.request.query), ...sorted(r.response.headers)]
}

/** The page's HTML and the toolbar's shadow root hold no planted secret. */
async function assertNoSecret (page: Page, where: string): Promise<void> {
  const html = await page.evaluate(() => document.documentElement.outerHTML + (document.querySelector('fdt-toolbar')?.shadowRoot?.innerHTML ?? ''))
  assert.ok(!html.includes('fdt-planted-secret'), `${where}: a planted secret is shown`)
}

async function figure (page: Page, scope: string, label: string): Promise<string> {
  return await page.locator(`${scope} .fdt-figure`).filter({ has: page.locator('dt', { hasText: new RegExp(`^${label}$`) }) }).locator('dd.fdt-figure-value').textContent() ?? ''
}

/** Open everything the toolbar renders for this site, checking traps, markup and text on each. */
async function walk (site: Site, csp: boolean): Promise<{ requestPages: number, toolbarPages: number }> {
  const records = await getJson<StoredRecord[]>(`${site.base}${PREFIX}/api/requests`)
  assert.ok(records.length > 0)
  assert.ok(!JSON.stringify(records).includes(SECRET), 'no stored record holds a planted secret')
  assert.ok(records.some((r) => r.request.headers.authorization === '[redacted]') && records.some((r) => r.response.headers['set-cookie'] === '[redacted]'), 'the secrets were sent and redacted')
  const byId = new Map(records.map((r) => [r.id, r]))
  let requestPages = 0
  let toolbarPages = 0

  await withPage(csp, async (page, traps) => {
    // The history page: one row a record, each URL and route shown as text.
    await page.goto(`${site.base}${PREFIX}/`)
    assert.equal(await page.locator('table.fdt-history tbody tr[data-id]').count(), records.length, 'history page rows')
    const rows = await page.locator('table.fdt-history tbody tr[data-id]').evaluateAll((trs) => trs.map((tr) => ({
      id: tr.getAttribute('data-id') ?? '',
      url: tr.querySelector('td.fdt-url a')?.textContent ?? '',
      route: tr.querySelector('td.fdt-url .fdt-route')?.textContent ?? null
    })))
    for (const row of rows) {
      const r = byId.get(row.id)
      assert.ok(r !== undefined, `row ${row.id} is a stored record`)
      assert.equal(row.url, r.url, 'the hostile URL is shown as text')
      if (r.route !== '' && r.route !== r.url) assert.equal(row.route, r.route, 'the hostile route is shown as text')
    }
    assertNoHostileMarkup(await hostileMarkup(page), 'history page')
    await assertNoSecret(page, 'history page')
    await traps.assertClean('history page')

    // Every request page: every panel, every header, query and response-header cell.
    const panels = (await getJson<Nav>(`${site.base}${PREFIX}/requests/${records[0]?.id ?? ''}/toolbar`)).panels
    for (const r of records) {
      await page.goto(`${site.base}${PREFIX}/requests/${r.id}`)
      const where = `request page ${r.url}`
      assert.equal(await page.locator('.fdt-page-url').textContent(), r.url, `${where}: URL as text`)
      assert.equal(await page.locator('section.fdt-page-section').count(), panels.length, `${where}: every panel`)
      for (const p of panels) assert.equal(await page.locator(`#fdt-panel-${p.id} [data-panel="${p.id}"]`).count(), 1, `${where}: panel ${p.id}`)
      assert.deepEqual(await kvCells(page, '#fdt-panel-request', false), expectedCells(r), `${where}: request panel cells`)
      assert.equal(await figure(page, '#fdt-panel-request', 'Route'), r.route === '' ? '(no route matched)' : r.route, `${where}: route as text`)
      assert.equal(await page.locator('#fdt-panel-history table.fdt-history tbody tr').count(), records.length, `${where}: history rows`)
      assertNoHostileMarkup(await hostileMarkup(page), where)
      await assertNoSecret(page, where)
      await traps.assertClean(where)
      requestPages++
    }

    // The toolbar on each hostile HTML page (loaded again, with the same hostile headers), every panel opened.
    for (const { url, headers } of site.pages) {
      const where = `toolbar on ${url}`
      await page.setExtraHTTPHeaders(headers)
      const res = await page.goto(`${site.base}${url}`)
      await page.setExtraHTTPHeaders({})
      const r = await getJson<StoredRecord>(`${site.base}${PREFIX}/api/requests/${res?.headers()['x-debug-toolbar-id'] ?? ''}`)
      assert.equal(r.request.headers['x-hostile'], headers['x-hostile'], `${where}: the hostile header was sent`)
      // The bar remembers being expanded across page loads.
      await page.locator('.fdt-handle').waitFor()
      if (await page.locator('.fdt-handle').getAttribute('aria-expanded') !== 'true') await page.locator('.fdt-handle').click()
      await page.locator('#fdt-bar').waitFor({ state: 'visible' })
      assert.equal(await page.locator('.fdt-current-url').textContent(), r.url, `${where}: current URL as text`)
      assert.equal(await page.locator('.fdt-nav [data-open-panel]').count(), panels.length, `${where}: nav buttons`)
      for (const p of panels) {
        await page.locator(`.fdt-nav [data-open-panel="${p.id}"]`).click()
        await page.locator(`[role="dialog"] [data-panel="${p.id}"]`).waitFor()
        if (p.id === 'request') {
          assert.deepEqual(await kvCells(page, '[data-panel="request"]', true), expectedCells(r), `${where}: request panel cells`)
          assert.equal(await figure(page, '[role="dialog"] [data-panel="request"]', 'URL'), r.url, `${where}: URL figure`)
        }
        if (p.id === 'history') {
          const stored = (await getJson<unknown[]>(`${site.base}${PREFIX}/api/requests`)).length
          assert.equal(await page.locator('[role="dialog"] [data-panel="history"] table.fdt-history tbody tr').count(), stored, `${where}: history panel rows`)
        }
        assertNoHostileMarkup(await hostileMarkup(page), `${where}, panel ${p.id}`)
        await assertNoSecret(page, `${where}, panel ${p.id}`)
      }
      await traps.assertClean(where)
      toolbarPages++
    }
  })
  // Toolbar routes are never recorded: the store grew by the toolbar pages' own loads only.
  const after = await getJson<StoredRecord[]>(`${site.base}${PREFIX}/api/requests`)
  assert.equal(after.length, records.length + toolbarPages)
  return { requestPages, toolbarPages }
}

async function getJson<T> (url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(ACTION_TIMEOUT_MS) })
  assert.equal(res.status, 200, `GET ${url}`)
  return await res.json() as T
}
