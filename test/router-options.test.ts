import assert from 'node:assert/strict'
import { test } from 'node:test'
import Fastify, { type FastifyServerOptions } from 'fastify'
import debugToolbar from '../src/index.ts'
import { recordOf } from './helpers.ts'

const HTML = '<!doctype html><html><body><h1>app</h1></body></html>'

const variants: Array<{ name: string, routerOptions: NonNullable<FastifyServerOptions['routerOptions']>, urls: string[] }> = [
  { name: 'ignoreDuplicateSlashes', routerOptions: { ignoreDuplicateSlashes: true }, urls: ['//__debug/', '//__debug//api/requests', '/__debug//api/store', '///__debug/static/toolbar.js', '/__debug/nothing-here'] },
  { name: 'caseSensitive: false', routerOptions: { caseSensitive: false }, urls: ['/__DEBUG/', '/__Debug/api/requests', '/__DEBUG/api/store', '/__DEBUG/requests/nope/panels/memory'] },
  { name: 'ignoreTrailingSlash', routerOptions: { ignoreTrailingSlash: true }, urls: ['/__debug', '/__debug/api/requests/', '/__debug/api/store/'] },
  {
    name: 'all three',
    routerOptions: { ignoreDuplicateSlashes: true, caseSensitive: false, ignoreTrailingSlash: true },
    urls: ['//__DEBUG/', '//__Debug//api/requests/', '/__DEBUG', '//__debug//requests/nope']
  }
]

for (const v of variants) {
  test(`with the router's ${v.name}, the toolbar's own routes are neither profiled, recorded nor injected`, async (t) => {
    const app = Fastify({ routerOptions: v.routerOptions })
    await app.register(debugToolbar, { enabled: true })
    app.get('/page', async (_request, reply) => reply.type('text/html').send(HTML))
    await app.ready()
    t.after(() => app.close())

    const page = await app.inject('/page')
    const pageId = page.headers['x-debug-toolbar-id']
    assert.equal(typeof pageId, 'string', 'the app route is profiled')
    assert.match(page.body, /data-debug-toolbar[\s=>]/)

    for (const url of v.urls) {
      const res = await app.inject(url)
      assert.ok(res.statusCode < 500, `${url} answered ${res.statusCode}`)
      assert.equal(res.headers['x-debug-toolbar-id'], undefined, `${url} got an id header`)
      assert.doesNotMatch(String(res.headers['server-timing'] ?? ''), /heap/, `${url} got Server-Timing`)
      assert.doesNotMatch(res.body, /data-debug-toolbar[\s=>]/, `${url} got the snippet`)
    }
    // The variant's history page really is the toolbar's own page.
    const history = await app.inject(v.urls[0] as string)
    assert.equal(history.statusCode, 200)
    assert.match(String(history.headers['content-type']), /text\/html/)

    const list = (await app.inject('/__debug/api/requests')).json() as Array<{ id: string, url: string }>
    assert.deepEqual(list.map((r) => r.url), ['/page'])
    assert.equal((await recordOf(app, pageId)).url, '/page')
  })
}

test('a request to a toolbar route in flight is not counted as overlapping an app request', async (t) => {
  const app = Fastify({ routerOptions: { caseSensitive: false } })
  await app.register(debugToolbar, { enabled: true })
  let release: () => void = () => {}
  let entered: () => void = () => {}
  const held = new Promise<void>((resolve) => { release = resolve })
  const inHandler = new Promise<void>((resolve) => { entered = resolve })
  app.get('/slow', async () => { entered(); await held; return { ok: true } })
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  t.after(() => app.close())

  const slow = fetch(`${base}/slow`)
  await inHandler
  // A toolbar request arrives while /slow is in flight.
  assert.equal((await fetch(`${base}/__DEBUG/api/store`)).status, 200)
  release()
  const res = await slow
  const record = await recordOf(app, res.headers.get('x-debug-toolbar-id'))
  assert.equal(record.memory.overlapping, 0)
})
