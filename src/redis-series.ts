import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { FastifyBaseLogger } from 'fastify'
import type { ProcessGc, SampleColumns, SamplerEvent } from './capture/process-sampler.ts'
import type { RedisClientLike } from './options.ts'
import { sha1 } from './redis-store.ts'

/**
 * The live page's series shared through Redis: every process of the app whose process sampler runs
 * writes its readings and GCs there, once a second, so a live page served by any of them shows each
 * process side by side. Keys, under the store's prefix (docs/live.md):
 *   live:open      string, expiring after OPEN_TTL_MS: a live page is open in some process
 *   live:procs     sorted set: `<start id>:<pid>@<host>` -> time of its last write (ms)
 *   live:s:<start id>  sorted set of readings, JSON rows scored by their time (ms)
 *   live:g:<start id>  sorted set of GCs, likewise
 * Each is trimmed to the longest window the page shows and to `maxRows` rows, and expires that long
 * after its process's last write, so a process that stops drops off the page.
 * Each process makes one script call a second while the toolbar is registered: it writes what its
 * sampler queued, refreshes `live:open` while a page is open here, and learns whether one is open
 * elsewhere (then its sampler runs too, for the live page's keepRunningMs).
 */

/** Time between two writes (and two looks at `live:open`), in ms. */
export const TICK_MS = 1000
/** How long `live:open` outlives the last refresh of the process whose page is open, in ms. */
export const OPEN_TTL_MS = 5000
/** How long a write or a read may take before Redis counts as unavailable, in ms. */
const TIMEOUT_MS = 1500
/** Most processes shown beside the serving one. */
const MAX_PEERS = 32
/** A process's member in `live:procs`: start id, pid, host. */
const MEMBER_RE = /^([0-9a-f]{16}):(\d+)@(.*)$/s
const GC_KINDS: ReadonlyArray<ProcessGc['kind']> = ['minor', 'major', 'incremental', 'weakcb']

/** Writes a batch; ARGV: prefix, member, start id, now (ms), keepMs, maxRows, open (1 to refresh live:open), number of reading rows, then the rows, then the GC rows. Returns 1 when a live page is open somewhere. */
const WRITE_SCRIPT = `
local p, member, id, now, keep, maxRows, open, n = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7], tonumber(ARGV[8])
local openKey, procs, s, g = p .. 'live:open', p .. 'live:procs', p .. 'live:s:' .. id, p .. 'live:g:' .. id
local function expect (key, kind)
  local t = redis.call('TYPE', key)['ok']
  if t ~= 'none' and t ~= kind then redis.call('DEL', key) end
end
if open == '1' then redis.call('SET', openKey, member, 'PX', ${OPEN_TTL_MS}) end
if #ARGV > 8 then
  expect(procs, 'zset') expect(s, 'zset') expect(g, 'zset')
  for i = 9, 8 + n do redis.call('ZADD', s, cjson.decode(ARGV[i])[1], ARGV[i]) end
  for i = 9 + n, #ARGV do redis.call('ZADD', g, cjson.decode(ARGV[i])[1], ARGV[i]) end
  for _, key in ipairs({ s, g }) do
    redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. (now - keep))
    redis.call('ZREMRANGEBYRANK', key, 0, -(maxRows + 1))
    redis.call('PEXPIRE', key, keep)
  end
  redis.call('ZADD', procs, now, member)
  redis.call('ZREMRANGEBYSCORE', procs, '-inf', '(' .. (now - keep))
  redis.call('PEXPIRE', procs, keep)
end
return redis.call('EXISTS', openKey)
`

