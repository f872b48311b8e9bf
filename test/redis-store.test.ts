import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import v8 from 'node:v8'
import Fastify, { type FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import debugToolbar, { type DebugToolbarOptions, type RequestRecord } from '../src/index.ts'
import { resolveOptions } from '../src/options.ts'
import { createRedisStore, loadIoredis } from '../src/redis-store.ts'
import { newId } from '../src/id.ts'
import { testRecord } from './helpers.ts'
import { RedisServer, redisFixture, redisSkipReason, until } from './redis-server.ts'

test('the store option is validated at registration with coded errors', () => {
  for (const [store, name] of [
    [{ redis: 'http://localhost' }, 'store.redis'],
    [{ redis: {} }, 'store.redis'],
    [{ redis: 'redis://127.0.0.1:6379', keyPrefix: 'has space' }, 'store.keyPrefix'],
    [{ redis: 'redis://127.0.0.1:6379', ttlMs: 10 }, 'store.ttlMs'],
    [{ redis: 'redis://127.0.0.1:6379', db: 1 }, 'store.db'],
    ['redis', 'store']
  ] as const) {
    assert.throws(() => resolveOptions({ store: store as never }), (err: Error & { code?: string }) => err.code === 'FST_DEBUG_TOOLBAR_INVALID_OPTION' && err.message.includes(`"${name}"`), name)
  }
  assert.deepEqual(resolveOptions({}).store, { kind: 'memory' })
  assert.deepEqual(resolveOptions({ store: { redis: 'redis://h:1/2' } }).store, { kind: 'redis', redis: 'redis://h:1/2', keyPrefix: 'fdt:', ttlMs: 3_600_000 })
})

test('a missing ioredis package is the coded error FST_DEBUG_TOOLBAR_REDIS_UNAVAILABLE', async () => {
  await assert.rejects(loadIoredis('ioredis-not-installed-here'), (err: Error & { code?: string }) => err.code === 'FST_DEBUG_TOOLBAR_REDIS_UNAVAILABLE' && /npm install ioredis/.test(err.message))
  assert.equal(typeof await loadIoredis(), 'function')
})

const skip = redisSkipReason()

/** Log lines of an app, parsed. */
function logSink (): { stream: Writable, lines: Array<{ level: number, msg: string }> } {
  const lines: Array<{ level: number, msg: string }> = []
  const stream = new Writable({
    write (chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l !== '') lines.push(JSON.parse(l))
      done()
    }
  })
  return { stream, lines }
}

