import { createHash } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { AllocationProfile } from './allocations/types.ts'
import { FST_DEBUG_TOOLBAR_REDIS_UNAVAILABLE } from './errors.ts'
import type { RedisClientLike, ResolvedOptions } from './options.ts'
import { reviveProfile, reviveRecord } from './record/revive.ts'
import type { RequestRecord } from './record/types.ts'
import { estimateProfileBytes, estimateRecordBytes, type RequestStore, type Settle, type StoreFigures } from './store.ts'

/**
 * The shared store: every process of an app keeps its records in one Redis, so any of them answers
 * for any record. Keys, under the prefix:
 *   index     sorted set: record id -> startedAt (ms since the epoch)
 *   sizes     hash: record id -> estimated bytes (counted against maxStoreBytes)
 *   bytes     string: the sum of `sizes`
 *   r:<id>    the record as JSON, expiring after ttlMs
 *   p:<id>    its allocation call tree as JSON (sampled records only), expiring with it
 * Leak tests use `leak-tests` and `lt:<id>` beside these (src/redis-leak-test-store.ts).
 * save() only queues (the request path never waits for Redis); a timer writes the queue in one
 * script call that also trims expired, surplus and oversize records oldest first, so the caps hold
 * whichever process writes.
 */

/**
 * Time between a save and the write of its batch, in ms: one timer for a burst, none when idle.
 * Under load only the newest maxRequests of a batch are kept (the store holds no more), so most
 * records of a busy second are never serialised; see docs/performance.md.
 */
const FLUSH_DELAY_MS = 50
/**
 * The delay instead while batches overflow (more than maxRequests saves between writes): the store
 * keeps only the newest maxRequests, which the next second's requests replace anyway, so under load
 * one write a second holds the same history for a twentieth of the serialising.
 */
const OVERLOAD_DELAY_MS = 1000
/** Time between writes while Redis does not answer, in ms. */
const RETRY_MS = 1000
/**
 * A batch whose records wait for a reported GC's figures swaps the GC profiler for them (a cost every
 * later GC pays until a full GC: docs/performance.md) at most this often, in ms; until then they wait.
 */
const PAIR_INTERVAL_MS = 1000
/** How long a write or a read may take before Redis counts as unavailable, in ms. */
export const WRITE_TIMEOUT_MS = 3000
export const READ_TIMEOUT_MS = 1500
/** A record asked for by id and not in Redis yet may be in another process's next batch (up to a second away: PAIR_INTERVAL_MS, OVERLOAD_DELAY_MS): look again after these waits, in ms. */
const MISS_RETRIES_MS = [100, 250, 800]
/** Distinct bad keys logged, at most (each once). */
const MAX_LOGGED_KEYS = 1000
/** Ids the toolbar writes: what a member of the index must look like to be read. */
const ID_RE = /^[A-Za-z0-9_-]{1,64}$/
/** Orders this process's records within one millisecond of startedAt: score = startedAt + (n mod 1000) / 1000. */
let tieBreak = 0

/** Writes a batch and trims; ARGV: prefix, cutoff (ms), ttlMs, maxRequests, maxStoreBytes, then per record id, score (startedAt), bytes, record JSON, profile JSON or ''. Returns { count, bytes, repaired keys }. */
const SAVE_SCRIPT = `
local p = ARGV[1]
local cutoff, ttl, maxN, maxB = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local index, sizes, total = p .. 'index', p .. 'sizes', p .. 'bytes'
local repaired = 0
local function expect (key, kind)
  local t = redis.call('TYPE', key)['ok']
  if t ~= 'none' and t ~= kind then redis.call('DEL', key) repaired = repaired + 1 end
end
expect(index, 'zset') expect(sizes, 'hash') expect(total, 'string')
if redis.call('EXISTS', total) == 1 and tonumber(redis.call('GET', total)) == nil then redis.call('DEL', total) repaired = repaired + 1 end
if redis.call('EXISTS', total) == 0 then
  local s = 0
  for _, v in ipairs(redis.call('HVALS', sizes)) do s = s + (tonumber(v) or 0) end
  redis.call('SET', total, s)
end
local function drop (id)
  redis.call('ZREM', index, id)
  local s = tonumber(redis.call('HGET', sizes, id) or '0') or 0
  redis.call('HDEL', sizes, id)
  redis.call('DECRBY', total, s)
  redis.call('DEL', p .. 'r:' .. id, p .. 'p:' .. id)
end
for i = 6, #ARGV, 5 do
  local id = ARGV[i]
  if redis.call('HEXISTS', sizes, id) == 1 then drop(id) end
  redis.call('SET', p .. 'r:' .. id, ARGV[i + 3], 'PX', ttl)
  if ARGV[i + 4] ~= '' then redis.call('SET', p .. 'p:' .. id, ARGV[i + 4], 'PX', ttl) end
  redis.call('ZADD', index, ARGV[i + 1], id)
  redis.call('HSET', sizes, id, ARGV[i + 2])
  redis.call('INCRBY', total, ARGV[i + 2])
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', index, '-inf', '(' .. cutoff)) do drop(id) end
local n = redis.call('ZCARD', index)
if n > maxN then
  for _, id in ipairs(redis.call('ZRANGE', index, 0, n - maxN - 1)) do drop(id) end
end
while tonumber(redis.call('GET', total)) > maxB do
  local oldest = redis.call('ZRANGE', index, 0, 0)
  if #oldest == 0 then redis.call('SET', total, 0) break end
  drop(oldest[1])
end
return { redis.call('ZCARD', index), tonumber(redis.call('GET', total)), repaired }
`

