/**
 * The live page's routes, added to the toolbar's routes scope (its guard, error handler, escaped JSON
 * and headers): the process series as JSON, the server-sent event stream the page listens to, the
 * process actions (forced GC, heap snapshot; POST with a same-origin Origin and the token) and uPlot.
 */
import { createReadStream, unlink } from 'node:fs'
import { createRequire } from 'node:module'
import { hostname } from 'node:os'
import { dirname, join } from 'node:path'
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fastifySseModule, { type SSEPluginOptions } from '@fastify/sse'
import fastifyStatic from '@fastify/static'
import { gcTracker } from '../capture/gc-tracker.ts'
import { ProcessActions, SNAPSHOT_MS_PER_MIB } from '../capture/process-actions.ts'
import { ProcessSampler, type SampleColumns, type SamplerEvent } from '../capture/process-sampler.ts'
import { FST_DEBUG_TOOLBAR_NOT_EVENT_STREAM, FST_DEBUG_TOOLBAR_SNAPSHOT_TOO_LARGE } from '../errors.ts'
import { bytes, ms } from '../format.ts'
import type { ResolvedLive } from '../options.ts'
import { summarize, type ProcessIdentity, type RecordSummary, type RequestRecord } from '../record/types.ts'
import { matchesFilter, parseLiveQuery, WINDOWS, type LiveQuery, type LiveQuerystring } from '../record/filter.ts'
import type { SharedRedis } from '../redis-store.ts'
import { createRedisSeries, OPEN_TTL_MS, type PeerSeries, type PeersRead } from '../redis-series.ts'
import { getRoute } from './get-route.ts'

/** The plugin (a CommonJS module whose types declare a default export). */
const fastifySse = fastifySseModule as unknown as FastifyPluginAsync<SSEPluginOptions>

/** Where uPlot's files are served from, under the prefix. */
export const UPLOT_VENDOR = '/vendor/uplot/'
/** The only files of uPlot's dist/ the toolbar serves: its ES module and stylesheet. */
const UPLOT_FILES = new Set(['/uPlot.esm.js', '/uPlot.min.css'])
/** How long records wait to be pushed together, in ms (one event for a burst). */
const RECORD_BATCH_MS = 50
/** Records waiting to be pushed, at most (a burst beyond this keeps the newest). */
const MAX_PENDING_RECORDS = 1000
/** A client that has this many bytes unsent is too slow: it is disconnected (EventSource reconnects). */
const MAX_UNSENT_BYTES = 1024 * 1024
/** EventSource's wait before reconnecting, in ms. */
const RETRY_MS = 2000
/** The other processes' readings looked up on each push to the page, in ms back (a write comes once a second). */
const PEER_LOOKBACK_MS = 10_000
/** The longest window the page shows, in ms: what the shared series keep. */
const KEEP_MS = Math.max(...Object.values(WINDOWS))

/** What the live routes need from the toolbar. */
export interface LiveDeps {
  live: ResolvedLive
  /** Stored records, newest first. */
  list: () => Promise<readonly RequestRecord[]>
  /** Resolves when a stored record's memory figures are final. */
  settle: (id: string) => Promise<void>
  /** Where the toolbar tells of each stored record. */
  recordListeners: Set<(r: RequestRecord) => void>
  /** onRequest check of a state-changing route: same-origin Origin. */
  sameOrigin: (request: FastifyRequest) => Promise<void>
  /** Throws the coded 403 unless the request carries the token (header, or form field). */
  checkToken: (request: FastifyRequest) => void
  /** With the Redis store: its client and key prefix, through which every process's series is shown. */
  redis?: SharedRedis
}

/** What the page template shows of the live page. */
export interface LivePageContext {
  window: string
  windows: string[]
  filter: LiveQuery['filter']
  sampleIntervalMs: number
  keepRunningMs: number
  snapshot: SnapshotEstimate
  /** The process serving the page, which the process actions act on. */
  process: ProcessIdentity
  /** True when every process's series is shown (the Redis store). */
  shared: boolean
}