describe('Redis store', { skip }, () => {
  const redis = redisFixture()

  /** An app on the test's Redis, with its log lines; `options` add to the defaults. */
  async function app (keyPrefix: string, options: DebugToolbarOptions = {}, store: Record<string, unknown> = {}): Promise<{ app: FastifyInstance, lines: Array<{ level: number, msg: string }> }> {
    const { stream, lines } = logSink()
    const a = Fastify({ logger: { level: 'info', stream } })
    await a.register(debugToolbar, { enabled: true, live: false, allocations: false, ...options, store: { redis: redis.server.url, keyPrefix, ...store } as never })
    a.get('/hello', async () => ({ hello: 'world' }))
    a.get('/page', async (_req, reply) => reply.type('text/html').send('<html><body><p>page</p></body></html>'))
    await a.ready()
    redis.apps.push(a)
    return { app: a, lines }
  }

  async function idOf (a: FastifyInstance, url = '/hello'): Promise<string> {
    const res = await a.inject(url)
    assert.equal(res.statusCode, 200)
    return String(res.headers['x-debug-toolbar-id'])
  }

  test('a record is written after its response under the key layout, with the TTL, and read back identical by another registration', async () => {
    const prefix = `t1:${newId()}:`
    const a = (await app(prefix, {}, { ttlMs: 60_000 })).app
    const b = (await app(prefix)).app
    const id = await idOf(a)
    await until(async () => await redis.admin.exists(`${prefix}r:${id}`) === 1, 'the record key')
    assert.equal(await redis.admin.type(`${prefix}index`), 'zset')
    assert.ok(Number(await redis.admin.zscore(`${prefix}index`, id)) > 0)
    const size = Number(await redis.admin.hget(`${prefix}sizes`, id))
    assert.ok(size > 2048)
    assert.equal(Number(await redis.admin.get(`${prefix}bytes`)), size)
    const ttl = await redis.admin.pttl(`${prefix}r:${id}`)
    assert.ok(ttl > 0 && ttl <= 60_000, `ttl ${ttl}`)
    const fromA = (await a.inject(`/__debug/api/requests/${id}`)).json()
    const fromB = (await b.inject(`/__debug/api/requests/${id}`)).json()
    assert.deepEqual(fromB, fromA)
    assert.equal(fromB.memory.final, true)
    assert.deepEqual(fromB.process.pid, process.pid)
    assert.equal(fromB.url, '/hello')
    assert.equal(fromB.request.headers['user-agent'], 'lightMyRequest')
    // Pages and panels render from the other registration too.
    assert.equal((await b.inject(`/__debug/requests/${id}`)).statusCode, 200)
    assert.equal((await b.inject(`/__debug/requests/${id}/panels/request`)).statusCode, 200)
    const list = (await b.inject('/__debug/api/requests')).json() as RequestRecord[]
    assert.deepEqual(list.map((r) => r.id), [id])
    assert.deepEqual((await b.inject('/__debug/api/store')).json(), { size: 1, sizeBytes: size, maxRequests: 50, maxStoreBytes: 16 * 1024 * 1024 })
  })

  test('allocation call trees are shared: the flame graph and the .heapprofile download work from another registration', async () => {
    const prefix = `t2:${newId()}:`
    const a = (await app(prefix, { allocations: { requests: 'all', sampler: 'inspector' } })).app
    const b = (await app(prefix, { allocations: { requests: 'all', sampler: 'inspector' } })).app
    const id = await idOf(a)
    await until(async () => await redis.admin.exists(`${prefix}p:${id}`) === 1, 'the profile key')
    const flame = await b.inject(`/__debug/requests/${id}/flamegraph.json`)
    assert.equal(flame.statusCode, 200)
    assert.deepEqual(flame.json(), (await a.inject(`/__debug/requests/${id}/flamegraph.json`)).json())
    const download = await b.inject(`/__debug/requests/${id}/profile.heapprofile`)
    assert.equal(download.statusCode, 200)
    assert.ok(Array.isArray(download.json().samples))
  })

  test('maxRequests and maxStoreBytes hold across registrations writing to one prefix', async () => {
    const prefix = `t3:${newId()}:`
    const a = (await app(prefix, { maxRequests: 5 })).app
    const b = (await app(prefix, { maxRequests: 5 })).app
    const ids: string[] = []
    for (let i = 0; i < 6; i++) {
      ids.push(await idOf(a))
      ids.push(await idOf(b))
    }
    await until(async () => (await redis.admin.zrange(`${prefix}index`, 0, -1)).includes(ids.at(-1) as string), 'the last record')
    await until(async () => await redis.admin.zcard(`${prefix}index`) === 5, 'the count cap')
    const listed = ((await a.inject('/__debug/api/requests')).json() as RequestRecord[]).map((r) => r.id)
    assert.equal(listed.length, 5)
    assert.deepEqual(new Set(listed), new Set(ids.slice(-5)))
    const sizes = (await redis.admin.hvals(`${prefix}sizes`)).map(Number)
    assert.equal(sizes.length, 5)
    assert.equal(Number(await redis.admin.get(`${prefix}bytes`)), sizes.reduce((x, y) => x + y, 0))
    // Evicted records are gone from Redis, not only from the index.
    assert.equal(await redis.admin.exists(`${prefix}r:${ids[0] as string}`), 0)

    // The byte cap: records of about 40 KB each against a 64 KiB cap leave one at a time.
    const byteCap = `t3b:${newId()}:`
    const c = (await app(byteCap, { maxStoreBytes: 64 * 1024 })).app
    const d = (await app(byteCap, { maxStoreBytes: 64 * 1024 })).app
    const big = { 'x-big': 'y'.repeat(20_000) }
    let last = ''
    for (let i = 0; i < 4; i++) {
      for (const x of [c, d]) last = String((await x.inject({ url: '/hello', headers: big })).headers['x-debug-toolbar-id'])
    }
    await until(async () => (await redis.admin.zrange(`${byteCap}index`, 0, -1)).includes(last), 'the last big record')
    const total = Number(await redis.admin.get(`${byteCap}bytes`))
    assert.ok(total <= 64 * 1024 && total > 0, `bytes ${total}`)
    assert.equal(await redis.admin.zcard(`${byteCap}index`), 1)
  })

  test('records expire after ttlMs: gone from the list and from Redis', async () => {
    const prefix = `t4:${newId()}:`
    const a = (await app(prefix, {}, { ttlMs: 1000 })).app
    const id = await idOf(a)
    await until(async () => await redis.admin.exists(`${prefix}r:${id}`) === 1, 'the record key')
    await until(async () => ((await a.inject('/__debug/api/requests')).json() as unknown[]).length === 0, 'the record to leave the list')
    await until(async () => await redis.admin.exists(`${prefix}r:${id}`) === 0, 'the key to expire')
    assert.equal((await a.inject(`/__debug/api/requests/${id}`)).statusCode, 404)
  })

  test('corrupted and foreign keys under the prefix are ignored with a log line, never a 500', async () => {
    const prefix = `t5:${newId()}:`
    const { app: a, lines } = await app(prefix)
    const good = await idOf(a)
    await until(async () => await redis.admin.exists(`${prefix}r:${good}`) === 1, 'the record key')
    const corrupt = newId()
    await redis.admin.zadd(`${prefix}index`, Date.now(), corrupt)
    await redis.admin.set(`${prefix}r:${corrupt}`, '{"id": not json')
    await redis.admin.zadd(`${prefix}index`, Date.now(), 'no spaces allowed here')
    await redis.admin.set(`${prefix}something-else`, 'a foreign key')
    const wrongId = newId()
    await redis.admin.zadd(`${prefix}index`, Date.now(), wrongId)
    await redis.admin.set(`${prefix}r:${wrongId}`, JSON.stringify({ id: 'another', hello: 1 }))
    await redis.admin.set(`${prefix}p:${good}`, 'garbage')

    const list = await a.inject('/__debug/api/requests')
    assert.equal(list.statusCode, 200)
    assert.deepEqual((list.json() as RequestRecord[]).map((r) => r.id), [good])
    assert.equal((await a.inject('/__debug/')).statusCode, 200)
    assert.equal((await a.inject(`/__debug/api/requests/${corrupt}`)).statusCode, 404)
    assert.equal((await a.inject(`/__debug/requests/${corrupt}`)).statusCode, 404)
    assert.equal((await a.inject(`/__debug/requests/${good}`)).statusCode, 200)
    const warnings = lines.filter((l) => l.level === 40).map((l) => l.msg)
    assert.ok(warnings.some((m) => m.includes(`${prefix}r:${corrupt}`)), warnings.join('\n'))
    assert.ok(warnings.some((m) => m.includes(`${prefix}r:${wrongId}`)), warnings.join('\n'))
    assert.ok(warnings.some((m) => m.includes('is not a record id')), warnings.join('\n'))
    // Logged once each, however often they are read.
    await a.inject('/__debug/api/requests')
    assert.equal(lines.filter((l) => l.msg.includes(`${prefix}r:${corrupt}`)).length, 1)

    // The toolbar's own keys holding the wrong type or value are replaced on the next write.
    await redis.admin.set(`${prefix}bytes`, 'not a number')
    await redis.admin.del(`${prefix}sizes`)
    await redis.admin.hset(`${prefix}sizes`, 'x', '1')
    await redis.admin.del(`${prefix}index`)
    await redis.admin.set(`${prefix}index`, 'not a sorted set')
    assert.equal((await a.inject('/__debug/api/requests')).statusCode, 200)
    assert.equal((await a.inject('/__debug/api/requests')).statusCode, 200)
    assert.equal((await a.inject('/__debug/api/store')).statusCode, 200)
    assert.equal(lines.filter((l) => l.msg.includes('Redis refused zrevrangebyscore')).length, 1)
    const next = await idOf(a)
    await until(async () => await redis.admin.type(`${prefix}index`) === 'zset' && (await redis.admin.zrange(`${prefix}index`, 0, -1)).includes(next), 'the index to be rebuilt')
    assert.ok(lines.some((l) => /were not what the toolbar keeps there/.test(l.msg)))
    assert.deepEqual(((await a.inject('/__debug/api/requests')).json() as RequestRecord[]).map((r) => r.id), [next])
  })

  test('under load with GCs, writing batches swaps the GC profiler about once a second at most, and what reaches Redis is final', async () => {
    // Counts swaps of Node's GC profiler (each stopped one goes on writing every GC until a full GC collects it).
    const proto = v8.GCProfiler.prototype
    const start = proto.start
    let starts = 0
    proto.start = function (this: v8.GCProfiler) { starts++; start.call(this) }
    try {
      const swaps: Record<string, number> = {}
      let seconds = 0
      for (const kind of ['memory', 'redis'] as const) {
        const prefix = `gcswap:${newId()}:`
        const a = Fastify()
        await a.register(debugToolbar, { enabled: true, live: false, allocations: false, ...(kind === 'redis' ? { store: { redis: redis.server.url, keyPrefix: prefix } } : {}) })
        redis.apps.push(a)
        // About 200 KB of garbage a request: a scavenge every few dozen requests.
        a.get('/churn', async () => ({ n: Array.from({ length: 5000 }, (_, i) => ({ i })).length }))
        // Over HTTP (not inject): the event loop turns between requests, as in a server, so batches go out during the load.
        const url = await a.listen({ host: '127.0.0.1', port: 0 })
        const before = starts
        const t0 = Date.now()
        let n = 0
        await Promise.all([0, 1, 2, 3].map(async () => {
          while (Date.now() - t0 < 2000) {
            const res = await fetch(`${url}/churn`)
            assert.equal(res.status, 200)
            await res.arrayBuffer()
            n++
          }
        }))
        seconds = (Date.now() - t0) / 1000
        swaps[kind] = starts - before
        if (kind === 'redis') {
          await until(async () => await redis.admin.zcard(`${prefix}index`) > 0, 'records in Redis')
          const ids = await redis.admin.zrange(`${prefix}index`, 0, -1)
          for (const id of ids) assert.equal((JSON.parse(await redis.admin.get(`${prefix}r:${id}`) as string) as RequestRecord).memory.final, true, id)
        }
        assert.ok(n > 100, `${n} requests`)
      }
      // Batches go out every 50 ms: pairing a GC for each would swap about 20 times a second.
      assert.ok((swaps.redis as number) <= (swaps.memory as number) + Math.ceil(seconds) + 1, `swaps in ${seconds.toFixed(1)} s: ring ${swaps.memory}, Redis ${swaps.redis}`)
    } finally {
      proto.start = start
    }
  })

  test('records say which process served them; the history page shows a Process column and filters by ?pid=', async () => {
    const prefix = `t9:${newId()}:`
    const a = (await app(prefix, { live: true })).app
    const mine = await idOf(a)
    await until(async () => await redis.admin.exists(`${prefix}r:${mine}`) === 1, 'the record key')
    // A record of another process, as that process would have written it.
    const other = JSON.parse(await redis.admin.get(`${prefix}r:${mine}`) as string) as RequestRecord
    other.id = newId()
    other.url = '/from-elsewhere'
    other.process = { pid: 999_999, hostname: 'other-host' }
    await redis.admin.set(`${prefix}r:${other.id}`, JSON.stringify(other))
    await redis.admin.zadd(`${prefix}index`, other.startedAt + 1, other.id)

    const all = await a.inject('/__debug/')
    assert.equal(all.statusCode, 200)
    assert.match(all.body, /<th scope="col" class="fdt-num" title="Process id of the process that served the request">Process<\/th>/)
    assert.match(all.body, /title="process 999999 on other-host"/)
    assert.match(all.body, new RegExp(`title="process ${process.pid} on `))
    assert.match(all.body, /These act on the process serving this page: process \d+ on /)
    assert.match(all.body, /kept in the shared store, from every process/)
    const filtered = await a.inject('/__debug/?pid=999999')
    assert.equal(filtered.statusCode, 200)
    assert.match(filtered.body, /\/from-elsewhere/)
    assert.doesNotMatch(filtered.body, /data-id="${mine}"/)
    assert.equal((await a.inject('/__debug/?pid=abc')).statusCode, 400)
    const series = (await a.inject('/__debug/api/process?pid=999999')).json() as { requests: Array<{ id: string, pid: number, hostname: string }> }
    assert.deepEqual(series.requests.map((r) => [r.id, r.pid, r.hostname]), [[other.id, 999_999, 'other-host']])
  })

  test('clearing the history clears it for every registration on the prefix', async () => {
    const prefix = `t6:${newId()}:`
    const a = (await app(prefix)).app
    const b = (await app(prefix)).app
    await idOf(a)
    const id = await idOf(b)
    await until(async () => await redis.admin.zcard(`${prefix}index`) === 2, 'two records')
    const page = await a.inject('/__debug/')
    const token = /name="token" value="([^"]+)"/.exec(page.body)?.[1] as string
    const res = await a.inject({ method: 'POST', url: '/__debug/api/requests/clear', headers: { origin: 'http://localhost', host: 'localhost', 'x-debug-toolbar-token': token } })
    assert.deepEqual(res.json(), { cleared: 2 })
    assert.equal(await redis.admin.exists(`${prefix}index`, `${prefix}r:${id}`), 0)
    assert.deepEqual((await b.inject('/__debug/api/requests')).json(), [])
  })

  test('a client passed in is used and left open on close; a URL\'s client is closed with the app', async () => {
    const prefix = `t7:${newId()}:`
    const client = new Redis(redis.server.url)
    const { stream } = logSink()
    const a = Fastify({ logger: { level: 'info', stream } })
    await a.register(debugToolbar, { enabled: true, live: false, allocations: false, store: { redis: client, keyPrefix: prefix } })
    a.get('/hello', async () => 'hi')
    const id = String((await a.inject('/hello')).headers['x-debug-toolbar-id'])
    await a.close()
    // Written on close at the latest.
    assert.equal(await redis.admin.exists(`${prefix}r:${id}`), 1)
    assert.equal(client.status, 'ready')
    assert.equal(await client.ping(), 'PONG')
    client.disconnect()

    const named = async (): Promise<number> => (await redis.admin.client('LIST') as string).split('\n').filter((l) => l.includes(' name=fastify-debug-toolbar ')).length
    const before = await named()
    const b = (await app(`t7b:${newId()}:`)).app
    await idOf(b)
    await until(async () => await named() === before + 1, 'the toolbar\'s connection')
    await b.close()
    redis.apps.splice(redis.apps.indexOf(b), 1)
    await until(async () => await named() === before, 'the toolbar\'s connection to close')
  })
})