/** Reads every other process's rows; ARGV: prefix, own member, from (ms), most processes. Returns { member, readings, gcs } per process, newest writer first. */
const READ_SCRIPT = `
local p, self, from, most = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local procs = p .. 'live:procs'
if redis.call('TYPE', procs)['ok'] ~= 'zset' then return {} end
local out = {}
for _, m in ipairs(redis.call('ZREVRANGEBYSCORE', procs, '+inf', from, 'LIMIT', 0, most + 1)) do
  local id = string.match(m, '^([0-9a-f]+):')
  if m ~= self and id ~= nil then
    local s, g = p .. 'live:s:' .. id, p .. 'live:g:' .. id
    local rows, gcs = {}, {}
    if redis.call('TYPE', s)['ok'] == 'zset' then rows = redis.call('ZRANGEBYSCORE', s, from, '+inf') end
    if redis.call('TYPE', g)['ok'] == 'zset' then gcs = redis.call('ZRANGEBYSCORE', g, from, '+inf') end
    out[#out + 1] = { m, rows, gcs }
  end
end
return out
`

const WRITE_SHA = sha1(WRITE_SCRIPT)
const READ_SHA = sha1(READ_SCRIPT)

/** Another process's readings and GCs, as the live page's JSON carries them; times in epoch ms, sizes in bytes. */
export interface PeerSeries {
  /** `<start id>:<pid>@<host>`: a restarted process is a new series. */
  id: string
  pid: number
  hostname: string
  samples: SampleColumns
  gcs: ProcessGc[]
}

/** What a read found: the other processes, or why they are missing. */
export type PeersRead = { ok: true, peers: PeerSeries[] } | { ok: false, problem: string }

/** What the series need. */
export interface RedisSeriesConfig {
  client: RedisClientLike
  keyPrefix: string
  /** Longest span kept, in ms (the live page's longest window). */
  keepMs: number
  /** Most readings (and GCs) kept per process. */
  maxRows: number
  log: FastifyBaseLogger
  /** True while a live page is open (or its JSON was read lately) in this process. */
  viewed: () => boolean
  /** Called after each write that found a live page open somewhere. */
  onOpenSomewhere: () => void
  /** Called after each write, with whether it reached Redis. */
  afterTick?: (ok: boolean) => void
}

/** The shared series of one registration (see the top of this file). */
export interface RedisSeries {
  /** This process's member in `live:procs`. */
  readonly id: string
  /** Queue a sampler's new readings and GCs for the next write. */
  publish: (e: SamplerEvent) => void
  /** Every other process's readings and GCs from `fromMs` (epoch ms) on. */
  read: (fromMs: number) => Promise<PeersRead>
  /** Stop the timer and write what is queued. */
  close: () => Promise<void>
}

