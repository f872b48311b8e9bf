// The live page with the Redis store: each process's memory series through Redis, side by side,
// in two real processes; the key layout and its bounds; and Redis down (this process only, a note).
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import debugToolbar from '../src/index.ts'
import { newId } from '../src/id.ts'
import { RedisServer, redisSkipReason, until } from './redis-server.ts'
import { startWorker, stopWorker, type Worker } from './redis-workers.ts'
import { eventStreamParser, type StreamEvent } from './helpers.ts'

const skip = redisSkipReason()

interface Columns { t: number[], heapUsedBytes: number[], heapTotalBytes: number[], externalBytes: number[], arrayBuffersBytes: number[], rssBytes: number[], loopDelayMeanMs: number[], loopDelayMaxMs: number[] }
interface Peer { id: string, pid: number, hostname: string, samples: Columns, gcs: Array<{ t: number, kind: string }> }
interface Series {
  process: { id: string | null, pid: number, hostname: string }
  shared: boolean
  samples: Columns
  peers: Peer[]
  peersProblem: string | null
  requests: Array<{ id: string, pid: number }>
}

async function series (base: string): Promise<Series> {
  const res = await fetch(`${base}/__debug/api/process?window=1m`)
  assert.equal(res.status, 200)
  return await res.json() as Series
}

/** Readings that look like a live process's: heap in use, RSS above it, times increasing. */
function assertPlausible (c: Columns, what: string): void {
  assert.ok(c.t.length >= 3, `${what}: ${c.t.length} readings`)
  for (let i = 0; i < c.t.length; i++) {
    assert.ok((c.heapUsedBytes[i] as number) > 1024 * 1024, `${what}: heap used ${c.heapUsedBytes[i]}`)
    assert.ok((c.heapTotalBytes[i] as number) >= (c.heapUsedBytes[i] as number), `${what}: heap total below heap used`)
    assert.ok((c.rssBytes[i] as number) > (c.heapUsedBytes[i] as number), `${what}: RSS ${c.rssBytes[i]}`)
    if (i > 0) assert.ok((c.t[i] as number) > (c.t[i - 1] as number), `${what}: times increase`)
  }
  assert.ok(Math.abs((c.t.at(-1) as number) - Date.now()) < 30_000, `${what}: recent readings`)
}

/** An open event stream and the events read from it so far. */
function openStream (base: string): Promise<{ events: StreamEvent[], close: () => void }> {
  return new Promise((resolve, reject) => {
    const events: StreamEvent[] = []
    const req = httpRequest(`${base}/__debug/api/process/events`, { headers: { accept: 'text/event-stream' } }, (res: IncomingMessage) => {
      res.setEncoding('utf8')
      res.on('data', eventStreamParser((e) => events.push(e)))
      res.on('error', () => {})
      resolve({ events, close: () => { req.destroy() } })
    })
    req.on('error', reject)
    req.end()
  })
}

