// A memory backend whose readings are not numbers: every page that formats them still answers 200,
// showing "n/a" where a figure would be.
import { test, mock } from 'node:test'
import assert from 'node:assert/strict'
import v8 from 'node:v8'
import Fastify from 'fastify'
import debugToolbar from '../src/index.ts'

test('a backend reading non-numbers leaves the history page, request page and Memory panel answering 200 with "n/a"', async (t) => {
  const app = Fastify()
  await app.register(debugToolbar, { enabled: true, allocations: false })
  app.get('/page', async (_request, reply) => reply.type('text/html').send('<html><body><p>page</p></body></html>'))
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://localhost:${(app.server.address() as { port: number }).port}`
  t.after(async () => { mock.restoreAll(); await app.close() })

  const real = v8.getHeapStatistics.bind(v8)
  const readings = [undefined, 'lots', NaN, Infinity, null, {}]
  let n = 0
  mock.method(v8, 'getHeapStatistics', () => {
    const bad = readings[n++ % readings.length]
    return { ...real(), used_heap_size: bad, external_memory: bad, used_global_handles_size: bad }
  })

  const ids: string[] = []
  for (let i = 0; i < readings.length; i++) {
    const res = await fetch(`${base}/page`)
    assert.equal(res.status, 200, 'the app\'s page is served')
    assert.match(await res.text(), /<p>page<\/p>/)
    ids.push(String(res.headers.get('x-debug-toolbar-id')))
  }
  for (const path of ['/__debug/', ...ids.flatMap((id) => [`/__debug/requests/${id}`, `/__debug/requests/${id}/panels/memory`, `/__debug/requests/${id}/panels/history`, `/__debug/requests/${id}/toolbar`])]) {
    const res = await fetch(`${base}${path}`)
    const body = await res.text()
    assert.equal(res.status, 200, `${path}: ${body.slice(0, 300)}`)
    if (!path.endsWith('/toolbar')) assert.match(body, /n\/a/, `${path} says the figure is not available`)
    assert.doesNotMatch(body, /NaN|Infinity|undefined|\[object Object\]|lots/, `${path} shows no raw bad value`)
  }
})
