import { randomUUID } from 'node:crypto'
import { performance, type EventLoopUtilization } from 'node:perf_hooks'
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import fp from 'fastify-plugin'
import type { Measurement, MemoryWindow } from './capture/backend.ts'
import { gcTracker } from './capture/gc-tracker.ts'
import { heapStatisticsBackend } from './capture/heap-backend.ts'
import { PreciseCollector, type PreciseMeasurement } from './capture/precise.ts'
import { MemoryFinalizer } from './capture/session.ts'
import { round3 } from './capture/figures.ts'
import { chooseSampler, type Sampler, type SamplerRefusal, type SamplingWindow } from './capture/sampler.ts'
import { summarizeSites } from './allocations/sites.ts'
import type { AllocationProfile, AllocationsRecord, AllocationsSkipped } from './allocations/types.ts'
import { signedBytes } from './format.ts'
import { canInjectCharset, charsetOf, injectIntoBuffer, injectIntoString, isHtml, toolbarSnippet } from './inject.ts'
import { resolveOptions, runAllow, type DebugToolbarOptions, type ResolvedAllocations, type ResolvedOptions } from './options.ts'
import type { MemoryRecord, RequestRecord } from './record.ts'
import { redactHeaders, redactQuery, redactUrl } from './redact.ts'
import { routes } from './routes.ts'
import { appendServerTiming, serverTimingValue } from './server-timing.ts'
import { createStore, type RequestStore } from './store.ts'

/** Per-request state, from onRequest to onResponse. */
interface RequestState {
  /** Still counted in flight. */
  open: boolean
  /** Measured, headed and stored (allowed client, route not opted out). */
  profiled: boolean
  id: string
  precise: boolean
  measurement: Measurement | PreciseMeasurement | undefined
  startedAtMs: number
  cpuStart: NodeJS.CpuUsage | undefined
  cpu: NodeJS.CpuUsage | undefined
  eluStart: EventLoopUtilization | undefined
  loopBusyMs: number
  /** Requests in flight when this one arrived, and the arrival counter then. */
  othersAtStart: number
  arrivalsAtStart: number
  /** Time the plugin spent on this request so far, ms. */
  overheadMs: number
  window: MemoryWindow | undefined
  memory: MemoryRecord | undefined
  /** This request's hold on the allocation sampler, why it has none, or undefined when not sampled. */
  sampling: SamplingWindow | SamplerRefusal | 'over-budget' | 'unavailable' | undefined
  profile: AllocationProfile | undefined
}

/** The request header that asks for precise mode, and the cookie the toolbar's toggle sets. */
export const PRECISE_HEADER = 'x-debug-toolbar-precise'
export const PRECISE_COOKIE = 'fdt-precise=1'
/** The whole cookie, not a longer name or value that contains it. */
const PRECISE_COOKIE_RE = /(?:^|;\s*)fdt-precise=1(?:;|\s*$)/
/** The request header and cookie that ask for allocation sampling when `allocations.requests` is 'marked'. */
export const SAMPLE_HEADER = 'x-debug-toolbar-sample'
const SAMPLE_COOKIE_RE = /(?:^|;\s*)fdt-sample=1(?:;|\s*$)/
/** The response header carrying the record id. */
export const ID_HEADER = 'x-debug-toolbar-id'

/** Where a request's state lives: a request decorator (initialised to null), faster than a WeakMap here. */
const kState = Symbol('fastify-debug-toolbar.state')
type StatefulRequest = FastifyRequest & { [kState]: RequestState | null }

/** A request's state as it arrives; a profiled one then gets its id, mode and counters. */
function newState (profiled: boolean): RequestState {
  return {
    open: true,
    profiled,
    id: '',
    precise: false,
    measurement: undefined,
    startedAtMs: 0,
    cpuStart: undefined,
    cpu: undefined,
    eluStart: undefined,
    loopBusyMs: 0,
    othersAtStart: 0,
    arrivalsAtStart: 0,
    overheadMs: 0,
    window: undefined,
    memory: undefined,
    sampling: undefined,
    profile: undefined
  }
}

/** Everything the toolbar's routes need from the plugin. */
export interface ToolbarContext {
  options: ResolvedOptions
  store: RequestStore
  /** Resolves when a stored record's memory figures are final. */
  settle (id: string): Promise<void>
}

