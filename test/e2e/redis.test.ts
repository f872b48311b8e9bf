/**
 * Two processes, one Redis, one browser: a page served by process A carries the toolbar, and every
 * toolbar request goes to process B (a small proxy in front of both sends `/__debug/` to B), which
 * answers from the shared store.
 */
import assert from 'node:assert/strict'
import { createServer, request, type Server } from 'node:http'
import { after, before, describe, test } from 'node:test'
import type { Browser } from 'playwright-core'
import { newId } from '../../src/id.ts'
import { RedisServer, redisSkipReason } from '../redis-server.ts'
import { startWorker, stopWorker, type Worker } from '../redis-workers.ts'
import { SKIP, launchBrowser, RESULTS } from './browser.ts'

const ACTION_TIMEOUT_MS = 15_000
const skip = SKIP === false ? redisSkipReason() ?? false : SKIP

/** Forwards `/__debug/...` to `toolbar`, everything else to `pages`; counts what each got. */
function routingProxy (pages: Worker, toolbar: Worker): { server: Server, seen: { pages: string[], toolbar: string[] } } {
  const seen = { pages: [] as string[], toolbar: [] as string[] }
  const server = createServer((req, res) => {
    const toToolbar = (req.url ?? '').startsWith('/__debug/')
    ;(toToolbar ? seen.toolbar : seen.pages).push(req.url ?? '')
    const target = new URL(toToolbar ? toolbar.base : pages.base)
    const out = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (upstream) => {
      res.writeHead(upstream.statusCode ?? 502, upstream.headers)
      upstream.pipe(res)
    })
    out.on('error', () => { res.writeHead(502).end() })
    req.pipe(out)
  })
  return { server, seen }
}

describe('shared store in a browser', { skip, timeout: 180_000 }, () => {
  let redis: RedisServer
  let a: Worker
  let b: Worker
  let browser: Browser | undefined
  let proxy: ReturnType<typeof routingProxy>
  let base = ''

  before(async () => {
    redis = await RedisServer.start()
    const prefix = `e2e:${newId()}:`
    ;[a, b] = await Promise.all([startWorker(redis.url, prefix), startWorker(redis.url, prefix)])
    proxy = routingProxy(a, b)
    await new Promise<void>((resolve) => { proxy.server.listen(0, '127.0.0.1', resolve) })
    base = `http://127.0.0.1:${(proxy.server.address() as { port: number }).port}`
    browser = await launchBrowser()
  })
  after(async () => {
    await browser?.close()
    proxy?.server.close()
    await Promise.all([a, b].filter((w) => w !== undefined).map(stopWorker))
    await redis?.stop()
  })

  test('the toolbar of a page served by process A loads its bar and Memory panel from process B', async () => {
    const page = await (browser as Browser).newPage()
    page.setDefaultTimeout(ACTION_TIMEOUT_MS)
    try {
      const response = await page.goto(`${base}/page`)
      assert.equal(response?.status(), 200)
      const id = response?.headers()['x-debug-toolbar-id'] as string
      assert.match(id, /^[0-9a-f]{32}$/)
      assert.equal(await page.locator('h1').textContent(), `served by ${a.pid}`)
      await page.locator('.fdt-handle').click()
      await page.locator('.fdt-nav [data-open-panel="memory"]').click()
      const dialog = page.locator('[role="dialog"]')
      await dialog.locator('[data-panel="memory"]').waitFor()
      assert.equal(await dialog.locator('#fdt-drawer-title').textContent(), 'Memory')
      await page.screenshot({ path: `${RESULTS}redis-shared-store.png` })
      // Every toolbar request went to B; A served the page alone.
      assert.ok(proxy.seen.toolbar.some((u) => u.startsWith(`/__debug/requests/${id}/toolbar`)), proxy.seen.toolbar.join('\n'))
      assert.ok(proxy.seen.toolbar.some((u) => u.startsWith(`/__debug/requests/${id}/panels/memory`)), proxy.seen.toolbar.join('\n'))
      assert.ok(proxy.seen.pages.every((u) => !u.startsWith('/__debug/')))
      // The record B served is A's.
      const record = await (await fetch(`${b.base}/__debug/api/requests/${id}`)).json() as { process: { pid: number }, url: string }
      assert.equal(record.process.pid, a.pid)
      assert.equal(record.url, '/page')
    } finally {
      await page.close()
    }
  })
})