/** Deletes every record under the prefix that the index names, and the index. ARGV: prefix. */
const CLEAR_SCRIPT = `
local p = ARGV[1]
local index = p .. 'index'
if redis.call('TYPE', index)['ok'] == 'zset' then
  for _, id in ipairs(redis.call('ZRANGE', index, 0, -1)) do redis.call('DEL', p .. 'r:' .. id, p .. 'p:' .. id) end
end
redis.call('DEL', index, p .. 'sizes', p .. 'bytes')
return 0
`

/** The SHA-1 that EVALSHA names a script by. */
export const sha1 = (s: string): string => createHash('sha1').update(s).digest('hex')
const SAVE_SHA = sha1(SAVE_SCRIPT)
const CLEAR_SHA = sha1(CLEAR_SCRIPT)

/** What a Redis store is made of. */
export interface RedisStoreConfig {
  client: RedisClientLike
  keyPrefix: string
  ttlMs: number
  maxRequests: number
  maxStoreBytes: number
  log: FastifyBaseLogger
  /** Resolves once a record's memory figures are final (the finalizer's settle). */
  settle?: Settle
  /** Called by close() after the last write: quits a client the toolbar created. */
  release?: () => Promise<void>
}

interface Queued { record: RequestRecord, profile: AllocationProfile | undefined }

