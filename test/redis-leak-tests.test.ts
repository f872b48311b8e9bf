// Leak tests in the Redis store: a test run by one registration is listed, reported and shown in
// the Routes view by another on the same prefix; its snapshot files, progress and Cancel stay with
// the one that ran it; Redis down leaves each registration answering with its own tests.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { hostname } from 'node:os'
import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance, type InjectOptions } from 'fastify'
import { Redis } from 'ioredis'
import debugToolbar from '../src/index.ts'
import { newId } from '../src/id.ts'
import type { LeakTestEntry } from '../src/leak-test-store.ts'
import { createRedisLeakTestStore } from '../src/redis-leak-test-store.ts'
import { RedisServer, redisFixture, redisSkipReason, until } from './redis-server.ts'
import { startWorker, stopWorker, type Worker } from './redis-workers.ts'

const skip = redisSkipReason()

const HOST = '127.0.0.1:3000'
const ORIGIN = 'http://127.0.0.1:3000'
const API = '/__debug/api/leak-tests'
const THIS_PROCESS = `process ${process.pid} on ${hostname()}`

interface Line { level: number, msg: string }
interface TestJson { id: string, status: string, error?: string, route?: string, process?: { pid: number, hostname: string }, report?: Record<string, any> }

/** What the leaking route keeps: one array a call. */
const kept: number[][] = []

/** An app on `url` under `keyPrefix`, with its log lines. */
async function leakApp (url: string, keyPrefix: string): Promise<{ app: FastifyInstance, lines: Line[] }> {
  const lines: Line[] = []
  const stream = new Writable({
    write (chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l !== '') lines.push(JSON.parse(l))
      done()
    }
  })
  const app = Fastify({ logger: { level: 'info', stream } })
  await app.register(debugToolbar, { enabled: true, allocations: false, store: { redis: url, keyPrefix } })
  app.get('/keep', async () => {
    kept.push(new Array<number>(2000).fill(1.5))
    return { ok: true }
  })
  app.get('/nothing', async () => ({ ok: true }))
  await app.ready()
  return { app, lines }
}

async function tokenOf (app: FastifyInstance): Promise<string> {
  const page = await app.inject({ url: '/__debug/', headers: { host: HOST } })
  const m = /name="token" value="([A-Za-z0-9_-]+)"/.exec(page.body)
  assert.ok(m !== null, 'the history page carries the token')
  return m[1] as string
}

function post (url: string, token: string, body: unknown): InjectOptions {
  return { method: 'POST', url, headers: { host: HOST, origin: ORIGIN, 'content-type': 'application/json', 'x-debug-toolbar-token': token }, payload: JSON.stringify(body) }
}

async function get (app: FastifyInstance, url: string): Promise<{ statusCode: number, body: string, json: () => any }> {
  return await app.inject({ url, headers: { host: HOST } })
}

