import type { FastifyBaseLogger } from 'fastify'
import { createLeakTestStore, DEFAULT_MAX_LEAK_TESTS, latestByRoute, type LeakTestEntry, type LeakTestStore } from './leak-test-store.ts'
import type { RedisClientLike } from './options.ts'
import { READ_TIMEOUT_MS, rejected, sha1, withTimeout, WRITE_TIMEOUT_MS } from './redis-store.ts'

/**
 * Leak tests in the shared store, so every process shows every test's report and verdict. Keys,
 * under the store's prefix, beside the records' (src/redis-store.ts):
 *   leak-tests  sorted set: test id -> startedAt (ms since the epoch), at most `max` members
 *   lt:<id>     the test as JSON (no progress, no snapshot folder), expiring after ttlMs
 * A test is written when it starts (status `running`, naming its process) and when it ends. The run,
 * its progress, Cancel, a page-driven test's steps and the .heapsnapshot files stay in the process
 * that runs it; this process's tests are also kept in memory, and answer when Redis does not.
 */

/** Ids the toolbar writes. */
const ID_RE = /^[A-Za-z0-9_-]{1,64}$/
const STATUSES = new Set(['running', 'done', 'failed', 'cancelled'])
/** Time between writes while Redis does not answer, in ms. */
const RETRY_MS = 1000

/** Writes tests and trims; ARGV: prefix, ttlMs, max, then per test id, score (startedAt), JSON. Returns how many are kept. */
const WRITE_SCRIPT = `
local p = ARGV[1]
local ttl, maxN = tonumber(ARGV[2]), tonumber(ARGV[3])
local index = p .. 'leak-tests'
local t = redis.call('TYPE', index)['ok']
if t ~= 'none' and t ~= 'zset' then redis.call('DEL', index) end
for i = 4, #ARGV, 3 do
  redis.call('SET', p .. 'lt:' .. ARGV[i], ARGV[i + 2], 'PX', ttl)
  redis.call('ZADD', index, ARGV[i + 1], ARGV[i])
end
for _, id in ipairs(redis.call('ZRANGE', index, 0, -1)) do
  if redis.call('EXISTS', p .. 'lt:' .. id) == 0 then redis.call('ZREM', index, id) end
end
local n = redis.call('ZCARD', index)
if n > maxN then
  for _, id in ipairs(redis.call('ZRANGE', index, 0, n - maxN - 1)) do
    redis.call('ZREM', index, id)
    redis.call('DEL', p .. 'lt:' .. id)
  end
end
return redis.call('ZCARD', index)
`
const WRITE_SHA = sha1(WRITE_SCRIPT)

/** What a Redis leak-test store is made of. */
export interface RedisLeakTestStoreConfig {
  client: RedisClientLike
  keyPrefix: string
  ttlMs: number
  log: FastifyBaseLogger
  /** Tests kept, for every process together. @default 20 */
  max?: number
}

