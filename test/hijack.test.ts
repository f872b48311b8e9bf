import assert from 'node:assert/strict'
import { get, type IncomingMessage } from 'node:http'
import { createRequire } from 'node:module'
import { test } from 'node:test'
import fastifyWebsocket from '@fastify/websocket'
import Fastify, { type FastifyInstance } from 'fastify'
import debugToolbar, { type RequestRecord } from '../src/index.ts'
import { recordOf } from './helpers.ts'

/** The part of the `ws` client (brought by @fastify/websocket) these tests use. */
interface WsClient {
  once (event: 'open' | 'close', listener: () => void): void
  once (event: 'message', listener: (data: Buffer) => void): void
  once (event: 'error', listener: (err: Error) => void): void
  send (data: string): void
  close (): void
}
const WebSocket = createRequire(import.meta.url)('ws') as new (url: string) => WsClient

async function appWithRoutes (register?: (app: FastifyInstance) => Promise<void>): Promise<{ app: FastifyInstance, base: string }> {
  const app = Fastify()
  await app.register(debugToolbar, { enabled: true })
  await register?.(app)
  app.get('/json', async () => ({ items: Array.from({ length: 200 }, (_, i) => ({ i, name: `item ${i}` })) }))
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, base }
}

/** Three requests one after another while the stream or socket stays open; their records. */
async function requestsMeanwhile (app: FastifyInstance, base: string): Promise<RequestRecord[]> {
  const records: RequestRecord[] = []
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${base}/json`)
    assert.equal(res.status, 200)
    await res.arrayBuffer()
    records.push(await recordOf(app, res.headers.get('x-debug-toolbar-id')))
  }
  return records
}

function assertUndisturbed (records: RequestRecord[]): void {
  for (const r of records) {
    assert.equal(r.memory.overlapping, 0, `${r.id} counted the open stream as overlapping`)
    const a = r.memory.allocations
    assert.ok(a !== undefined && !('skipped' in a), `${r.id} was not sampled: ${JSON.stringify(a)}`)
    assert.equal(typeof a.sampler, 'string')
  }
}

test('a hijacked reply (a hand-written event stream) gives up the sampler and the in-flight count while it stays open', async (t) => {
  const { app, base } = await appWithRoutes(async (a) => {
    a.get('/events', (_request, reply) => {
      reply.hijack()
      reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' })
      reply.raw.write('data: open\n\n')
    })
  })
  const stream = await new Promise<IncomingMessage>((resolve, reject) => {
    get(`${base}/events`, resolve).on('error', reject)
  })
  // The stream first: the app's close waits for open connections.
  t.after(async () => { stream.destroy(); await app.close() })
  const first = await new Promise<string>((resolve) => { stream.once('data', (c: Buffer) => { resolve(c.toString()) }) })
  assert.equal(first, 'data: open\n\n')

  assertUndisturbed(await requestsMeanwhile(app, base))
  assert.equal(stream.destroyed, false, 'the stream stayed open throughout')
  const stored = (await app.inject('/__debug/api/requests')).json() as RequestRecord[]
  assert.deepEqual(stored.map((r) => r.url), ['/json', '/json', '/json'], 'the hijacked request is not stored')
})

test('an upgraded connection (@fastify/websocket) gives up the sampler and the in-flight count while the socket is open', async (t) => {
  const { app, base } = await appWithRoutes(async (a) => {
    await a.register(fastifyWebsocket)
    a.get('/ws', { websocket: true }, (socket) => {
      socket.on('message', (data: Buffer) => { socket.send(`echo ${data.toString()}`) })
    })
  })
  const ws = new WebSocket(`${base.replace('http', 'ws')}/ws`)
  t.after(async () => { ws.close(); await app.close() })
  await new Promise<void>((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })

  assertUndisturbed(await requestsMeanwhile(app, base))
  // The socket is still open and answering.
  const echoed = new Promise<string>((resolve) => { ws.once('message', (data) => { resolve(data.toString()) }) })
  ws.send('ping')
  assert.equal(await echoed, 'echo ping')
  const closed = new Promise<void>((resolve) => { ws.once('close', resolve) })
  ws.close()
  await closed
  const after = await requestsMeanwhile(app, base)
  assertUndisturbed(after)
})