/** A RequestStore on Redis (see the top of this file for the key layout). */
export function createRedisStore (config: RedisStoreConfig): RequestStore & { on (event: 'written', listener: (n: number) => void): void } {
  const { client, keyPrefix: p, ttlMs, maxRequests, maxStoreBytes, log } = config
  const settle = config.settle ?? (async () => true)
  /** Saved, not yet written; oldest first, at most maxRequests (the newest are kept). */
  let pending: Queued[] = []
  /** The batch being written now. */
  let writing: Queued[] = []
  let timer: NodeJS.Timeout | undefined
  /** The batch delay now: FLUSH_DELAY_MS, or OVERLOAD_DELAY_MS after a batch overflowed. */
  let delayMs = FLUSH_DELAY_MS
  /** A save dropped a record for the cap since the last write began. */
  let overflowed = false
  /** The flush under way (waiting for a settle, Redis or its ping). */
  let flushing: Promise<void> | undefined
  /** When a batch last swapped the GC profiler to settle its records (Date.now() ms). */
  let pairedAt = -Infinity
  let down = false
  let closed = false
  let dropped = 0
  let count = 0
  let bytes = 0
  const loggedKeys = new Set<string>()
  /** Read commands Redis refused (a key of the wrong type), each logged once. */
  const refusedLogged = new Set<string>()
  const writtenListeners: Array<(n: number) => void> = []

  function schedule (ms: number): void {
    if (timer !== undefined || flushing !== undefined || closed) return
    timer = setTimeout(flush, ms)
    timer.unref()
  }

  function unavailable (err: unknown): void {
    if (down) return
    down = true
    log.warn({ err }, `fastify-debug-toolbar: the Redis store does not answer; requests go on, and the newest ${maxRequests} records wait in memory until it does`)
  }

  function available (): void {
    if (!down) return
    down = false
    log.info(`fastify-debug-toolbar: the Redis store answers again; the records that waited are written${dropped > 0 ? ` (${dropped} older ones were dropped meanwhile)` : ''}`)
    dropped = 0
  }

  function badKey (key: string, why: string): void {
    if (loggedKeys.has(key) || loggedKeys.size >= MAX_LOGGED_KEYS) return
    loggedKeys.add(key)
    log.warn(`fastify-debug-toolbar: ignoring Redis key ${JSON.stringify(key)}: ${why}`)
  }

  async function run (sha: string, script: string, args: Array<string | number>, timeoutMs: number): Promise<unknown> {
    try {
      return await withTimeout(client.call('evalsha', sha, 0, ...args), timeoutMs)
    } catch (err) {
      if (!String((err as Error)?.message).startsWith('NOSCRIPT')) throw err
      return await withTimeout(client.call('eval', script, 0, ...args), timeoutMs)
    }
  }

  async function read<T> (command: string, ...args: Array<string | number>): Promise<T | undefined> {
    try {
      const out = await withTimeout(client.call(command, ...args), READ_TIMEOUT_MS) as T
      if (down) {
        available()
        schedule(0)
      }
      return out
    } catch (err) {
      if (!rejected(err)) unavailable(err)
      else if (!refusedLogged.has(command)) {
        refusedLogged.add(command)
        log.warn({ err }, `fastify-debug-toolbar: Redis refused ${command} on the toolbar's keys; answering from this process's records`)
      }
      return undefined
    }
  }

  /** While Redis is down: true once it answers a PING again (nothing is serialised before). */
  async function answers (): Promise<boolean> {
    try {
      await withTimeout(client.call('ping'), READ_TIMEOUT_MS)
      return true
    } catch {
      return false
    }
  }

  /**
   * Write what is pending, its records' figures made final first (one settle completes every older
   * record too). Records whose windows wait for a reported GC's figures are paired at most once a
   * PAIR_INTERVAL_MS unless `force`; until then they stay pending and the rest go out.
   */
  async function flush (force = false): Promise<void> {
    timer = undefined
    if (flushing !== undefined || pending.length === 0) return await flushing
    delayMs = overflowed ? OVERLOAD_DELAY_MS : FLUSH_DELAY_MS
    overflowed = false
    let nextMs = delayMs
    flushing = (async () => {
      if (down && !(await answers())) return
      let batch = pending
      pending = []
      writing = batch
      let open = -1
      for (let i = batch.length - 1; i >= 0 && open === -1; i--) if (!(batch[i] as Queued).record.memory.final) open = i
      const id = open === -1 ? undefined : (batch[open] as Queued).record.id
      if (id !== undefined && !(await settle(id, false))) {
        const waitMs = pairedAt + PAIR_INTERVAL_MS - Date.now()
        if (force || waitMs <= 0) {
          pairedAt = Date.now()
          await settle(id)
        } else {
          const held = batch.filter((q) => !q.record.memory.final)
          batch = batch.filter((q) => q.record.memory.final)
          writing = batch
          requeue(held)
          nextMs = Math.max(delayMs, waitMs)
        }
      }
      if (batch.length > 0) await write(batch)
    })()
    try {
      await flushing
    } finally {
      writing = []
      flushing = undefined
      if (pending.length > 0) schedule(down ? RETRY_MS : nextMs)
    }
  }

  /** Put records back ahead of those saved since, keeping the newest maxRequests. */
  function requeue (older: Queued[]): void {
    const keep = older.concat(pending)
    const over = keep.length - maxRequests
    if (over > 0 && down) dropped += over
    pending = over > 0 ? keep.slice(over) : keep
  }

  async function write (batch: Queued[]): Promise<void> {
    try {
      const args: Array<string | number> = [p, Date.now() - ttlMs, ttlMs, maxRequests, maxStoreBytes]
      for (const { record, profile } of batch) {
        const size = estimateRecordBytes(record) + estimateProfileBytes(profile)
        if (size > maxStoreBytes) continue
        tieBreak = (tieBreak + 1) % 1000
        args.push(record.id, record.startedAt + tieBreak / 1000, size, JSON.stringify(record), profile === undefined ? '' : JSON.stringify(profile))
      }
      const out = await run(SAVE_SHA, SAVE_SCRIPT, args, WRITE_TIMEOUT_MS) as [number, number, number]
      available()
      count = Number(out[0])
      bytes = Number(out[1])
      if (out[2] > 0) log.warn(`fastify-debug-toolbar: ${out[2]} Redis key(s) under ${JSON.stringify(p)} were not what the toolbar keeps there; they were replaced`)
      for (const l of writtenListeners) l(batch.length)
    } catch (err) {
      if (rejected(err)) {
        // Redis answered, and refused: writing the same batch again would fail the same way.
        log.warn({ err }, `fastify-debug-toolbar: Redis refused to store ${batch.length} records`)
      } else {
        unavailable(err)
        requeue(batch)
      }
    }
  }

  /** Records of this process not in Redis yet, newest first. */
  function local (): RequestRecord[] {
    const out: RequestRecord[] = []
    for (let i = pending.length - 1; i >= 0; i--) out.push((pending[i] as Queued).record)
    for (let i = writing.length - 1; i >= 0; i--) out.push((writing[i] as Queued).record)
    return out
  }

  function localOne (id: string): Queued | undefined {
    for (let i = pending.length - 1; i >= 0; i--) if ((pending[i] as Queued).record.id === id) return pending[i]
    for (let i = writing.length - 1; i >= 0; i--) if ((writing[i] as Queued).record.id === id) return writing[i]
    return undefined
  }

  async function remoteRecord (id: string): Promise<RequestRecord | undefined> {
    const key = `${p}r:${id}`
    const text = await read<string | null>('get', key)
    if (text === undefined || text === null) return undefined
    const r = reviveRecord(text)
    if (r === undefined || r.id !== id) badKey(key, 'not a request record')
    return r?.id === id ? r : undefined
  }

  return {
    save (record, profile) {
      if (pending.length >= maxRequests) {
        pending.shift()
        if (down) dropped++
        else overflowed = true
      }
      pending.push({ record, profile })
      if (timer === undefined) schedule(down ? RETRY_MS : delayMs)
    },
    async get (id) {
      const q = localOne(id)
      if (q !== undefined) {
        if (!q.record.memory.final) await settle(id)
        return q.record
      }
      if (!ID_RE.test(id)) return undefined
      let r = await remoteRecord(id)
      for (const waitMs of MISS_RETRIES_MS) {
        if (r !== undefined || down) break
        await new Promise((resolve) => { setTimeout(resolve, waitMs) })
        r = localOne(id)?.record ?? await remoteRecord(id)
      }
      return r
    },
    async getProfile (id) {
      const q = localOne(id)
      if (q !== undefined) return q.profile
      if (!ID_RE.test(id)) return undefined
      const key = `${p}p:${id}`
      const text = await read<string | null>('get', key)
      if (text === undefined || text === null) return undefined
      const profile = reviveProfile(text)
      if (profile === undefined) badKey(key, 'not an allocation call tree')
      return profile
    },
    async list () {
      const mine = local()
      const open = mine.find((r) => !r.memory.final)
      if (open !== undefined) await settle(open.id)
      const ids = await read<string[]>('zrevrangebyscore', `${p}index`, '+inf', Date.now() - ttlMs, 'LIMIT', 0, maxRequests)
      const byId = new Map<string, RequestRecord>()
      if (Array.isArray(ids)) {
        const wanted = ids.filter((id) => {
          if (ID_RE.test(id)) return true
          badKey(`${p}index`, `member ${JSON.stringify(String(id).slice(0, 80))} is not a record id`)
          return false
        })
        const texts = wanted.length === 0 ? [] : await read<Array<string | null>>('mget', ...wanted.map((id) => `${p}r:${id}`))
        wanted.forEach((id, i) => {
          const text = texts?.[i]
          if (typeof text !== 'string') return
          const r = reviveRecord(text)
          if (r === undefined || r.id !== id) badKey(`${p}r:${id}`, 'not a request record')
          else byId.set(id, r)
        })
      }
      for (const r of mine) byId.set(r.id, r)
      return [...byId.values()].sort((a, b) => b.startedAt - a.startedAt).slice(0, maxRequests)
    },
    revise () {
      // Records are written once their figures are final (flush settles them first): nothing to redo.
    },
    async clear () {
      pending = []
      try {
        await run(CLEAR_SHA, CLEAR_SCRIPT, [p], WRITE_TIMEOUT_MS)
        count = 0
        bytes = 0
      } catch (err) {
        unavailable(err)
      }
    },
    async figures (): Promise<StoreFigures> {
      const [n, total] = await Promise.all([read<number>('zcard', `${p}index`), read<string | null>('get', `${p}bytes`)])
      if (n !== undefined) count = Number(n)
      if (total !== undefined) bytes = Number(total ?? 0) || 0
      return { size: Math.min(maxRequests, count + pending.length), sizeBytes: bytes }
    },
    async close () {
      if (timer !== undefined) clearTimeout(timer)
      timer = undefined
      await flushing
      if (!down && pending.length > 0) await flush(true)
      closed = true
      pending = []
      await config.release?.()
    },
    on (_event, listener) { writtenListeners.push(listener) },
    shared: true,
    get sizeBytes () { return bytes },
    get size () { return Math.min(maxRequests, count + pending.length) }
  }
}

