// Two ends of a request's life the host-app matrix does not cover: a toolbar enabled in production
// says so loudly, and a client that aborts mid-request leaves nothing behind (no half record, no
// profiler held, no error), while the next requests are profiled as usual.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { Writable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import Fastify from 'fastify'
import debugToolbar from '../src/index.ts'
import { samplerBusy } from '../src/capture/sampler.ts'

function logInto (lines: Array<{ level: number, msg: string }>): Writable {
  return new Writable({
    write (chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as { level: number, msg: string })
      cb()
    }
  })
}

test('enabled under NODE_ENV=production, the toolbar logs one warning at registration saying what it exposes', async (t) => {
  const saved = process.env.NODE_ENV
  process.env.NODE_ENV = 'production'
  const lines: Array<{ level: number, msg: string }> = []
  const app = Fastify({ logger: { level: 'info', stream: logInto(lines) } })
  t.after(async () => { process.env.NODE_ENV = saved; await app.close() })
  await app.register(debugToolbar, { enabled: true })
  app.get('/', async () => ({ ok: true }))
  await app.ready()
  const res = await app.inject('/')
  assert.ok(res.headers['x-debug-toolbar-id'] !== undefined, 'explicitly enabled: it profiles')
  const warnings = lines.filter((l) => l.level === 40 && l.msg.includes('NODE_ENV=production'))
  assert.equal(warnings.length, 1, JSON.stringify(lines))
  assert.match(warnings[0]?.msg ?? '', /exposes request details/)
})

test('a client that aborts mid-request: no record of it, no profiler held, no error logged, and the next requests are profiled', async (t) => {
  const lines: Array<{ level: number, msg: string }> = []
  const app = Fastify({ logger: { level: 'warn', stream: logInto(lines) } })
  await app.register(debugToolbar, { enabled: true, allocations: { requests: 'all' } })
  let finished = 0
  let started!: () => void
  const handlerStarted = new Promise<void>((resolve) => { started = resolve })
  app.get('/slow', async () => {
    started()
    await sleep(300)
    finished++
    return { done: true }
  })
  app.get('/fast', async () => ({ fast: true }))
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.after(async () => { await app.close() })
  const { port } = app.server.address() as { port: number }

  // Abort while the handler waits: the request started (and took the sampler), then the socket goes.
  await new Promise<void>((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/slow' })
    req.on('error', () => resolve())
    // Once the handler is waiting (a fixed delay raced the server on a busy machine).
    handlerStarted.then(() => { req.destroy() }, resolve)
  })
  for (let i = 0; i < 100; i++) {
    if (finished > 0) break
    await sleep(50)
  }
  assert.equal(finished, 1, 'the handler itself ran to its end')
  assert.equal(samplerBusy(), false, 'the aborted request gave the sampler back')

  const list = await (await fetch(`http://127.0.0.1:${port}/__debug/api/requests`)).json() as Array<{ url: string }>
  assert.equal(list.some((r) => r.url === '/slow'), false, 'an aborted request is not stored as if answered')

  const fast = await fetch(`http://127.0.0.1:${port}/fast`)
  assert.equal(fast.status, 200)
  assert.deepEqual(await fast.json(), { fast: true })
  const id = fast.headers.get('x-debug-toolbar-id')
  const record = await (await fetch(`http://127.0.0.1:${port}/__debug/api/requests/${String(id)}`)).json() as { memory: { allocations?: { sites?: unknown[], skipped?: string } } }
  assert.ok(Array.isArray(record.memory.allocations?.sites), `the next request is sampled: ${JSON.stringify(record.memory.allocations)}`)
  assert.deepEqual(lines.filter((l) => l.level >= 40), [], 'nothing logged at warn or above')
})