/** Start a test on `app` and wait until that app reports it ended. */
async function run (app: FastifyInstance, body: Record<string, unknown>): Promise<TestJson> {
  const res = await app.inject(post(API, await tokenOf(app), body))
  assert.equal(res.statusCode, 202, res.body)
  const id = (res.json() as { id: string }).id
  for (;;) {
    const t = (await get(app, `${API}/${id}`)).json() as TestJson
    if (t.status !== 'running') return t
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe('leak tests in the Redis store', { skip, timeout: 300_000 }, () => {
  const redis = redisFixture()

  async function pair (): Promise<{ a: FastifyInstance, b: FastifyInstance, prefix: string }> {
    const prefix = `lt${newId().slice(0, 8)}:`
    const a = (await leakApp(redis.server.url, prefix)).app
    const b = (await leakApp(redis.server.url, prefix)).app
    redis.apps.push(a, b)
    return { a, b, prefix }
  }

  test('a test run by one registration is listed, reported (JSON and page) and shown in the Routes view by another', async () => {
    const { a, b, prefix } = await pair()
    // A record of the route, so that the Routes view has its row (a test's own calls are not recorded).
    assert.equal((await b.inject({ url: '/keep', headers: { host: HOST } })).statusCode, 200)
    const done = await run(a, { method: 'GET', url: '/keep', calls: 8, snapshots: false })
    assert.equal(done.status, 'done', done.error)
    assert.deepEqual(done.process, { pid: process.pid, hostname: hostname() })
    await until(async () => JSON.parse(await redis.admin.get(`${prefix}lt:${done.id}`) ?? '{}').status === 'done', 'the finished test in Redis')
    assert.deepEqual(await redis.admin.zrange(`${prefix}leak-tests`, 0, -1), [done.id])
    const ttl = await redis.admin.pttl(`${prefix}lt:${done.id}`)
    assert.ok(ttl > 0 && ttl <= 3_600_000, `ttl ${ttl}`)
    const written = JSON.parse(await redis.admin.get(`${prefix}lt:${done.id}`) as string) as Record<string, unknown>
    assert.equal(written.snapshotDir, undefined)
    assert.equal(written.progress, undefined)

    const listed = (await get(b, API)).json() as Array<{ id: string, verdict: string, route: string, process: { pid: number } }>
    assert.deepEqual(listed.map((e) => [e.id, e.verdict, e.route, e.process.pid]), [[done.id, done.report?.verdict, '/keep', process.pid]])
    const fromB = (await get(b, `${API}/${done.id}`)).json() as TestJson
    assert.deepEqual(fromB.report, done.report)
    assert.equal(fromB.status, 'done')
    const json = await get(b, `${API}/${done.id}/report.json`)
    assert.equal(json.statusCode, 200)
    assert.deepEqual(json.json(), done.report)

    const page = await get(b, `/__debug/leak-tests/${done.id}`)
    assert.equal(page.statusCode, 200)
    assert.match(page.body, new RegExp(`data-verdict="${String(done.report?.verdict)}"`))
    assert.match(page.body, new RegExp(`<span data-leak-process>${THIS_PROCESS}</span>`))
    assert.match(page.body, /data-leak-elsewhere>This test ran in process \d+ on [^;]+; this page is served by process \d+ on .+ from the shared store\.</)
    // The registration that ran it says nothing of the kind.
    assert.doesNotMatch((await get(a, `/__debug/leak-tests/${done.id}`)).body, /data-leak-elsewhere/)

    const routes = await get(b, '/__debug/?view=routes')
    assert.equal(routes.statusCode, 200)
    const row = /<tr data-route="GET \/keep">([\s\S]*?)<\/tr>/.exec(routes.body)?.[1] ?? ''
    assert.match(row, new RegExp(`<a href="/__debug/leak-tests/${done.id}" data-verdict="${String(done.report?.verdict)}">`))
  })

  test('snapshot files stay with the process that ran the test: another answers 409 naming it, and its page links no download', async () => {
    const { a, b } = await pair()
    const done = await run(a, { method: 'GET', url: '/nothing', calls: 5, snapshots: true })
    assert.equal(done.status, 'done', done.error)
    assert.equal(done.report?.snapshots.status, 'taken')
    assert.equal((await get(a, `${API}/${done.id}/before.heapsnapshot`)).statusCode, 200)
    await until(async () => (await get(b, `${API}/${done.id}`)).json().status === 'done', 'the finished test from the other registration')
    for (const which of ['before', 'after']) {
      const refused = await get(b, `${API}/${done.id}/${which}.heapsnapshot`)
      assert.equal(refused.statusCode, 409)
      const err = refused.json() as { code: string, message: string }
      assert.equal(err.code, 'FST_DEBUG_TOOLBAR_LEAK_TEST_STATE')
      assert.equal(err.message, `Leak test "${done.id}": its ${which}.heapsnapshot is on the disk of ${THIS_PROCESS}, which ran it, not of the process that answered (${THIS_PROCESS}); download it from that process`)
    }
    // The report itself is shared.
    assert.equal((await get(b, `${API}/${done.id}/report.json`)).statusCode, 200)
    const page = (await get(b, `/__debug/leak-tests/${done.id}`)).body
    assert.doesNotMatch(page, /\.heapsnapshot" download/)
    assert.match(page, /Report \(JSON\)/)
    assert.match(page, new RegExp(`Its \\.heapsnapshot files are on the disk of ${THIS_PROCESS} and are downloaded from that process\\.`))
    assert.match((await get(a, `/__debug/leak-tests/${done.id}`)).body, /before\.heapsnapshot" download/)
  })

  test('a running test is shown as running by another registration, which refuses to cancel it and names the process that runs it', async () => {
    const { a, b, prefix } = await pair()
    const token = await tokenOf(a)
    const started = await a.inject(post(API, token, { method: 'GET', url: '/nothing', calls: 500, snapshots: false }))
    assert.equal(started.statusCode, 202, started.body)
    const id = (started.json() as { id: string }).id
    await until(async () => await redis.admin.exists(`${prefix}lt:${id}`) === 1, 'the running test in Redis')
    const fromB = (await get(b, `${API}/${id}`)).json() as TestJson
    assert.equal(fromB.status, 'running')
    assert.deepEqual(fromB.process, { pid: process.pid, hostname: hostname() })
    const page = await get(b, `/__debug/leak-tests/${id}`)
    assert.equal(page.statusCode, 200)
    assert.match(page.body, /data-status="running"/)
    assert.match(page.body, /This test runs in process \d+ on [^;]+; this page is served by process \d+ on .+, which shows its outcome once it has ended, but not its progress\./)
    const refused = await b.inject(post(`${API}/${id}/cancel`, await tokenOf(b), {}))
    assert.equal(refused.statusCode, 409)
    assert.match(refused.json().message, new RegExp(`it runs in ${THIS_PROCESS}, not in the process that answered \\(${THIS_PROCESS}\\); cancel it there`))

    const cancel = await a.inject(post(`${API}/${id}/cancel`, token, {}))
    assert.equal(cancel.statusCode, 200, cancel.body)
    await until(async () => (await get(b, `${API}/${id}`)).json().status === 'cancelled', 'the cancelled state from the other registration')
  })

  test('the shared tests are bounded by count, expire with the store\'s TTL, and unreadable keys are skipped with one log line', async () => {
    const prefix = `ltb${newId().slice(0, 8)}:`
    const client = new Redis(redis.server.url)
    const lines: string[] = []
    const log = Fastify({ logger: { level: 'info', stream: new Writable({ write (c, _e, done) { for (const l of String(c).split('\n')) if (l !== '') lines.push(JSON.parse(l).msg); done() } }) } }).log
    const store = createRedisLeakTestStore({ client, keyPrefix: prefix, ttlMs: 1500, log, max: 3 })
    const reader = createRedisLeakTestStore({ client, keyPrefix: prefix, ttlMs: 1500, log, max: 3 })
    try {
      const ids: string[] = []
      for (let i = 0; i < 5; i++) {
        const e: LeakTestEntry = { id: newId(), status: 'running', source: 'api', request: { method: 'GET', url: `/r${i}` }, route: `/r${i}`, calls: 5, snapshots: false, startedAt: Date.now() + i, process: { pid: 4242, hostname: 'elsewhere' } }
        store.add(e)
        e.status = 'failed'
        e.error = 'on purpose'
        e.finishedAt = Date.now()
        store.finished(e)
        ids.push(e.id)
      }
      await until(async () => JSON.stringify(await redis.admin.zrevrange(`${prefix}leak-tests`, 0, -1)) === JSON.stringify(ids.slice(-3).reverse()), 'the newest three in the index')
      assert.equal(await redis.admin.exists(...ids.slice(0, 2).map((id) => `${prefix}lt:${id}`)), 0, 'evicted tests are deleted')
      assert.deepEqual((await reader.list()).map((e) => [e.id, e.status, e.error, e.process.pid]), ids.slice(-3).reverse().map((id) => [id, 'failed', 'on purpose', 4242]))

      await redis.admin.zadd(`${prefix}leak-tests`, Date.now() + 100, 'bad')
      await redis.admin.set(`${prefix}lt:bad`, '{"id":"bad","status":"who knows"}')
      assert.equal((await reader.list()).length, 3)
      assert.equal(await reader.get('bad'), undefined)
      assert.equal(lines.filter((l) => l.includes(`${prefix}lt:bad`)).length, 1, lines.join('\n'))

      await until(async () => (await reader.list()).length === 0, 'the tests to expire')
      assert.equal(await reader.get(ids.at(-1) as string), undefined)
    } finally {
      store.clear()
      reader.clear()
      client.disconnect()
    }
  })

  test('Redis down: leak-test routes answer with this registration\'s tests, logged once; tests made meanwhile are shared once it answers again', async () => {
    const own = await RedisServer.start()
    const prefix = `ltd${newId().slice(0, 8)}:`
    const { app: a, lines } = await leakApp(own.url, prefix)
    const b = (await leakApp(own.url, prefix)).app
    try {
      const first = await run(a, { method: 'GET', url: '/nothing', calls: 5, snapshots: false })
      assert.equal(first.status, 'done', first.error)
      await until(async () => (await get(b, API)).json().length === 1, 'the first test from the other registration')

      await own.stop()
      const second = await run(a, { method: 'GET', url: '/nothing', calls: 5, snapshots: false })
      assert.equal(second.status, 'done', second.error)
      const list = await get(a, API)
      assert.equal(list.statusCode, 200)
      assert.deepEqual((list.json() as Array<{ id: string }>).map((e) => e.id), [second.id, first.id])
      assert.equal((await get(a, `${API}/${first.id}`)).statusCode, 200)
      assert.equal((await get(a, `/__debug/leak-tests/${second.id}`)).statusCode, 200)
      assert.equal((await get(a, '/__debug/?view=routes')).statusCode, 200)
      assert.equal((await get(a, `${API}/${newId()}`)).statusCode, 404)
      // The other registration has no tests of its own: an empty list, not an error.
      const fromB = await get(b, API)
      assert.equal(fromB.statusCode, 200)
      assert.deepEqual(fromB.json(), [])
      assert.equal((await get(b, `${API}/${first.id}`)).statusCode, 404)
      await until(() => lines.some((l) => l.msg.includes('leak tests are shown from this process only')), 'the outage to be logged')
      assert.equal(lines.filter((l) => l.msg.includes('leak tests are shown from this process only')).length, 1)
      assert.ok(lines.every((l) => l.level < 50), 'no error logged')

      // Back, empty: what was not written is written, and the other registration sees it.
      await own.restart()
      await until(async () => ((await get(b, API)).json() as Array<{ id: string }>).some((e) => e.id === second.id), 'the test made while Redis was down, from the other registration', 30_000)
      assert.ok(lines.some((l) => l.msg.includes('leak tests are shared again')))
    } finally {
      await a.close()
      await b.close()
      await own.stop()
    }
  })
})

describe('leak tests across two processes on one Redis', { skip, timeout: 180_000 }, () => {
  let server: RedisServer
  let worker: Worker | undefined
  let app: FastifyInstance | undefined
  const prefix = `ltp${newId().slice(0, 8)}:`

  before(async () => {
    server = await RedisServer.start()
    ;[worker, app] = await Promise.all([startWorker(server.url, prefix), leakApp(server.url, prefix).then((x) => x.app)])
  })
  after(async () => {
    await app?.close()
    if (worker !== undefined) await stopWorker(worker)
    await server?.stop()
  })

  test('another process serves the report and names the process whose disk holds the snapshots', async () => {
    const w = worker as Worker
    const done = await run(app as FastifyInstance, { method: 'GET', url: '/nothing', calls: 5, snapshots: true })
    assert.equal(done.status, 'done', done.error)
    const other = `process ${w.pid} on ${hostname()}`
    let fromWorker: TestJson | undefined
    await until(async () => {
      const res = await fetch(`${w.base}${API}/${done.id}`)
      if (res.status === 200) fromWorker = await res.json() as TestJson
      return fromWorker?.status === 'done'
    }, 'the finished test from the other process')
    assert.deepEqual(fromWorker?.report, done.report)
    assert.deepEqual(fromWorker?.process, { pid: process.pid, hostname: hostname() })
    const list = await (await fetch(`${w.base}${API}`)).json() as Array<{ id: string, process: { pid: number } }>
    assert.deepEqual(list.map((e) => [e.id, e.process.pid]), [[done.id, process.pid]])

    const refused = await fetch(`${w.base}${API}/${done.id}/after.heapsnapshot`)
    assert.equal(refused.status, 409)
    assert.equal((await refused.json() as { message: string }).message, `Leak test "${done.id}": its after.heapsnapshot is on the disk of ${THIS_PROCESS}, which ran it, not of the process that answered (${other}); download it from that process`)
    const page = await fetch(`${w.base}/__debug/leak-tests/${done.id}`)
    assert.equal(page.status, 200)
    const body = await page.text()
    assert.ok(body.includes(`This test ran in ${THIS_PROCESS}; this page is served by ${other} from the shared store. Its .heapsnapshot files are on the disk of ${THIS_PROCESS} and are downloaded from that process.`), body)
  })
})