async function debugToolbarPlugin (app: FastifyInstance, input: DebugToolbarOptions): Promise<void> {
  const options = resolveOptions(input)
  if (!options.enabled) return
  if (process.env.NODE_ENV === 'production') {
    app.log.warn('fastify-debug-toolbar is enabled with NODE_ENV=production: it exposes request details to allowed clients and costs time on every request')
  }

  const { prefix, allow, serverTiming, inject, cpuTime, redact } = options
  const store = createStore(options.maxRequests, options.maxStoreBytes)
  const finalizer = new MemoryFinalizer(gcTracker, options.maxRequests * 2)
  const precise = new PreciseCollector()
  const backend = heapStatisticsBackend
  const sampling = options.allocations
  let sampler: Sampler | undefined
  /** Why no request gets allocation samples, when sampling is on but unavailable. */
  let samplerProblem: string | undefined
  if (sampling !== false) {
    const chosen = chooseSampler(sampling.sampler, sampling.intervalBytes, sampling.stackDepth, (m) => { app.log.warn(m) })
    if (chosen instanceof Error) {
      samplerProblem = chosen.message
      app.log.warn(`fastify-debug-toolbar: ${chosen.message}; requests go on without allocation sites`)
    } else {
      sampler = chosen
    }
  }
  const gcProblem = gcTracker.acquire()
  gcTracker.subscribe(finalizer.onGcReported)
  if (gcProblem !== undefined) app.log.warn(gcProblem)
  const startupNotes = gcProblem === undefined ? [] : [gcProblem]
  const budget = new SamplingBudget(sampling === false ? 1 : sampling.maxPerSecond)
  let inFlight = 0
  let arrivals = 0
  const warned = new Set<string>()

  app.decorateRequest(kState, null)
  app.addHook('onRequest', onRequest)
  app.addHook('onSend', onSend)
  app.addHook('onResponse', onResponse)
  app.addHook('onRequestAbort', onRequestAbort)
  app.addHook('onClose', onClose)

  const context: ToolbarContext = { options, store, settle: (id) => finalizer.settle(id) }
  await app.register(routes, { prefix, context })

  // Hooks, in the order a request meets them.

  function onRequest (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
    const t0 = performance.now()
    const url = request.url
    if (url.startsWith(prefix) && (url.length === prefix.length || url.charCodeAt(prefix.length) === 47 /* / */ || url.charCodeAt(prefix.length) === 63 /* ? */)) {
      done()
      return
    }
    inFlight++
    arrivals++
    if ((request.routeOptions.config as { debugToolbar?: boolean }).debugToolbar === false || !isAllowed(request)) {
      (request as StatefulRequest)[kState] = newState(false)
      done()
      return
    }
    const state = newState(true)
    state.id = randomUUID()
    state.precise = asks(request, PRECISE_HEADER, PRECISE_COOKIE_RE)
    state.startedAtMs = Date.now()
    state.othersAtStart = inFlight - 1
    state.arrivalsAtStart = arrivals
    ;(request as StatefulRequest)[kState] = state
    if (state.precise) {
      precise.start().then((m) => {
        state.measurement = m
        startSampling(request, state)
        startClocks(state, t0)
        done()
      }, (err: unknown) => {
        warnOnce('precise', err, 'precise mode failed (forced GC unavailable); measuring without it')
        state.precise = false
        state.measurement = backend.start()
        startSampling(request, state)
        startClocks(state, t0)
        done()
      })
      return
    }
    state.measurement = startMeasurement(request)
    startSampling(request, state)
    startClocks(state, t0)
    done()
  }

  function onSend (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: null, payload: unknown) => void): void {
    const state = (request as StatefulRequest)[kState]
    if (state === null || !state.profiled || state.window !== undefined) {
      done(null, payload)
      return
    }
    const t0 = performance.now()
    if (state.precise) {
      (state.measurement as PreciseMeasurement).settle().then(
        () => done(null, finishSend(reply, payload, state, t0)),
        (err: unknown) => {
          warnOnce('precise', err, 'precise mode failed (forced GC unavailable); measuring without it')
          done(null, finishSend(reply, payload, state, t0))
        })
      return
    }
    done(null, finishSend(reply, payload, state, t0))
  }

  function onResponse (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    const state = (request as StatefulRequest)[kState]
    if (state === null) {
      done()
      return
    }
    closeState(state)
    if (!state.profiled) {
      done()
      return
    }
    const t0 = performance.now()
    try {
      // A hijacked reply never meets onSend: close the window now.
      if (state.memory === undefined) closeWindow(state)
      const record = buildRecord(request, reply, state)
      store.save(record, state.profile)
      finalizer.finalizeLater(record.id, state.window as MemoryWindow, record.memory)
      record.memory.overheadMs = round3(state.overheadMs + performance.now() - t0)
    } catch (err) {
      warnOnce('record', err, 'could not store a request record')
    }
    done()
  }

  function onRequestAbort (request: FastifyRequest, done: HookHandlerDoneFunction): void {
    const state = (request as StatefulRequest)[kState]
    if (state !== null) {
      closeState(state)
      state.profiled = false
      if (typeof state.sampling === 'object') state.sampling.abandon()
    }
    done()
  }

  async function onClose (): Promise<void> {
    finalizer.clear()
    store.clear()
    precise.close()
    sampler?.close()
    gcTracker.unsubscribe(finalizer.onGcReported)
    gcTracker.release()
  }

  // Helpers.

  function isAllowed (request: FastifyRequest): boolean {
    return runAllow(allow, request, onAllowError)
  }

  function onAllowError (err: unknown): void {
    warnOnce('allow', err, 'the allow() option threw; treating the client as not allowed')
  }

  function startMeasurement (request: FastifyRequest): Measurement {
    try {
      return backend.start()
    } catch (err) {
      warnOnce('backend', err, `memory backend "${backend.id}" failed; requests go on unmeasured`)
      request.log.debug('debug toolbar: request not measured')
      return { stop: () => emptyWindow() }
    }
  }

  function startSampling (request: FastifyRequest, state: RequestState): void {
    if (sampling === false) return
    if (sampling.requests !== 'all' && !asks(request, SAMPLE_HEADER, SAMPLE_COOKIE_RE)) {
      if (sampling.requests === 'marked') return
      if (!budget.take(performance.now())) {
        state.sampling = 'over-budget'
        return
      }
    }
    state.sampling = sampler === undefined ? 'unavailable' : sampler.start()
  }

  /**
   * Read this request's samples, after its heap, CPU and loop readings (so none of them counts the
   * read) and once its figures are built (for the GCs of the window).
   */
  function collectSamples (state: RequestState, gcCount: number): AllocationsRecord | AllocationsSkipped {
    const hold = state.sampling as Exclude<RequestState['sampling'], undefined>
    if (typeof hold === 'string') return skippedAllocations(hold)
    const t0 = performance.now()
    const w = state.window as MemoryWindow
    // One global handle per live sample: no new handle and no GC in the window (a GC frees the
    // handles of collected samples, and of other objects) means no sample to read.
    const noSamples = !state.precise && gcCount === 0 && w.handlesBefore !== undefined &&
      w.handlesAfter === w.handlesBefore && w.heapUsedAfter >= w.heapUsedBefore
    let profile: AllocationProfile | undefined
    try {
      profile = hold.stop(noSamples)
    } catch (err) {
      warnOnce('sampler', err, `the ${sampler?.kind ?? ''} allocation sampler failed; requests go on without allocation sites`)
      return skippedAllocations('failed')
    }
    const s = sampler as Sampler
    if (profile === undefined) {
      return {
        sampler: s.kind,
        meaning: s.meaning,
        intervalBytes: s.intervalBytes,
        stackDepth: s.stackDepth,
        sampledBytes: 0,
        samples: 0,
        sites: [],
        otherSites: 0,
        otherBytes: 0,
        overheadMs: round3(performance.now() - t0),
        gcDuringWindow: gcCount,
        hasProfile: false,
        unread: true
      }
    }
    const summary = summarizeSites(profile, (sampling as ResolvedAllocations).maxSites)
    state.profile = profile
    return {
      sampler: s.kind,
      meaning: s.meaning,
      intervalBytes: s.intervalBytes,
      stackDepth: s.stackDepth,
      sampledBytes: summary.sampledBytes,
      samples: summary.samples,
      sites: summary.sites,
      otherSites: summary.otherSites,
      otherBytes: summary.otherBytes,
      overheadMs: round3(performance.now() - t0),
      gcDuringWindow: gcCount,
      hasProfile: true
    }
  }

  function skippedAllocations (why: SamplerRefusal | 'over-budget' | 'unavailable'): AllocationsSkipped {
    switch (why) {
      case 'over-budget':
        return { skipped: 'not-sampled', reason: `Over the sampling budget of ${(sampling as ResolvedAllocations).maxPerSecond} requests a second (allocations.maxPerSecond). Send x-debug-toolbar-sample: 1 to sample a request anyway, or set allocations.requests to 'all'.` }
      case 'busy':
        return { skipped: 'busy', reason: 'Another request held the allocation sampler while this one started (one request owns it at a time): no samples rather than someone else\'s.' }
      case 'owned-elsewhere':
        warnOnce('sampler-owned', undefined, 'the heap sampling profiler is in use by someone else in this process (another profiler or an inspector client); requests go on without allocation sites')
        return { skipped: 'owned-elsewhere', reason: 'The heap sampling profiler is in use by someone else in this process (another profiler or an inspector client).' }
      case 'unavailable':
        return { skipped: 'unavailable', reason: `Allocation sampling is unavailable: ${samplerProblem ?? 'no sampler'}.` }
      case 'failed':
        warnOnce('sampler', undefined, `the ${sampler?.kind ?? ''} allocation sampler could not start; requests go on without allocation sites`)
        return { skipped: 'failed', reason: 'The allocation sampler failed for this request; see the server log.' }
    }
  }

  function startClocks (state: RequestState, t0: number): void {
    state.eluStart = performance.eventLoopUtilization()
    if (cpuTime) state.cpuStart = process.cpuUsage()
    state.overheadMs += performance.now() - t0
  }

  function closeState (state: RequestState): void {
    if (!state.open) return
    state.open = false
    inFlight--
  }

  function closeWindow (state: RequestState): MemoryRecord {
    let w: MemoryWindow
    try {
      w = (state.measurement as Measurement).stop()
    } catch (err) {
      warnOnce('backend-stop', err, 'memory backend failed to stop; request recorded without figures')
      w = emptyWindow()
    }
    state.window = w
    if (state.cpuStart !== undefined) state.cpu = process.cpuUsage(state.cpuStart)
    if (state.eluStart !== undefined) state.loopBusyMs = performance.eventLoopUtilization(state.eluStart).active
    const overlapping = state.othersAtStart + (arrivals - state.arrivalsAtStart)
    const notes = startupNotes.length === 0 ? [] : [...startupNotes]
    if (w.failed === true) notes.push(`The memory backend "${backend.id}" failed for this request (see the server log): its heap and external figures are missing and read as 0.`)
    state.memory = finalizer.build(backend.id, w, overlapping, state.overheadMs, state.precise, notes)
    if (state.sampling !== undefined) state.memory.allocations = collectSamples(state, state.memory.gc.count)
    return state.memory
  }

  function finishSend (reply: FastifyReply, payload: unknown, state: RequestState, t0: number): unknown {
    try {
      const m = closeWindow(state)
      // Our headers go straight onto the raw response (Fastify merges its own over them in
      // writeHead): measured 2 µs a header cheaper per request than reply.header().
      reply.raw.setHeader(ID_HEADER, state.id)
      let out = payload
      if (inject && (typeof payload === 'string' || Buffer.isBuffer(payload))) out = maybeInject(reply, payload, state, m)
      if (serverTiming) {
        const overheadMs = state.overheadMs + performance.now() - t0
        const appTiming = reply.getHeader('server-timing')
        const ours = serverTimingValue({
          overheadMs,
          heapUsedDelta: m.heapUsedDelta,
          peakDelta: m.peakHeapUsed - m.heapUsedBefore,
          // GCs of a synchronous handler are reported after the headers go out; allocated is at
          // least what the heap climbed to, so the header never reads below the peak.
          allocatedBytes: Math.max(m.allocatedBytes, m.peakHeapUsed - m.heapUsedBefore),
          externalDelta: m.externalDelta,
          gcCount: m.gc.count,
          precise: m.precise,
          sampling: m.allocations !== undefined && 'sites' in m.allocations ? { sampler: m.allocations.sampler, overheadMs: m.allocations.overheadMs } : undefined
        })
        // The app's own entries live in Fastify's header map: append there so writeHead keeps both.
        if (appTiming === undefined) reply.raw.setHeader('server-timing', ours)
        else reply.header('server-timing', appendServerTiming(appTiming, ours))
      }
      state.overheadMs += performance.now() - t0
      return out
    } catch (err) {
      warnOnce('send', err, 'the toolbar failed while sending a response; the response goes out untouched')
      return payload
    }
  }

  function maybeInject (reply: FastifyReply, payload: string | Buffer, state: RequestState, m: MemoryRecord): string | Buffer {
    const type = reply.getHeader('content-type')
    if (!isHtml(type) || reply.getHeader('content-encoding') !== undefined) return payload
    if (!canInjectCharset(charsetOf(type as string))) return payload
    const snippet = toolbarSnippet({
      prefix,
      id: state.id,
      nonce: cspNonce(reply),
      subtitle: signedBytes(m.heapUsedDelta)
    })
    reply.removeHeader('content-length')
    return typeof payload === 'string' ? injectIntoString(payload, snippet) : injectIntoBuffer(payload, snippet)
  }

  function buildRecord (request: FastifyRequest, reply: FastifyReply, state: RequestState): RequestRecord {
    const w = state.window as MemoryWindow
    const cpu = state.cpu
    const end = state.precise && Number.isFinite(w.forcedFromMs) ? w.forcedFromMs : w.endMs
    const durationMs = round3(end - w.startMs)
    return {
      id: state.id,
      method: request.method,
      url: redactUrl(request.url, redact),
      route: request.routeOptions.url ?? '',
      statusCode: reply.statusCode,
      durationMs,
      startedAt: state.startedAtMs,
      cpu: {
        // The busy-time readings bracket the window a few µs wider than the heap readings.
        loopBusyMs: Math.min(round3(state.loopBusyMs), durationMs),
        userMs: cpu === undefined ? null : round3(cpu.user / 1000),
        systemMs: cpu === undefined ? null : round3(cpu.system / 1000)
      },
      request: {
        headers: redactHeaders(request.headers, redact),
        query: redactQuery(request.query, redact),
        remoteAddress: request.raw.socket?.remoteAddress ?? '',
        httpVersion: request.raw.httpVersion
      },
      response: {
        // The raw response's copy: cheaper than Reply.getHeaders(), and complete once headers are sent.
        headers: redactHeaders(reply.raw.getHeaders(), redact),
        contentType: String(reply.getHeader('content-type') ?? '')
      },
      memory: state.memory as MemoryRecord
    }
  }

  function warnOnce (key: string, err: unknown, message: string): void {
    if (warned.has(key)) return
    warned.add(key)
    app.log.warn({ err }, `fastify-debug-toolbar: ${message}`)
  }
}