/** Start the shared series: one timer, unref'd, writing once a second. */
export function createRedisSeries (config: RedisSeriesConfig): RedisSeries {
  const { client, keyPrefix: p, keepMs, maxRows, log } = config
  const startId = randomBytes(8).toString('hex')
  const member = `${startId}:${process.pid}@${hostname()}`
  let rows: string[] = []
  let gcRows: string[] = []
  let down = false
  let closed = false
  let writing: Promise<void> | undefined

  function unavailable (err: unknown): void {
    if (down || closed) return
    down = true
    log.warn({ err }, 'fastify-debug-toolbar: Redis does not answer for the live page\'s shared series; the live page shows only the process serving it until it does')
  }

  function available (): void {
    if (!down) return
    down = false
    log.info('fastify-debug-toolbar: Redis answers again; the live page shows every process\'s series')
  }

  async function run (sha: string, script: string, args: Array<string | number>): Promise<unknown> {
    try {
      return await withTimeout(client.call('evalsha', sha, 0, ...args), TIMEOUT_MS)
    } catch (err) {
      if (!String((err as Error)?.message).startsWith('NOSCRIPT')) throw err
      return await withTimeout(client.call('eval', script, 0, ...args), TIMEOUT_MS)
    }
  }

  async function write (): Promise<void> {
    const batch = rows
    const gcBatch = gcRows
    rows = []
    gcRows = []
    const viewed = config.viewed()
    let ok = false
    try {
      const open = await run(WRITE_SHA, WRITE_SCRIPT, [p, member, startId, Date.now(), keepMs, maxRows, viewed ? '1' : '0', batch.length, ...batch, ...gcBatch])
      ok = true
      available()
      if (Number(open) === 1 && !closed) config.onOpenSomewhere()
    } catch (err) {
      unavailable(err)
      // Kept for the next write, newest first within the bound.
      rows = batch.concat(rows).slice(-maxRows)
      gcRows = gcBatch.concat(gcRows).slice(-maxRows)
    }
    config.afterTick?.(ok)
  }

  const timer = setInterval(() => {
    if (writing !== undefined || closed) return
    writing = write().finally(() => { writing = undefined })
  }, TICK_MS)
  timer.unref()

  return {
    id: member,
    publish (e) {
      for (const s of e.samples) rows.push(JSON.stringify([s.t, s.heapUsedBytes, s.heapTotalBytes, s.externalBytes, s.arrayBuffersBytes, s.rssBytes, s.loopDelayMeanMs, s.loopDelayMaxMs]))
      for (const g of e.gcs) gcRows.push(JSON.stringify([g.t, g.durationMs, GC_KINDS.indexOf(g.kind), g.heapUsedBefore, g.heapUsedAfter]))
      if (rows.length > maxRows) rows = rows.slice(-maxRows)
      if (gcRows.length > maxRows) gcRows = gcRows.slice(-maxRows)
    },
    async read (fromMs) {
      let out: unknown
      try {
        out = await run(READ_SHA, READ_SCRIPT, [p, member, Math.floor(fromMs), MAX_PEERS])
        available()
      } catch (err) {
        unavailable(err)
        return { ok: false, problem: `Redis does not answer (${(err as Error)?.message ?? String(err)})` }
      }
      const peers: PeerSeries[] = []
      for (const entry of Array.isArray(out) ? out : []) {
        const peer = revivePeer(entry)
        if (peer !== undefined) peers.push(peer)
      }
      return { ok: true, peers: peers.slice(0, MAX_PEERS) }
    },
    async close () {
      closed = true
      clearInterval(timer)
      await writing
      rows = []
      gcRows = []
    }
  }
}

/** One process's entry of the read script, checked field by field (anything else in Redis is skipped). */
function revivePeer (entry: unknown): PeerSeries | undefined {
  if (!Array.isArray(entry) || typeof entry[0] !== 'string') return undefined
  const m = MEMBER_RE.exec(entry[0])
  if (m === null) return undefined
  const samples: SampleColumns = { t: [], heapUsedBytes: [], heapTotalBytes: [], externalBytes: [], arrayBuffersBytes: [], rssBytes: [], loopDelayMeanMs: [], loopDelayMaxMs: [] }
  const keys = Object.keys(samples) as Array<keyof SampleColumns>
  for (const text of Array.isArray(entry[1]) ? entry[1] : []) {
    const row = numbers(text, keys.length)
    if (row === undefined) continue
    keys.forEach((k, i) => { samples[k].push(row[i] as number) })
  }
  const gcs: ProcessGc[] = []
  for (const text of Array.isArray(entry[2]) ? entry[2] : []) {
    const row = numbers(text, 5)
    if (row === undefined) continue
    gcs.push({ t: row[0] as number, durationMs: row[1] as number, kind: GC_KINDS[row[2] as number] ?? 'minor', heapUsedBefore: row[3] as number, heapUsedAfter: row[4] as number })
  }
  return { id: entry[0], pid: Number(m[2]), hostname: m[3] as string, samples, gcs }
}

/** A JSON array of `n` finite numbers, or undefined. */
function numbers (text: unknown, n: number): number[] | undefined {
  if (typeof text !== 'string') return undefined
  try {
    const row = JSON.parse(text) as unknown
    if (!Array.isArray(row) || row.length !== n || !row.every((x) => typeof x === 'number' && Number.isFinite(x))) return undefined
    return row as number[]
  } catch {
    return undefined
  }
}

async function withTimeout<T> (promise: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout | undefined
  try {
    return await Promise.race([promise, new Promise<never>((_resolve, reject) => { t = setTimeout(() => { reject(new Error(`Redis did not answer within ${ms} ms`)) }, ms) })])
  } finally {
    clearTimeout(t)
    promise.catch(() => {})
  }
}
