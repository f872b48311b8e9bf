/**
 * Where the snippet goes, proved in Chromium: pages whose own scripts hold `</body>` keep working and
 * run nothing extra, with and without @fastify/helmet's CSP; the snippet is the same for every request
 * so @fastify/etag's 304s happen in either registration order; htmx fragments get no script and still
 * reach the toolbar through the id header.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { after, before, describe, test } from 'node:test'
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify'
import etag from '@fastify/etag'
import helmet from '@fastify/helmet'
import type { Browser, Page, Response } from 'playwright-core'
import debugToolbar from '../../src/index.ts'
import { SKIP, launchBrowser } from './browser.ts'

const PREFIX = '/__debug'
const TEST_TIMEOUT_MS = 60_000
const ACTION_TIMEOUT_MS = 15_000
const HTMX = readFileSync(createRequire(import.meta.url).resolve('htmx.org/dist/htmx.js'), 'utf8')

/** A user value that breaks out of a script if anything closes it early. */
const HOSTILE = 'x</body><img src=x onerror="window.pwned=1"><b id="leak">leaked</b>'

/** The usual minimal escaping of data put into an inline script: `</script` and `<!--` only. */
function inScript (value: string): string {
  return JSON.stringify(value).replace(/<\/script/gi, '<\\/script').replace(/<!--/g, '<\\!--')
}

function nonceOf (reply: FastifyReply): string {
  const n = (reply as FastifyReply & { cspNonce?: { script?: string } }).cspNonce?.script
  return n === undefined ? '' : ` nonce="${n}"`
}

const HEAD = '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Page</title></head>'

/** The app's script: keeps the value and marks the page as run; the test reads both back. */
function appScript (reply: FastifyReply): string {
  return `<script${nonceOf(reply)}>window.appState = { name: ${inScript(HOSTILE)}, closing: "</body>" }; document.documentElement.dataset.appRan = '1'</script>`
}

async function buildApp (opts: { helmet?: boolean, etag?: 'before' | 'after' }): Promise<FastifyInstance> {
  const app = Fastify()
  if (opts.helmet === true) await app.register(helmet, { enableCSPNonces: true })
  if (opts.etag === 'before') await app.register(etag)
  await app.register(debugToolbar, { enabled: true })
  if (opts.etag === 'after') await app.register(etag)
  const html = (reply: FastifyReply, body: string): FastifyReply => reply.type('text/html; charset=utf-8').send(body)
  // State kept in a script after the page's own </body>.
  app.get('/after-body', async (_q, reply) => html(reply, `${HEAD}<body><main><h1>After body</h1></main></body>${appScript(reply)}</html>`))
  // Minified: no </body> at all, the script last.
  app.get('/minified', async (_q, reply) => html(reply, `${HEAD}<body><main><h1>Minified</h1></main>${appScript(reply)}`))
  // The script holds the string "</body>" before the real one.
  app.get('/script-string', async (_q, reply) => html(reply, `${HEAD}<body><main><h1>Script string</h1></main>${appScript(reply)}</body></html>`))
  app.get('/cached', async (_q, reply) => html(reply, `${HEAD}<body><main><h1>Cached</h1></main></body></html>`))
  app.get('/htmx.js', async (_q, reply) => reply.type('text/javascript; charset=utf-8').send(HTMX))
  app.get('/htmx', async (_q, reply) => html(reply, `${HEAD.replace('</head>', `<script src="/htmx.js"${nonceOf(reply)}></script></head>`)}<body><main><h1>htmx</h1><button id="more" hx-get="/fragment" hx-target="#list" hx-swap="beforeend">More</button><ul id="list"></ul></main></body></html>`))
  app.get('/fragment', async (_q, reply) => html(reply, '<li class="item">one more</li>'))
  return app
}

let browser: Browser | undefined
const apps: FastifyInstance[] = []

/** Listen on a free port; `statuses` gets the status the server sent for each request of /cached. */
async function listen (opts: Parameters<typeof buildApp>[0], statuses: number[] = []): Promise<string> {
  const app = await buildApp(opts)
  app.addHook('onResponse', async (request, reply) => { if (request.url === '/cached') statuses.push(reply.statusCode) })
  apps.push(app)
  return await app.listen({ host: '127.0.0.1', port: 0 })
}

async function withPage (run: (page: Page) => Promise<void>): Promise<void> {
  assert.ok(browser !== undefined, 'browser launched')
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } })
  const errors: string[] = []
  try {
    const page = await context.newPage()
    page.setDefaultTimeout(ACTION_TIMEOUT_MS)
    page.on('pageerror', (err) => { errors.push(err.message) })
    await run(page)
    assert.deepEqual(errors, [], 'no uncaught error in the page')
  } finally {
    await context.close()
  }
}

/** Open `url` and wait until the toolbar has asked for the record of that very response. */
async function openWithToolbar (page: Page, url: string, open: () => Promise<unknown> = () => page.goto(url)): Promise<string> {
  let id = ''
  const seen = (r: Response): void => { if (r.url() === url && id === '') id = r.headers()['x-debug-toolbar-id'] ?? '' }
  page.on('response', seen)
  const nav = page.waitForResponse((r) => id !== '' && r.url().endsWith(`${PREFIX}/requests/${id}/toolbar`) && r.ok())
  await open()
  page.off('response', seen)
  assert.match(id, /^[0-9a-f]{32}$/)
  await nav
  await page.locator('.fdt-handle').waitFor({ state: 'visible' })
  return id
}