/** True when Redis answered with an error about the command or the data (retrying would fail alike), not about being unavailable. */
export function rejected (err: unknown): boolean {
  return (err as Error | undefined)?.name === 'ReplyError' && /^(ERR|WRONGTYPE)/.test((err as Error).message)
}

class RedisTimeout extends Error {
  constructor (ms: number) {
    super(`Redis did not answer within ${ms} ms`)
    this.name = 'RedisTimeout'
  }
}

/** `promise`, or a RedisTimeout after `ms`. */
export async function withTimeout<T> (promise: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout | undefined
  try {
    return await Promise.race([promise, new Promise<never>((_resolve, reject) => { t = setTimeout(() => { reject(new RedisTimeout(ms)) }, ms) })])
  } finally {
    clearTimeout(t)
    // A late failure of the raced command is already accounted for.
    promise.catch(() => {})
  }
}

/** An ioredis client as the toolbar creates and closes it. */
interface OwnedClient extends RedisClientLike {
  quit (): Promise<unknown>
  disconnect (): void
  on (event: 'error', listener: (err: unknown) => void): unknown
}

type RedisConstructor = new (url: string, options: Record<string, unknown>) => OwnedClient

/** The ioredis constructor, loaded when the Redis store is asked for; a coded error when the package is missing. */
export async function loadIoredis (specifier = 'ioredis'): Promise<RedisConstructor> {
  try {
    const mod = await import(specifier) as { Redis?: RedisConstructor, default?: RedisConstructor }
    const Redis = mod.Redis ?? mod.default
    if (typeof Redis !== 'function') throw new Error(`${specifier} has no Redis export`)
    return Redis
  } catch (err) {
    throw new FST_DEBUG_TOOLBAR_REDIS_UNAVAILABLE((err as Error).message, { cause: err })
  }
}