describe('Redis store writes', { skip }, () => {
  let server: RedisServer
  let client: Redis

  before(async () => {
    server = await RedisServer.start()
    client = new Redis(server.url)
  })
  after(async () => {
    client.disconnect()
    await server.stop()
  })

  /**
   * A settle as the finalizer's: completes records oldest first up to `id`; a record in `waitsForGc`
   * (a reported GC in its window) completes only when `pair` is not false.
   */
  function fakeSettle (open: RequestRecord[], waitsForGc: Set<string>, calls: string[]) {
    return async (id: string, pair = true): Promise<boolean> => {
      calls.push(`${id.slice(0, 6)}:${pair ? 'pair' : 'no-pair'}`)
      await new Promise((resolve) => { setImmediate(resolve) })
      for (const x of open.slice(0, open.findIndex((r) => r.id === id) + 1)) {
        if (x.memory.final) continue
        if (!pair && waitsForGc.has(x.id)) return false
        if (waitsForGc.has(x.id)) {
          x.memory.gc.count = 2
          x.memory.allocatedBytes = 4096
        }
        x.memory.final = true
      }
      return true
    }
  }

  test('late GC figures reach Redis: a record is settled before it is written', async () => {
    const prefix = `w1:${newId()}:`
    const log = Fastify({ logger: false }).log
    const calls: string[] = []
    const open = [testRecord(newId(), { memory: { final: false } }), testRecord(newId(), { memory: { final: false } })]
    const store = createRedisStore({ client, keyPrefix: prefix, ttlMs: 60_000, maxRequests: 10, maxStoreBytes: 1024 * 1024, log, settle: fakeSettle(open, new Set(open.map((r) => r.id)), calls) })
    for (const r of open) store.save(r)
    await until(async () => await client.zcard(`${prefix}index`) === 2, 'both records')
    for (const r of open) {
      const written = JSON.parse(await client.get(`${prefix}r:${r.id}`) as string) as RequestRecord
      assert.equal(written.memory.final, true)
      assert.equal(written.memory.gc.count, 2)
      assert.equal(written.memory.allocatedBytes, 4096)
    }
    // The newest open record is settled, first without a GC profiler swap, then with one; that completes the older one too.
    const newest = (open[1] as RequestRecord).id.slice(0, 6)
    assert.deepEqual(calls, [`${newest}:no-pair`, `${newest}:pair`])
    await store.close()
  })

  test('batches swap the GC profiler at most once a second: a record waiting for a GC\'s figures waits for it, older ones go out at once', async () => {
    const prefix = `w1b:${newId()}:`
    const log = Fastify({ logger: false }).log
    const calls: string[] = []
    const open: RequestRecord[] = []
    const waitsForGc = new Set<string>()
    const store = createRedisStore({ client, keyPrefix: prefix, ttlMs: 60_000, maxRequests: 10, maxStoreBytes: 1024 * 1024, log, settle: fakeSettle(open, waitsForGc, calls) })
    const saveOne = (gc: boolean): RequestRecord => {
      const r = testRecord(newId(), { memory: { final: false } })
      open.push(r)
      if (gc) waitsForGc.add(r.id)
      store.save(r)
      return r
    }
    const written = async (r: RequestRecord): Promise<boolean> => await client.exists(`${prefix}r:${r.id}`) === 1
    // The first batch with a GC to pair swaps at once.
    const first = saveOne(true)
    await until(async () => await written(first), 'the first record')
    const pairedAt = Date.now()
    // Within the second: a record with a GC in its window waits (and any newer, completed in order); an older one without goes out in the next batch.
    const plain = saveOne(false)
    const waiting = saveOne(true)
    await until(async () => await written(plain), 'the record without a GC')
    assert.ok(Date.now() - pairedAt < 700, `written ${Date.now() - pairedAt} ms after the swap`)
    assert.equal(await written(waiting), false)
    assert.equal(waiting.memory.final, false)
    await until(async () => await written(waiting), 'the record waiting for its GC')
    assert.ok(Date.now() - pairedAt >= 850, `the waiting record went out ${Date.now() - pairedAt} ms after the previous swap`)
    const stored = JSON.parse(await client.get(`${prefix}r:${waiting.id}`) as string) as RequestRecord
    assert.equal(stored.memory.final, true)
    assert.equal(stored.memory.gc.count, 2)
    assert.equal(calls.filter((c) => c.endsWith(':pair')).length, 2, calls.join(', '))
    await store.close()
  })

  test('save() sends nothing; a burst is written in one script call, newest maxRequests kept', async () => {
    const calls: unknown[][] = []
    const prefix = `w2:${newId()}:`
    const counting = { call: async (command: string, ...args: Array<string | number>) => { calls.push([command, ...args]); return await client.call(command, ...args) } }
    const log = Fastify({ logger: false }).log
    const store = createRedisStore({ client: counting, keyPrefix: prefix, ttlMs: 60_000, maxRequests: 3, maxStoreBytes: 1024 * 1024, log })
    const ids: string[] = []
    for (let i = 0; i < 5; i++) {
      ids.push(newId())
      store.save(testRecord(ids[i] as string, { startedAt: Date.now() + i }))
    }
    assert.equal(calls.length, 0, 'save() sends nothing')
    assert.equal(store.size, 3)
    await until(async () => await client.zcard(`${prefix}index`) === 3, 'three records')
    assert.deepEqual(new Set(await client.zrange(`${prefix}index`, 0, -1)), new Set(ids.slice(-3)))
    const writes = calls.filter((c) => c[0] === 'evalsha' || c[0] === 'eval')
    // evalsha, then eval when the script is new to this Redis.
    assert.ok(writes.length <= 2, `${writes.length} write calls`)
    await store.close()
  })

  test('while batches overflow the cap, the store writes once a second; back under it, within a batch delay', async () => {
    const prefix = `w3:${newId()}:`
    const log = Fastify({ logger: false }).log
    const store = createRedisStore({ client, keyPrefix: prefix, ttlMs: 60_000, maxRequests: 3, maxStoreBytes: 1024 * 1024, log })
    const written = async (id: string): Promise<boolean> => await client.exists(`${prefix}r:${id}`) === 1
    const save = (): string => {
      const id = newId()
      store.save(testRecord(id))
      return id
    }
    // Five saves for a cap of three: the batch overflowed.
    let last = ''
    for (let i = 0; i < 5; i++) last = save()
    await until(async () => await written(last), 'the overflowing batch')
    const firstWriteAt = Date.now()
    const next = save()
    await until(async () => await written(next), 'the next record', 5000)
    const waited = Date.now() - firstWriteAt
    assert.ok(waited >= 800, `written ${waited} ms after the overflowing batch`)
    // That batch did not overflow: the next record goes out after the short delay again.
    const quiet = save()
    const savedAt = Date.now()
    await until(async () => await written(quiet), 'a record after the overload')
    assert.ok(Date.now() - savedAt < 600, `written ${Date.now() - savedAt} ms after its save`)
    await store.close()
  })
})