/** What a heap snapshot would cost now. */
export interface SnapshotEstimate {
  heapUsedBytes: number
  heapUsed: string
  estimatedPauseMs: number
  estimatedPause: string
  msPerMiB: number
  /** True once a snapshot was taken in this process (the rate is then measured here). */
  measured: boolean
  maxHeapBytes: number
  allowed: boolean
}

/** The live routes' handle for the page and for tests. */
export interface LiveHandle {
  sampler: ProcessSampler
  /** Connected event-stream clients. */
  readonly clients: number
  /** The page's context for a query (throws the coded 400 on a bad one). */
  page: (query: LiveQuerystring | undefined) => LivePageContext
}

interface Client {
  reply: FastifyReply
  send: (event: string, data: unknown) => void
}

let vendorDir: string | undefined

function vendorRoot (): string {
  // Resolved once a process.
  vendorDir ??= join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist')
  return vendorDir
}

/** Add the live routes to the toolbar's routes scope. */
export async function liveRoutes (app: FastifyInstance, deps: LiveDeps): Promise<LiveHandle> {
  const { live } = deps
  const sampler = new ProcessSampler(gcTracker, live)
  const actions = new ProcessActions()
  const clients = new Set<Client>()
  let pending: RequestRecord[] = []
  let flushTimer: NodeJS.Timeout | undefined
  /** When `/api/process` was last read here (a live page that polls counts as open). */
  let lastReadMs = -Infinity
  /** Newest reading and GC time pushed to the page, per other process. */
  const peerCursors = new Map<string, { t: number, g: number }>()
  let peersProblem: string | null = null
  /** Other processes' records already pushed to the page (those still in the store). */
  let pushedRemote = new Set<string>()
  const series = deps.redis === undefined
    ? undefined
    : createRedisSeries({
      client: deps.redis.client,
      keyPrefix: deps.redis.keyPrefix,
      keepMs: KEEP_MS,
      maxRows: sampler.capacity.samples,
      log: app.log,
      viewed: () => clients.size > 0 || Date.now() - lastReadMs < OPEN_TTL_MS,
      // A live page open in some process: this one samples too, for keepRunningMs after the last time.
      onOpenSomewhere: () => { sampler.touch() },
      afterTick: (ok) => {
        if (clients.size === 0) return
        pushPeers().catch(() => {})
        if (ok) pushRemoteRequests().catch(() => {})
      }
    })
  if (series !== undefined) sampler.subscribe(series.publish)

  await app.register(fastifyStatic, {
    root: vendorRoot(),
    prefix: UPLOT_VENDOR,
    decorateReply: false,
    index: false,
    list: false,
    dotfiles: 'deny',
    allowedPath: (pathname) => UPLOT_FILES.has(pathname),
    cacheControl: true,
    maxAge: 0
  })
  // Heartbeats keep proxies from closing a quiet stream; the page's readings come far more often.
  await app.register(fastifySse, { heartbeatInterval: 15_000 })

  function onRecord (r: RequestRecord): void {
    if (clients.size === 0) return
    if (pending.length >= MAX_PENDING_RECORDS) pending.shift()
    pending.push(r)
    if (flushTimer === undefined) {
      flushTimer = setTimeout(flush, RECORD_BATCH_MS)
      flushTimer.unref()
    }
  }
  deps.recordListeners.add(onRecord)

  function flush (): void {
    flushTimer = undefined
    const batch = pending
    pending = []
    const newest = batch[batch.length - 1]
    if (newest === undefined || clients.size === 0) return
    // GCs inside the requests are reported a moment later: push the figures once they are final.
    deps.settle(newest.id).catch(() => {}).finally(() => {
      broadcast('requests', batch.map(summarize))
    })
  }

  function broadcast (event: string, data: unknown): void {
    for (const c of clients) c.send(event, data)
  }

  function onSamples (e: SamplerEvent): void {
    if (e.samples.length > 0) broadcast('samples', e.samples)
    if (e.gcs.length > 0) broadcast('gcs', e.gcs)
  }

  function snapshotEstimate (): SnapshotEstimate {
    const heapUsedBytes = process.memoryUsage().heapUsed
    const estimatedPauseMs = actions.estimatePauseMs(heapUsedBytes)
    const msPerMiB = actions.measuredMsPerMiB ?? SNAPSHOT_MS_PER_MIB
    return {
      heapUsedBytes,
      heapUsed: bytes(heapUsedBytes),
      estimatedPauseMs,
      estimatedPause: ms(estimatedPauseMs),
      msPerMiB,
      measured: actions.measuredMsPerMiB !== undefined,
      maxHeapBytes: live.maxSnapshotHeapBytes,
      allowed: heapUsedBytes <= live.maxSnapshotHeapBytes
    }
  }

  /** Push the other processes' readings that are new since the last push (or that Redis stopped answering). */
  async function pushPeers (): Promise<void> {
    if (series === undefined) return
    const read = await series.read(Date.now() - PEER_LOOKBACK_MS)
    const problem = read.ok ? null : read.problem
    const fresh: PeerSeries[] = []
    for (const peer of read.ok ? read.peers : []) {
      const cursor = peerCursors.get(peer.id) ?? { t: -Infinity, g: -Infinity }
      const first = peer.samples.t.findIndex((t) => t > cursor.t)
      const samples = first === -1 ? undefined : sliceColumns(peer.samples, first)
      const gcs = peer.gcs.filter((g) => g.t > cursor.g)
      if (samples === undefined && gcs.length === 0) continue
      peerCursors.set(peer.id, { t: peer.samples.t[peer.samples.t.length - 1] ?? cursor.t, g: gcs[gcs.length - 1]?.t ?? cursor.g })
      fresh.push({ ...peer, samples: samples ?? sliceColumns(peer.samples, peer.samples.t.length), gcs })
    }
    if (fresh.length > 0 || problem !== peersProblem) broadcast('peers', { peers: fresh, peersProblem: problem })
    peersProblem = problem
  }

  /** Push the records other processes stored since the last push (this process's come through recordListeners). */
  async function pushRemoteRequests (): Promise<void> {
    const self = hostname()
    const list = await deps.list()
    const seen = new Set<string>()
    const fresh: RecordSummary[] = []
    for (const r of list) {
      if (r.process.pid === process.pid && r.process.hostname === self) continue
      seen.add(r.id)
      if (!pushedRemote.has(r.id)) fresh.push(summarize(r))
    }
    pushedRemote = seen
    if (fresh.length > 0) broadcast('requests', fresh.reverse())
  }

  async function requestsIn (q: LiveQuery, fromMs: number): Promise<RecordSummary[]> {
    const list = await deps.list()
    const open = list.find((r) => !r.memory.final)
    if (open !== undefined) await deps.settle(open.id)
    const out: RecordSummary[] = []
    for (const r of list) {
      if (r.startedAt < fromMs) continue
      const s = summarize(r)
      if (matchesFilter(s, q.filter)) out.push(s)
    }
    return out
  }

  app.addHook('preClose', async function endStreams () {
    // Open streams would keep the server from closing.
    for (const c of [...clients]) c.reply.sse.close()
  })
  app.addHook('onClose', async function stopSampler () {
    deps.recordListeners.delete(onRecord)
    if (flushTimer !== undefined) clearTimeout(flushTimer)
    flushTimer = undefined
    pending = []
    if (series !== undefined) {
      sampler.unsubscribe(series.publish)
      await series.close()
    }
    sampler.close()
    actions.close()
  })

  getRoute<{ Querystring: LiveQuerystring }>(app, '/api/process', {}, async function processSeries (request) {
    const q = parseLiveQuery(request.query)
    const before = sampler.state
    sampler.touch()
    const nowMs = Date.now()
    const fromMs = nowMs - WINDOWS[q.window]
    const { samples, gcs } = sampler.series(fromMs)
    lastReadMs = nowMs
    const read: PeersRead = series === undefined ? { ok: true, peers: [] } : await series.read(fromMs)
    return {
      window: q.window,
      fromMs,
      nowMs,
      sampleIntervalMs: live.sampleIntervalMs,
      running: sampler.running,
      // Live pages connected, and the sampler's holders and listeners before this request touched it.
      streams: clients.size,
      holders: before.users,
      listeners: before.listeners,
      gcProblem: sampler.gcProblem ?? null,
      samples,
      gcs,
      requests: await requestsIn(q, fromMs),
      snapshot: snapshotEstimate(),
      // This process's readings are `samples` above; with the Redis store, every other process's follow.
      process: { id: series?.id ?? null, pid: process.pid, hostname: hostname() },
      shared: series !== undefined,
      peers: read.ok ? read.peers : [],
      peersProblem: read.ok ? null : read.problem
    }
  })

  app.get('/api/process/events', { sse: true }, async function processEvents (request, reply) {
    // @fastify/sse calls the handler without reply.sse when the client does not accept the type.
    if (!(request.headers.accept ?? '').includes('text/event-stream')) throw new FST_DEBUG_TOOLBAR_NOT_EVENT_STREAM()
    const sse = reply.sse
    reply.header('cache-control', 'no-store')
    reply.header('x-content-type-options', 'nosniff')
    sse.keepAlive()
    const client: Client = {
      reply,
      send (event, data) {
        if (!sse.isConnected) return
        if (reply.raw.writableLength > MAX_UNSENT_BYTES) {
          sse.close()
          return
        }
        sse.send({ event, data }).catch(() => {})
      }
    }
    let held = true
    function leave (): void {
      if (!held) return
      held = false
      clients.delete(client)
      if (clients.size === 0) sampler.unsubscribe(onSamples)
      sampler.release()
    }
    sse.onClose(leave)
    clients.add(client)
    sampler.subscribe(onSamples)
    sampler.acquire()
    // Gone before the handler ran: the close event has passed already.
    if (!sse.isConnected || reply.raw.destroyed) {
      leave()
      return
    }
    await sse.send({ event: 'hello', data: { sampleIntervalMs: live.sampleIntervalMs, nowMs: Date.now() }, retry: RETRY_MS })
  })

  app.post('/api/process/gc', { onRequest: deps.sameOrigin }, async function forceGc (request) {
    deps.checkToken(request)
    const result = await actions.forceGc()
    if (sampler.running) sampler.sampleNow()
    return result
  })

  app.post('/api/process/heap-snapshot', { onRequest: deps.sameOrigin }, async function heapSnapshot (request, reply) {
    deps.checkToken(request)
    const estimate = snapshotEstimate()
    if (!estimate.allowed) throw new FST_DEBUG_TOOLBAR_SNAPSHOT_TOO_LARGE(bytes(estimate.heapUsedBytes), bytes(live.maxSnapshotHeapBytes), estimate.estimatedPause)
    const file = await actions.writeSnapshot()
    const stream = createReadStream(file.path)
    // Removed once sent, or once the client went away.
    stream.once('close', () => { unlink(file.path, () => {}) })
    const stamp = new Date().toISOString().replace(/[:.]/g, '-')
    reply.header('content-disposition', `attachment; filename="fdt-heap-${stamp}.heapsnapshot"`)
    reply.header('content-length', file.sizeBytes)
    reply.header('x-debug-toolbar-snapshot-pause-ms', file.pauseMs)
    return reply.type('application/octet-stream').send(stream)
  })

  return {
    sampler,
    get clients () { return clients.size },
    page (query) {
      const q = parseLiveQuery(query)
      return {
        window: q.window,
        windows: Object.keys(WINDOWS),
        filter: q.filter,
        sampleIntervalMs: live.sampleIntervalMs,
        keepRunningMs: live.keepRunningMs,
        snapshot: snapshotEstimate(),
        process: { pid: process.pid, hostname: hostname() },
        shared: series !== undefined
      }
    }
  }
}

/** The rows of `c` from index `from` on. */
function sliceColumns (c: SampleColumns, from: number): SampleColumns {
  const out = {} as SampleColumns
  for (const k of Object.keys(c) as Array<keyof SampleColumns>) out[k] = c[k].slice(from)
  return out
}