/** A LeakTestStore on Redis over this process's in-memory one (see the top of this file). */
export function createRedisLeakTestStore (config: RedisLeakTestStoreConfig): LeakTestStore {
  const { client, keyPrefix: p, ttlMs, log } = config
  const max = config.max ?? DEFAULT_MAX_LEAK_TESTS
  const local = createLeakTestStore(max)
  /** This process's tests whose current state is not in Redis yet. */
  const unwritten = new Map<string, LeakTestEntry>()
  let writing: Promise<void> | undefined
  let retry: NodeJS.Timeout | undefined
  let down = false
  let closed = false
  const loggedKeys = new Set<string>()

  function unavailable (err: unknown): void {
    if (down) return
    down = true
    log.warn({ err }, 'fastify-debug-toolbar: the Redis store does not answer; leak tests are shown from this process only until it does')
  }

  function available (): void {
    if (!down) return
    down = false
    log.info('fastify-debug-toolbar: the Redis store answers again; leak tests are shared again')
    write()
  }

  function badKey (key: string, why: string): void {
    if (loggedKeys.has(key) || loggedKeys.size >= 1000) return
    loggedKeys.add(key)
    log.warn(`fastify-debug-toolbar: ignoring Redis key ${JSON.stringify(key)}: ${why}`)
  }

  /** Write what is unwritten, one script call at a time, in the order the states arose. */
  function write (): void {
    if (writing !== undefined || closed || unwritten.size === 0) return
    const batch = [...unwritten.values()]
    unwritten.clear()
    const args: Array<string | number> = [p, ttlMs, max]
    for (const e of batch) args.push(e.id, e.startedAt, JSON.stringify(shared(e)))
    writing = run(args).then(() => {
      available()
    }, (err: unknown) => {
      if (closed) return
      if (rejected(err)) {
        log.warn({ err }, `fastify-debug-toolbar: Redis refused to store ${batch.length} leak test(s)`)
        return
      }
      unavailable(err)
      // A newer state of a test, queued meanwhile, wins over the one that failed.
      for (const e of batch) if (!unwritten.has(e.id)) unwritten.set(e.id, e)
      retry ??= setTimeout(() => { retry = undefined; write() }, RETRY_MS)
      retry.unref()
    }).finally(() => {
      writing = undefined
      if (!down) write()
    })
  }

  async function run (args: Array<string | number>): Promise<unknown> {
    try {
      return await withTimeout(client.call('evalsha', WRITE_SHA, 0, ...args), WRITE_TIMEOUT_MS)
    } catch (err) {
      if (!String((err as Error)?.message).startsWith('NOSCRIPT')) throw err
      return await withTimeout(client.call('eval', WRITE_SCRIPT, 0, ...args), WRITE_TIMEOUT_MS)
    }
  }

  async function read<T> (command: string, ...args: Array<string | number>): Promise<T | undefined> {
    if (closed) return undefined
    try {
      const out = await withTimeout(client.call(command, ...args), READ_TIMEOUT_MS) as T
      available()
      return out
    } catch (err) {
      if (rejected(err)) badKey(String(args[0]), `Redis refused ${command} on it`)
      else unavailable(err)
      return undefined
    }
  }

  function revive (key: string, text: unknown, id?: string): LeakTestEntry | undefined {
    if (typeof text !== 'string') return undefined
    let e: LeakTestEntry | undefined
    try {
      e = JSON.parse(text) as LeakTestEntry
    } catch {}
    if (e === undefined || e === null || typeof e !== 'object' || typeof e.id !== 'string' || (id !== undefined && e.id !== id) ||
      !STATUSES.has(e.status) || typeof e.request?.method !== 'string' || typeof e.request.url !== 'string' ||
      typeof e.startedAt !== 'number' || typeof e.calls !== 'number' || typeof e.process?.pid !== 'number' ||
      (e.report !== undefined && (e.report === null || typeof e.report !== 'object' || typeof e.report.verdict !== 'string'))) {
      badKey(key, 'not a leak test')
      return undefined
    }
    return e
  }

  async function remote (id: string): Promise<LeakTestEntry | undefined> {
    if (!ID_RE.test(id)) return undefined
    const key = `${p}lt:${id}`
    const text = await read<string | null>('get', key)
    return text === undefined || text === null ? undefined : revive(key, text, id)
  }

  async function list (): Promise<LeakTestEntry[]> {
    const mine = await local.list()
    // Twice the bound: unreadable members and this process's own tests do not shorten the list.
    const ids = await read<string[]>('zrevrange', `${p}leak-tests`, 0, 2 * max - 1)
    const byId = new Map<string, LeakTestEntry>()
    if (Array.isArray(ids)) {
      const wanted = ids.filter((id) => ID_RE.test(id))
      const texts = wanted.length === 0 ? [] : await read<unknown[]>('mget', ...wanted.map((id) => `${p}lt:${id}`))
      wanted.forEach((id, i) => {
        const e = revive(`${p}lt:${id}`, texts?.[i], id)
        if (e !== undefined) byId.set(id, e)
      })
    }
    // This process's own tests as they are now (progress, files).
    for (const e of mine) byId.set(e.id, e)
    let finished = 0
    return [...byId.values()].sort((a, b) => b.startedAt - a.startedAt).filter((e) => e.status === 'running' || ++finished <= max)
  }

  return {
    max,
    add (e) {
      local.add(e)
      unwritten.set(e.id, e)
      write()
    },
    finished (e) {
      local.finished(e)
      unwritten.set(e.id, e)
      write()
    },
    async get (id) {
      return await local.get(id) ?? await remote(id)
    },
    list,
    mine: (id) => local.mine(id),
    running: () => local.running(),
    async latestByRoute () {
      return latestByRoute(await list())
    },
    clear () {
      closed = true
      if (retry !== undefined) clearTimeout(retry)
      unwritten.clear()
      local.clear()
    }
  }
}

/** A test as it is written to Redis: no progress (it stays with the run) and no local folder. */
function shared (e: LeakTestEntry): Omit<LeakTestEntry, 'snapshotDir' | 'progress'> {
  const { snapshotDir: _dir, progress: _progress, ...rest } = e
  return rest
}