/**
 * Make the store factory for the `store: { redis }` option: loads ioredis for a URL (at
 * registration, so a missing package fails it) and connects lazily; a client passed in is used as is.
 */
export async function redisStoreFactory (options: ResolvedOptions, log: FastifyBaseLogger): Promise<RedisStoreFactory | undefined> {
  const s = options.store
  if (s.kind !== 'redis') return undefined
  let client: RedisClientLike
  let release: (() => Promise<void>) | undefined
  if (typeof s.redis === 'string') {
    const Redis = await loadIoredis()
    const owned = new Redis(s.redis, {
      // A command fails after one reconnection attempt instead of waiting in ioredis' queue.
      maxRetriesPerRequest: 1,
      retryStrategy: (times: number) => Math.min(times * 200, 2000),
      connectionName: 'fastify-debug-toolbar'
    })
    // Connection errors reach the store through its commands; the event only needs a listener.
    owned.on('error', () => {})
    client = owned
    release = async () => {
      try {
        await withTimeout(owned.quit(), READ_TIMEOUT_MS)
      } catch {
        owned.disconnect()
      }
    }
  } else {
    client = s.redis
  }
  const make = (settle: Settle): RequestStore => createRedisStore({ client, keyPrefix: s.keyPrefix, ttlMs: s.ttlMs, maxRequests: options.maxRequests, maxStoreBytes: options.maxStoreBytes, log, settle, release })
  return Object.assign(make, { client, redis: { client, keyPrefix: s.keyPrefix } })
}

/** Builds the Redis store; `client` is its connection and `redis` the client with its key prefix, for the toolbar's other shared state (leak tests, the live page's series). */
export type RedisStoreFactory = ((settle: Settle) => RequestStore) & { readonly client: RedisClientLike, redis: SharedRedis }

/** A Redis client and the prefix of the keys the toolbar writes there. */
export interface SharedRedis { client: RedisClientLike, keyPrefix: string }