describe('injection in a browser', { skip: SKIP, timeout: 400_000 }, () => {
  before(async () => { browser = await launchBrowser() })
  after(async () => {
    await browser?.close()
    await Promise.all(apps.map((a) => a.close()))
  })

  for (const withHelmet of [false, true]) {
    test(`a user value holding </body> in the app's script stays data, and the toolbar works (${withHelmet ? 'with' : 'without'} helmet)`, { timeout: TEST_TIMEOUT_MS }, async () => {
      const base = await listen({ helmet: withHelmet })
      for (const path of ['/after-body', '/minified', '/script-string']) {
        await withPage(async (page) => {
          await openWithToolbar(page, `${base}${path}`)
          const seen = await page.evaluate(() => ({
            ran: document.documentElement.dataset.appRan,
            state: (window as unknown as { appState?: { name: string, closing: string } }).appState,
            pwned: (window as unknown as { pwned?: number }).pwned,
            leak: document.getElementById('leak') !== null,
            images: document.images.length,
            toolbars: document.querySelectorAll('fdt-toolbar').length
          }))
          assert.equal(seen.ran, '1', `${path}: the app's script ran`)
          assert.deepEqual(seen.state, { name: HOSTILE, closing: '</body>' }, `${path}: the app's script is intact`)
          assert.equal(seen.pwned, undefined, `${path}: nothing of the value ran`)
          assert.equal(seen.leak, false, `${path}: nothing of the value became markup`)
          assert.equal(seen.images, 0, `${path}: no <img> from the value`)
          assert.equal(seen.toolbars, 1, `${path}: one toolbar`)
          await page.locator('.fdt-handle').click()
          await page.locator('.fdt-current-url').filter({ hasText: path }).waitFor()
        })
      }
    })
  }

  for (const order of ['before', 'after'] as const) {
    test(`@fastify/etag registered ${order} the toolbar answers 304 on a reload, and the toolbar shows the reload's record`, { timeout: TEST_TIMEOUT_MS }, async () => {
      const statuses: number[] = []
      const base = await listen({ etag: order }, statuses)
      await withPage(async (page) => {
        const first = await openWithToolbar(page, `${base}/cached`)
        // The browser reports the cached page (200) with the 304's headers merged in.
        const second = await openWithToolbar(page, `${base}/cached`, () => page.reload())
        assert.deepEqual(statuses, [200, 304], 'the server answered the reload 304 Not Modified')
        assert.notEqual(second, first, 'the reload has its own record, named by the 304')
        assert.equal(await page.evaluate(() => document.querySelectorAll('script[data-debug-toolbar]').length), 1)
        await page.locator('.fdt-handle').click()
        await page.locator('.fdt-current-url').filter({ hasText: '/cached' }).waitFor()
      })
    })
  }

  test('without the Server-Timing entry (stripped by a proxy) the toolbar shows the newest record of the page', { timeout: TEST_TIMEOUT_MS }, async () => {
    const app = await buildApp({})
    // Registered after the toolbar, so its onSend runs after the toolbar's.
    app.addHook('onSend', async (request, reply) => { if (request.url === '/cached') reply.removeHeader('server-timing') })
    apps.push(app)
    const base = await app.listen({ host: '127.0.0.1', port: 0 })
    await withPage(async (page) => {
      const id = await openWithToolbar(page, `${base}/cached`)
      assert.deepEqual(await page.evaluate(() => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).serverTiming.length), 0)
      await page.locator('.fdt-handle').click()
      await page.locator('.fdt-current-url').filter({ hasText: '/cached' }).waitFor()
      assert.match(id, /^[0-9a-f]{32}$/)
    })
  })

  test('an htmx fragment gets no script and shows up in the toolbar\'s page requests', { timeout: TEST_TIMEOUT_MS }, async () => {
    const base = await listen({})
    await withPage(async (page) => {
      await openWithToolbar(page, `${base}/htmx`)
      const fragment = page.waitForResponse((r) => r.url() === `${base}/fragment`)
      await page.locator('#more').click()
      const res = await fragment
      const id = res.headers()['x-debug-toolbar-id'] ?? ''
      assert.match(id, /^[0-9a-f]{32}$/)
      assert.equal(await res.text(), '<li class="item">one more</li>', 'the fragment is exactly what the app sent')
      await page.locator('#list .item').waitFor()
      assert.equal(await page.locator('#list script').count(), 0, 'no script swapped into the list')
      // The handle's badge counts the page's fetch/XHR requests; the History panel lists them.
      await page.locator('.fdt-handle .fdt-badge').filter({ hasText: '1' }).waitFor()
      await page.locator('.fdt-handle').click()
      await page.locator('.fdt-current').click()
      await page.locator(`.fdt-live-table tr[data-id="${id}"]`).filter({ hasText: '/fragment' }).waitFor()
    })
  })
})
