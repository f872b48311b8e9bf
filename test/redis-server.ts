import { spawnSync } from 'node:child_process'
import { after, before } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'

import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { REDIS_SERVER, RedisServer } from '../playground/lib/redis-server.ts'

export { freePort, RedisServer, REDIS_SERVER } from '../playground/lib/redis-server.ts'

/**
 * Why the Redis tests cannot run here, or undefined when they can. With DEBUG_TOOLBAR_REQUIRE_REDIS=1
 * (CI) a missing redis-server is a failure, not a skip.
 */
export function redisSkipReason (): string | undefined {
  const found = spawnSync(REDIS_SERVER, ['--version'], { encoding: 'utf8' })
  if (found.status === 0) return undefined
  const why = `redis-server not found at ${REDIS_SERVER} (apt-get install redis-server, or set REDIS_SERVER): Redis store tests skipped`
  if (process.env.DEBUG_TOOLBAR_REQUIRE_REDIS === '1') throw new Error(`${why}, but DEBUG_TOOLBAR_REQUIRE_REDIS=1 requires them`)
  return why
}

/** Wait until `check` holds, polling; fails after `timeoutMs` with `what`. */
export async function until (check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

/** A redis-server and an admin client for the enclosing describe block, and apps closed after it. */
export interface RedisFixture { server: RedisServer, admin: Redis, apps: FastifyInstance[] }

export function redisFixture (): RedisFixture {
  const fixture = { apps: [] as FastifyInstance[] } as RedisFixture
  before(async () => {
    fixture.server = await RedisServer.start()
    fixture.admin = new Redis(fixture.server.url, { maxRetriesPerRequest: 1, retryStrategy: () => 100 })
    fixture.admin.on('error', () => {})
  })
  after(async () => {
    for (const app of fixture.apps) await app.close()
    fixture.admin?.disconnect()
    await fixture.server?.stop()
  })
  return fixture
}