describe('the live page across two processes on one Redis', { skip, timeout: 120_000 }, () => {
  let server: RedisServer
  let admin: Redis
  let a: Worker
  let b: Worker
  const prefix = `lv:${newId()}:`

  before(async () => {
    server = await RedisServer.start()
    admin = new Redis(server.url)
    ;[a, b] = await Promise.all([startWorker(server.url, prefix, 50, { LIVE: '1' }), startWorker(server.url, prefix, 50, { LIVE: '1' })])
  })
  after(async () => {
    admin?.disconnect()
    await Promise.all([a, b].filter((w) => w !== undefined).map(stopWorker))
    await server?.stop()
  })

  test('nothing is sampled or written while no live page is open anywhere', async () => {
    for (const w of [a, b]) assert.equal((await fetch(`${w.base}/hello`)).status, 200)
    await new Promise((resolve) => { setTimeout(resolve, 2500) })
    assert.deepEqual((await admin.keys(`${prefix}live:*`)).sort(), [])
  })

  test('a live page open on one process shows the other\'s readings, and the other\'s shows the first\'s', async () => {
    const stream = await openStream(a.base)
    try {
      for (let i = 0; i < 5; i++) for (const w of [a, b]) assert.equal((await fetch(`${w.base}/hello`)).status, 200)
      // B has no reader of its own: it learns through Redis that a page is open on A.
      let fromA: Series | undefined
      await until(async () => {
        fromA = await series(a.base)
        return (fromA.peers.find((p) => p.pid === b.pid)?.samples.t.length ?? 0) >= 3
      }, 'B\'s readings in A\'s series')
      const s = fromA as Series
      assert.equal(s.shared, true)
      assert.equal(s.process.pid, a.pid)
      assert.equal(s.peersProblem, null)
      assertPlausible(s.samples, 'A itself')
      const peerB = s.peers.find((p) => p.pid === b.pid) as Peer
      assertPlausible(peerB.samples, 'B from A')
      assert.match(peerB.id, new RegExp(`^[0-9a-f]{16}:${b.pid}@`))
      assert.equal(peerB.hostname, s.process.hostname)
      // The serving process is not among the others.
      assert.ok(s.peers.every((p) => p.id !== s.process.id))
      // Requests on the axis come from the shared records, of both processes.
      await until(async () => {
        const pids = new Set((await series(a.base)).requests.map((r) => r.pid))
        return pids.has(a.pid) && pids.has(b.pid)
      }, 'both processes\' requests in A\'s series')

      const fromB = await series(b.base)
      assert.equal(fromB.process.pid, b.pid)
      const peerA = fromB.peers.find((p) => p.pid === a.pid)
      assert.ok(peerA !== undefined, 'A\'s readings in B\'s series')
      assertPlausible(peerA.samples, 'A from B')
      assert.equal(peerA.id, s.process.id)

      // The open page's stream carries B's readings as they come.
      await until(() => stream.events.some((e) => e.event === 'peers' && (e.data as { peers: Peer[] }).peers.some((p) => p.pid === b.pid && p.samples.t.length > 0)), 'a peers event with B\'s readings')

      // And the requests B served, from the shared records.
      await until(() => stream.events.some((e) => e.event === 'requests' && (e.data as Array<{ pid: number }>).some((r) => r.pid === b.pid)), 'a requests event with B\'s requests')

      // Keys: per process, bounded and expiring.
      const procs = await admin.zrange(`${prefix}live:procs`, 0, -1)
      assert.deepEqual(procs.sort(), [peerA.id, peerB.id].sort())
      for (const id of procs) {
        const key = `${prefix}live:s:${id.split(':')[0] as string}`
        const ttl = await admin.pttl(key)
        assert.ok(ttl > 0 && ttl <= 15 * 60_000, `${key} expires (pttl ${ttl})`)
      }
      const openTtl = await admin.pttl(`${prefix}live:open`)
      assert.ok(openTtl > 0 && openTtl <= 5000, `live:open expires soon (pttl ${openTtl})`)

      // The live page says what is shared and what acts on the serving process only.
      const page = await (await fetch(`${a.base}/__debug/`)).text()
      assert.match(page, /<h2>Each process<\/h2>/)
      assert.match(page, /data-shared/)
      assert.match(page, new RegExp(`These act on the process serving this page: process ${a.pid} on [^<]+ only; the app's other processes are not touched\\.`))
    } finally {
      stream.close()
    }
  })
})