/** The nonce the app set for this reply (e.g. @fastify/helmet's reply.cspNonce), if any. */
function cspNonce (reply: FastifyReply): string | undefined {
  const n = (reply as FastifyReply & { cspNonce?: { script?: string } }).cspNonce
  return typeof n?.script === 'string' ? n.script : undefined
}

/** The window of a request whose backend failed. */
function emptyWindow (): MemoryWindow {
  const now = performance.now()
  return { startMs: now, endMs: now, heapUsedBefore: 0, heapUsedAfter: 0, externalBefore: 0, externalAfter: 0, forcedFromMs: Infinity, failed: true }
}

/** The request asks for a mode with `header: 1` or the exact cookie (raw headers: Fastify's request.headers is a getter). */
function asks (request: FastifyRequest, header: string, cookieRe: RegExp): boolean {
  const headers = request.raw.headers
  if (headers[header] === '1') return true
  const cookie = headers.cookie
  return cookie !== undefined && cookieRe.test(cookie)
}

/**
 * A token bucket: `perSecond` tokens a second, at most twice that many saved up, so a page load's
 * burst of requests is sampled whole while sustained load is held to the rate.
 */
class SamplingBudget {
  private tokens: number
  private lastMs = -Infinity
  private readonly perMs: number
  private readonly capacity: number

  constructor (perSecond: number) {
    this.capacity = 2 * perSecond
    this.tokens = this.capacity
    this.perMs = perSecond / 1000
  }

  take (nowMs: number): boolean {
    this.tokens = Math.min(this.capacity, this.tokens + (nowMs - this.lastMs) * this.perMs)
    this.lastMs = nowMs
    if (this.tokens < 1) return false
    this.tokens--
    return true
  }
}

/** The plugin: register it with `app.register(debugToolbar, options)`. Also reachable as `.default` and `.debugToolbar` for CommonJS callers. */
export const debugToolbar = fp(debugToolbarPlugin, {
  fastify: '5.x',
  name: 'fastify-debug-toolbar'
})
Object.assign(debugToolbar, { debugToolbar })
