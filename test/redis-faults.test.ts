import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import debugToolbar, { type RequestRecord } from '../src/index.ts'
import { newId } from '../src/id.ts'
import { freePort, redisFixture, redisSkipReason, until } from './redis-server.ts'

const skip = redisSkipReason()

interface Line { level: number, msg: string }

describe('Redis store faults', { skip }, () => {
  const redis = redisFixture()

  async function app (keyPrefix: string, maxRequests = 50, url = redis.server.url): Promise<{ app: FastifyInstance, lines: Line[] }> {
    const lines: Line[] = []
    const stream = new Writable({
      write (chunk, _enc, done) {
        for (const l of String(chunk).split('\n')) if (l !== '') lines.push(JSON.parse(l))
        done()
      }
    })
    const a = Fastify({ logger: { level: 'info', stream } })
    await a.register(debugToolbar, { enabled: true, live: false, allocations: false, maxRequests, store: { redis: url, keyPrefix } })
    a.get('/hello', async () => ({ hello: 'world' }))
    await a.ready()
    return { app: a, lines }
  }

  async function request (a: FastifyInstance): Promise<string> {
    const res = await a.inject('/hello')
    assert.equal(res.statusCode, 200)
    assert.deepEqual(res.json(), { hello: 'world' })
    return String(res.headers['x-debug-toolbar-id'])
  }

  test('Redis stopped mid-run: requests answer, the newest records wait in memory (bounded), and are written when an empty Redis returns; logged once each way', async () => {
    const prefix = `f1:${newId()}:`
    const { app: a, lines } = await app(prefix, 5)
    try {
      const first = await request(a)
      await until(async () => await redis.admin.exists(`${prefix}r:${first}`) === 1, 'the first record')

      await redis.server.stop()
      const ids: string[] = []
      for (let i = 0; i < 12; i++) ids.push(await request(a))
      // Reads go on from this process's records: never a 500.
      const list = await a.inject('/__debug/api/requests')
      assert.equal(list.statusCode, 200)
      assert.deepEqual((list.json() as RequestRecord[]).map((r) => r.id), ids.slice(-5).reverse())
      assert.equal((await a.inject(`/__debug/requests/${ids.at(-1) as string}`)).statusCode, 200)
      assert.equal((await a.inject('/__debug/api/store')).statusCode, 200)
      await until(() => lines.some((l) => l.msg.includes('does not answer')), 'the outage to be logged')
      for (let i = 0; i < 3; i++) ids.push(await request(a))

      await redis.server.restart()
      // Restarted empty: the newest five are written when it answers again.
      const newest = JSON.stringify([...ids.slice(-5)].sort())
      await until(async () => JSON.stringify((await redis.admin.zrange(`${prefix}index`, 0, -1).catch(() => [])).sort()) === newest, 'the newest five buffered records to be written', 30_000)
      const written = JSON.parse(await redis.admin.get(`${prefix}r:${ids.at(-1) as string}`) as string) as RequestRecord
      assert.equal(written.memory.final, true)
      await until(() => lines.some((l) => l.msg.includes('answers again')), 'the return to be logged')
      assert.equal(lines.filter((l) => l.msg.includes('does not answer')).length, 1, lines.map((l) => l.msg).join('\n'))
      assert.equal(lines.filter((l) => l.msg.includes('answers again')).length, 1)
      assert.ok(lines.every((l) => l.level < 50), 'no error logged')

      const later = await request(a)
      await until(async () => await redis.admin.exists(`${prefix}r:${later}`) === 1, 'a record after the return')
    } finally {
      await a.close()
    }
  })

  test('a Redis that is down at start-up: registration succeeds, requests answer, toolbar routes answer from this process, logged once', async () => {
    const { app: a, lines } = await app(`f3:${newId()}:`, 50, `redis://127.0.0.1:${await freePort()}`)
    try {
      const ids: string[] = []
      for (let i = 0; i < 3; i++) ids.push(await request(a))
      const list = await a.inject('/__debug/api/requests')
      assert.equal(list.statusCode, 200)
      assert.deepEqual((list.json() as RequestRecord[]).map((r) => r.id), [...ids].reverse())
      assert.equal((await a.inject(`/__debug/api/requests/${ids[0] as string}`)).statusCode, 200)
      assert.equal((await a.inject(`/__debug/api/requests/${newId()}`)).statusCode, 404)
      assert.equal((await a.inject('/__debug/')).statusCode, 200)
      await until(() => lines.some((l) => l.msg.includes('does not answer')), 'the outage to be logged')
      assert.equal(lines.filter((l) => l.msg.includes('does not answer')).length, 1)
    } finally {
      await a.close()
    }
  })

  test('a slow Redis (DEBUG SLEEP) does not hold up requests; their records are written afterwards', async () => {
    const prefix = `f2:${newId()}:`
    const { app: a } = await app(prefix, 50)
    const sleeper = new Redis(redis.server.url)
    try {
      await request(a)
      await until(async () => await redis.admin.zcard(`${prefix}index`) === 1, 'the first record')
      let slept = false
      const sleeping = sleeper.call('DEBUG', 'SLEEP', '3').then(() => { slept = true })
      // Redis is blocked from when the command arrives until the sleep ends: requests made meanwhile must still answer.
      await new Promise((resolve) => { setTimeout(resolve, 50) })
      const ids: string[] = []
      for (let i = 0; i < 5; i++) ids.push(await request(a))
      assert.equal(slept, false, 'every request answered while Redis slept')
      await sleeping
      await until(async () => {
        const members = await redis.admin.zrange(`${prefix}index`, 0, -1)
        return ids.every((id) => members.includes(id))
      }, 'the records made during the sleep', 30_000)
    } finally {
      sleeper.disconnect()
      await a.close()
    }
  })
})
