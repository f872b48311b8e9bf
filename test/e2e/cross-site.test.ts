/**
 * Other sites in a real browser. The app runs on http://localhost:A with @fastify/cors open to every
 * origin; a second server serves pages from http://127.0.0.1:B (another site) and http://localhost:B
 * (the same site, another origin). Their scripts try to read the toolbar and to switch its modes on;
 * their iframes try to show the history page (clickjacking).
 *
 * Skipped when the browser is missing, unless DEBUG_TOOLBAR_REQUIRE_BROWSER=1.
 */
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import { after, before, describe, test } from 'node:test'
import Fastify, { type FastifyInstance } from 'fastify'
import cors from '@fastify/cors'
import type { Browser, Page } from 'playwright-core'
import { SKIP, launchBrowser } from './browser.ts'
import debugToolbar, { type RequestRecord } from '../../src/index.ts'

const PREFIX = '/__debug'
const TIMEOUT_MS = 120_000
const SECRET_PATH = '/account/SECRET-PATH-SEGMENT'

interface Sites { app: FastifyInstance, appBase: string, other: Server, port: number }

async function startSites (): Promise<Sites> {
  const app = Fastify()
  await app.register(cors, { origin: true, credentials: true })
  await app.register(debugToolbar, { enabled: true, allocations: { requests: 'marked' } })
  app.get('/json', async () => ({ ok: true }))
  app.get('/account/:secret', async () => ({ account: true }))
  app.get('/page', async (_request, reply) => reply.type('text/html').send('<html><body><p>page</p></body></html>'))
  // A page of the app's own origin framing the history page: the one framing allowed.
  app.get('/framer', async (_request, reply) => reply.type('text/html').send(`<html><body><iframe id="f" src="${PREFIX}/"></iframe></body></html>`))
  await app.listen({ port: 0, host: '127.0.0.1' })
  const appBase = `http://localhost:${(app.server.address() as { port: number }).port}`
  // The other origin's page: an iframe of the history page, scripts run by the test.
  const other = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' })
    res.end(`<html><body><p>other site</p><iframe id="f" src="${appBase}${PREFIX}/" width="600" height="400"></iframe></body></html>`)
  })
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve))
  return { app, appBase, other, port: (other.address() as { port: number }).port }
}

async function records (app: FastifyInstance): Promise<RequestRecord[]> {
  return (await app.inject(`${PREFIX}/api/requests`)).json()
}

/** What a script on the page gets from fetch(url): the body, or how it failed. */
async function tryFetch (page: Page, url: string, init: RequestInit = {}): Promise<string> {
  return await page.evaluate(async ({ url, init }) => {
    try {
      const r = await fetch(url, { credentials: 'include', ...init })
      return `read ${r.status}: ${await r.text()}`
    } catch (err) {
      return `failed: ${(err as Error).name}`
    }
  }, { url, init: init as Record<string, unknown> })
}

/** What the iframe on the page shows (empty when the browser refused to render it there). */
async function framed (page: Page): Promise<string> {
  const frame = await (await page.waitForSelector('#f')).contentFrame()
  assert.ok(frame !== null)
  await frame.waitForLoadState('load').catch(() => {})
  return await frame.evaluate(() => document.documentElement.outerHTML).catch((err: Error) => `(no access: ${err.message})`)
}

describe('other sites in Chromium', { skip: SKIP }, () => {
  let browser: Browser | undefined
  let sites: Sites | undefined
  before(async () => {
    browser = await launchBrowser()
    sites = await startSites()
  })
  after(async () => {
    await browser?.close()
    if (sites !== undefined) {
      await sites.app.close()
      await new Promise((resolve) => sites?.other.close(resolve))
    }
  })

  async function withPage (fn: (page: Page) => Promise<void>): Promise<void> {
    assert.ok(browser !== undefined)
    const context = await browser.newContext()
    try {
      await fn(await context.newPage())
    } finally {
      await context.close()
    }
  }

  test('with the app\'s CORS open to every origin, a page on another site reads the app but nothing of the toolbar', { timeout: TIMEOUT_MS }, async () => {
    const { app, appBase, port } = sites as Sites
    const secret = await app.inject(SECRET_PATH)
    const id = String(secret.headers['x-debug-toolbar-id'])
    for (const origin of [`http://127.0.0.1:${port}`, `http://localhost:${port}`]) {
      await withPage(async (page) => {
        await page.goto(`${origin}/`)
        assert.match(await tryFetch(page, `${appBase}/json`), /^read 200: \{"ok":true\}$/, `${origin}: the app's CORS lets it read the app`)
        for (const path of ['/api/requests', `/api/requests/${id}`, '/', `/requests/${id}`, `/requests/${id}/record.json`, '/api/store']) {
          const got = await tryFetch(page, `${appBase}${PREFIX}${path}`)
          assert.equal(got, 'failed: TypeError', `${origin}: ${path} is not readable (${got.slice(0, 200)})`)
        }
      })
    }
    // The app's own page still reads the toolbar.
    await withPage(async (page) => {
      await page.goto(`${appBase}/page`)
      const got = await tryFetch(page, `${appBase}${PREFIX}/api/requests`)
      assert.match(got, /^read 200: /)
      assert.ok(got.includes('SECRET-PATH-SEGMENT'))
    })
  })

  test('a page on another site cannot switch precise mode or sampling on for its requests to the app', { timeout: TIMEOUT_MS }, async () => {
    const { app, appBase, port } = sites as Sites
    await withPage(async (page) => {
      await page.goto(`http://127.0.0.1:${port}/`)
      // A custom header needs a preflight, which the app's CORS grants.
      const got = await tryFetch(page, `${appBase}/json?from=other-site`, { headers: { 'x-debug-toolbar-precise': '1', 'x-debug-toolbar-sample': '1' } })
      assert.match(got, /^read 200/, 'the app answered the other site\'s request')
    })
    await withPage(async (page) => {
      await page.goto(`${appBase}/page`)
      assert.match(await tryFetch(page, `${appBase}/json?from=own-page`, { headers: { 'x-debug-toolbar-precise': '1', 'x-debug-toolbar-sample': '1' } }), /^read 200/)
    })
    const list = await records(app)
    const fromOther = list.find((r) => r.url === '/json?from=other-site')
    const fromOwn = list.find((r) => r.url === '/json?from=own-page')
    assert.ok(fromOther !== undefined && fromOwn !== undefined)
    assert.equal(fromOther.memory.precise, false, 'the other site\'s switch was not honoured')
    assert.equal(fromOther.memory.allocations, undefined, 'nor its sampling switch')
    assert.equal(fromOwn.memory.precise, true, 'the app\'s own page switches precise mode on')
    assert.notEqual(fromOwn.memory.allocations, undefined, 'and sampling')
  })

  test('a page on another origin cannot show the toolbar\'s history page in a frame; the app\'s own pages can', { timeout: TIMEOUT_MS }, async () => {
    const { appBase, port } = sites as Sites
    // localhost:B is the same site as localhost:A (no Sec-Fetch-Site refusal): only framing rules stop it.
    for (const origin of [`http://localhost:${port}`, `http://127.0.0.1:${port}`]) {
      await withPage(async (page) => {
        await page.goto(`${origin}/`)
        const shown = await framed(page)
        assert.ok(!shown.includes('fdt-clear'), `${origin}: the history page and its Clear form are not shown in the frame`)
      })
    }
    await withPage(async (page) => {
      await page.goto(`${appBase}/framer`)
      assert.ok((await framed(page)).includes('fdt-clear'), 'the app\'s own page frames the history page')
    })
  })
})