describe('the live page with Redis down', { skip, timeout: 60_000 }, () => {
  let server: RedisServer
  let app: FastifyInstance
  const lines: Array<{ level: number, msg: string }> = []

  before(async () => {
    server = await RedisServer.start()
    const stream = new Writable({
      write (chunk, _enc, done) {
        for (const l of String(chunk).split('\n')) if (l !== '') lines.push(JSON.parse(l))
        done()
      }
    })
    app = Fastify({ logger: { level: 'info', stream } })
    await app.register(debugToolbar, { enabled: true, allocations: false, live: { sampleIntervalMs: 100, keepRunningMs: 0 }, store: { redis: server.url, keyPrefix: `ld:${newId()}:` } })
    app.get('/hello', async () => ({ hello: 'world' }))
    await app.ready()
  })
  after(async () => {
    await app?.close()
    await server?.stop()
  })

  test('shows the serving process\'s readings with a note, never an error; logged once', async () => {
    await server.stop()
    assert.equal((await app.inject('/hello')).statusCode, 200)
    let body: Series | undefined
    await until(async () => {
      const res = await app.inject('/__debug/api/process?window=1m')
      assert.equal(res.statusCode, 200)
      body = res.json() as Series
      return body.samples.t.length >= 3 && body.peersProblem !== null
    }, 'own readings and a note while Redis is down')
    const s = body as Series
    assert.equal(s.shared, true)
    assert.deepEqual(s.peers, [])
    assert.match(s.peersProblem as string, /Redis does not answer/)
    assert.ok(s.samples.heapUsedBytes.every((x) => x > 0))
    const page = await app.inject({ url: '/__debug/', headers: { host: '127.0.0.1:3000' } })
    assert.equal(page.statusCode, 200)
    assert.match(page.body, /data-live-peers-note/)
    await until(() => lines.some((l) => l.msg.includes('shared series')), 'the outage to be logged')
    await new Promise((resolve) => { setTimeout(resolve, 2500) })
    assert.equal(lines.filter((l) => l.msg.includes('shared series')).length, 1, lines.map((l) => l.msg).join('\n'))
    assert.ok(lines.every((l) => l.level < 50), 'no error logged')
  })
})

describe('the shared series\' bounds', { skip, timeout: 60_000 }, () => {
  let server: RedisServer
  let admin: Redis

  before(async () => {
    server = await RedisServer.start()
    admin = new Redis(server.url)
  })
  after(async () => {
    admin?.disconnect()
    await server?.stop()
  })

  async function liveApp (keyPrefix: string): Promise<FastifyInstance> {
    const a = Fastify()
    await a.register(debugToolbar, { enabled: true, allocations: false, live: { sampleIntervalMs: 50, keepRunningMs: 5000, maxSamples: 10 }, store: { redis: server.url, keyPrefix } })
    await a.ready()
    return a
  }

  test('a process keeps at most maxSamples readings in Redis, the newest; a restarted process is a new series', async () => {
    const prefix = `lb:${newId()}:`
    const first = await liveApp(prefix)
    let id = ''
    try {
      id = ((await first.inject('/__debug/api/process?window=1m')).json() as Series).process.id as string
      assert.match(id, new RegExp(`^[0-9a-f]{16}:${process.pid}@`))
      const key = `${prefix}live:s:${id.split(':')[0] as string}`
      await until(async () => await admin.zcard(key) >= 10, 'ten readings written')
      // Written once a second, about 20 readings a write: still ten, the newest.
      await new Promise((resolve) => { setTimeout(resolve, 2200) })
      assert.equal(await admin.zcard(key), 10)
      const newest = Number((await admin.zrange(key, -1, -1, 'WITHSCORES'))[1])
      assert.ok(Date.now() - newest < 2500, `newest reading ${Date.now() - newest} ms old`)
    } finally {
      await first.close()
    }
    const second = await liveApp(prefix)
    try {
      const again = ((await second.inject('/__debug/api/process?window=1m')).json() as Series).process.id as string
      assert.notEqual(again, id)
      await until(async () => (await admin.zrange(`${prefix}live:procs`, 0, -1)).includes(again), 'the new series listed')
      assert.deepEqual((await admin.zrange(`${prefix}live:procs`, 0, -1)).sort(), [id, again].sort())
    } finally {
      await second.close()
    }
  })
})
