import type { ServerResponse } from 'node:http'
import { performance } from 'node:perf_hooks'
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import fp from 'fastify-plugin'
import type { Measurement, MemoryWindow, OpenMeasurement } from './capture/backend.ts'
import { gcTracker } from './capture/gc-tracker.ts'
import { heapStatisticsBackend } from './capture/heap-backend.ts'
import { PreciseCollector, type PreciseMeasurement } from './capture/precise.ts'
import { MemoryFinalizer } from './capture/session.ts'
import { round3 } from './capture/figures.ts'
import { chooseSampler, type Sampler, type SamplerRefusal, type SamplingWindow } from './capture/sampler.ts'
import { summarizeSites, type SiteSummary } from './allocations/sites.ts'
import type { AllocationProfile, AllocationsRecord, AllocationsSkipped } from './allocations/types.ts'
import { signedBytes } from './format.ts'
import { injectableType, injectIntoBuffer, injectIntoString, toolbarSnippet } from './inject.ts'
import { captureHeaderBlock, captureHeaderMap, createRedactor, NO_HEADERS, scanRequestHeaders, type StoredHeaders } from './headers.ts'
import { allowLoopback, forwardingIsLoopback, isLoopbackAddress, resolveOptions, runAllow, type DebugToolbarOptions, type ResolvedAllocations, type ResolvedOptions } from './options.ts'
import type { MemoryRecord, RequestRecord } from './record.ts'
import { redactQuery, redactUrl } from './redact.ts'
import { routes } from './routes.ts'
import { appendServerTiming, serverTimingValue } from './server-timing.ts'
import { createStore, type RequestStore } from './store.ts'
import { newId } from './id.ts'

/** Per-request state, from onRequest to onSend (where the record is built and stored). */
interface RequestState {
  /** Still counted in flight (until onSend, or until the sweep finds the request gone). */
  open: boolean
  /** Measured, headed and stored (allowed client, route not opted out). */
  profiled: boolean
  /** The response while in flight, for the sweep; null once closed. */
  res: ServerResponse | null
  /** Index in the in-flight list, -1 once closed. */
  slot: number
  id: string
  route: string
  remoteAddress: string
  headers: StoredHeaders
  precise: boolean
  /** Sampling asked for by header or cookie. */
  sampleAsked: boolean
  measurement: OpenMeasurement | undefined
  cpuStart: NodeJS.CpuUsage | undefined
  cpu: NodeJS.CpuUsage | undefined
  /** The event loop's idle time when the window opened, ms; loop busy time once it closed. */
  idleStartMs: number
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
  /** Time spent stopping (and reading) the sampler, ms. */
  samplingMs: number
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
function newState (res: ServerResponse): RequestState {
  return {
    open: true,
    profiled: false,
    res,
    slot: -1,
    id: '',
    route: '',
    remoteAddress: '',
    headers: NO_HEADERS,
    precise: false,
    sampleAsked: false,
    measurement: undefined,
    cpuStart: undefined,
    cpu: undefined,
    idleStartMs: 0,
    loopBusyMs: 0,
    othersAtStart: 0,
    arrivalsAtStart: 0,
    overheadMs: 0,
    window: undefined,
    memory: undefined,
    sampling: undefined,
    profile: undefined,
    samplingMs: 0
  }
}

/** The event loop's idle-time counter (read at both ends of a window for its busy time). */
const nodeTiming = performance.nodeTiming
/** performance.now() is ms after this epoch time. */
const timeOrigin = performance.timeOrigin
/** How often (ms, at most) the in-flight list is checked for requests that will never reach onSend. */
const SWEEP_MS = 100
const EMPTY_QUERY: Record<string, string> = Object.freeze({}) as Record<string, string>
/** The site summary of a window whose profile was not read (V8 took no sample). */
const NO_SITES: SiteSummary = { sampledBytes: 0, samples: 0, sites: [], otherSites: 0, otherBytes: 0 }

/** Everything the toolbar's routes need from the plugin. */
export interface ToolbarContext {
  options: ResolvedOptions
  store: RequestStore
  /** Resolves when a stored record's memory figures are final. */
  settle (id: string): Promise<void>
  /** Told of each record as it is stored (the live page's feed). */
  recordListeners?: Set<(r: RequestRecord) => void>
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
  const redactor = createRedactor(redact)
  /** Requests between onRequest and onSend, for `overlapping` and the sweep. */
  const inFlight: RequestState[] = []
  let arrivals = 0
  let sweptAtMs = 0
  /** The request of this app holding the allocation sampler, if any. */
  let holder: RequestState | null = null
  const warned = new Set<string>()

  // Everything happens in onRequest and onSend: an onResponse hook makes Fastify add two response
  // listeners and a closure to every request (5% of a hello-world's throughput here, even empty),
  // and an onRequestAbort hook a 'close' listener (1-3%).
  app.decorateRequest(kState, null)
  app.addHook('onRequest', onRequest)
  app.addHook('onSend', onSend)
  app.addHook('onClose', onClose)

  const recordListeners = new Set<(r: RequestRecord) => void>()
  const context: ToolbarContext = { options, store, settle: (id) => finalizer.settle(id), recordListeners }
  await app.register(routes, { prefix, context })

  // Hooks, in the order a request meets them.

  function onRequest (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    const t0 = performance.now()
    const url = request.url
    if (url.startsWith(prefix) && (url.length === prefix.length || url.charCodeAt(prefix.length) === 47 /* / */ || url.charCodeAt(prefix.length) === 63 /* ? */)) {
      done()
      return
    }
    arrivals++
    if (inFlight.length > 0 && t0 - sweptAtMs > SWEEP_MS) sweep(t0)
    const raw = request.raw
    const state = newState(reply.raw)
    open(state)
    ;(request as StatefulRequest)[kState] = state
    const ro = request.routeOptions
    if ((ro.config as { debugToolbar?: boolean }).debugToolbar === false) {
      done()
      return
    }
    const remoteAddress = raw.socket?.remoteAddress
    // The default check reads the socket first and the headers only for a loopback peer.
    if (allow === allowLoopback && !isLoopbackAddress(remoteAddress)) {
      done()
      return
    }
    const scan = scanRequestHeaders(raw.rawHeaders, redactor)
    if (allow === allowLoopback ? !forwardingIsLoopback(scan.forwardedFor, scan.forwarded) : !isAllowed(request)) {
      done()
      return
    }
    state.profiled = true
    state.id = newId()
    state.route = ro.url ?? ''
    state.remoteAddress = remoteAddress ?? ''
    state.headers = scan.headers
    state.precise = scan.precise === '1' || (scan.cookie !== undefined && PRECISE_COOKIE_RE.test(scan.cookie))
    state.sampleAsked = scan.sample === '1' || (scan.cookie !== undefined && SAMPLE_COOKIE_RE.test(scan.cookie))
    state.othersAtStart = inFlight.length - 1
    state.arrivalsAtStart = arrivals
    if (state.precise) {
      // The sampler before the baseline, as below.
      precise.start(() => { startSampling(state, t0) }).then((m) => {
        state.measurement = m
        startClocks(state)
        state.overheadMs += performance.now() - t0
        done()
      }, (err: unknown) => {
        warnOnce('precise', err, 'precise mode failed (forced GC unavailable); measuring without it')
        state.precise = false
        openWindow(state, request)
        state.overheadMs += performance.now() - t0
        done()
      })
      return
    }
    openWindow(state, request)
    state.overheadMs += performance.now() - t0
    done()
  }

  function onSend (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: null, payload: unknown) => void): void {
    const state = (request as StatefulRequest)[kState]
    if (state === null || !state.open) {
      done(null, payload)
      return
    }
    if (!state.profiled || reply.raw.destroyed) {
      // Not ours to measure, or the client went away: no headers and no record.
      abandon(state)
      done(null, payload)
      return
    }
    if (state.precise) {
      const t0 = performance.now()
      ;(state.measurement as PreciseMeasurement).settle().then(
        () => {
          state.overheadMs += performance.now() - t0
          send(reply, payload, state, done)
        },
        (err: unknown) => {
          warnOnce('precise', err, 'precise mode failed (forced GC unavailable); measuring without it')
          state.overheadMs += performance.now() - t0
          send(reply, payload, state, done)
        })
      return
    }
    // No timestamp here: it would be allocated inside the window. The toolbar's time in onSend is
    // counted from the window's end reading.
    send(reply, payload, state, done)
  }

  /** Close the window, head (and maybe inject) the response, let Fastify write it, then store the record. */
  function send (reply: FastifyReply, payload: unknown, state: RequestState, done: (err: null, payload: unknown) => void): void {
    const out = finishSend(reply, payload, state)
    close(state)
    done(null, out)
    // Every onSend hook after this one was synchronous when the response is already written: its
    // header block is then exactly what went out.
    const t1 = performance.now()
    try {
      const block = (reply.raw as ServerResponse & { _header?: unknown })._header
      const headers = typeof block === 'string'
        ? captureHeaderBlock(block, redactor, redactor.mapsTell ? setsRedacted(reply) : undefined)
        : captureHeaderMap(reply.getHeaders(), redactor)
      const record = buildRecord(reply, state, headers)
      store.save(record, state.profile)
      finalizer.finalizeLater(record.id, state.window as MemoryWindow, record.memory)
      record.memory.overheadMs = round3(state.overheadMs + performance.now() - t1)
      if (recordListeners.size !== 0) for (const l of recordListeners) l(record)
    } catch (err) {
      warnOnce('record', err, 'could not store a request record')
    }
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

  function open (state: RequestState): void {
    state.slot = inFlight.length
    inFlight.push(state)
  }

  /** No longer in flight (its window is closed, or it will never reach onSend). */
  function close (state: RequestState): void {
    if (!state.open) return
    state.open = false
    const last = inFlight.pop() as RequestState
    if (last !== state) {
      inFlight[state.slot] = last
      last.slot = state.slot
    }
    state.slot = -1
    state.res = null
  }

  /** Close a request that will not be measured: give back the sampler, store nothing. */
  function abandon (state: RequestState): void {
    close(state)
    state.profiled = false
    if (typeof state.sampling === 'object') {
      state.sampling.abandon()
      state.sampling = undefined
    }
    if (holder === state) holder = null
  }

  /**
   * A request that will never reach onSend: the client went away (the response is destroyed with
   * its socket), or the reply was hijacked and ended. (The request stream itself is destroyed as
   * soon as a body has been read, so it says nothing here.)
   */
  function gone (state: RequestState): boolean {
    return state.res === null || state.res.destroyed || state.res.writableEnded
  }

  /** Close the in-flight requests that will never reach onSend (there are no per-request abort listeners). */
  function sweep (now: number): void {
    sweptAtMs = now
    for (let i = inFlight.length - 1; i >= 0; i--) {
      const state = inFlight[i] as RequestState
      if (gone(state)) abandon(state)
    }
  }

  /**
   * Whether the app set a redacted response header. Node builds the header block from Fastify's
   * map and the raw response's own (setHeader), so asking both is cheaper than searching the
   * block and as complete (for names Node does not write itself: see Redactor.mapsTell).
   */
  function setsRedacted (reply: FastifyReply): boolean {
    const raw = reply.raw
    for (const name of redactor.list) if (reply.hasHeader(name) || raw.hasHeader(name)) return true
    return false
  }

  function isAllowed (request: FastifyRequest): boolean {
    return runAllow(allow, request, onAllowError)
  }

  function onAllowError (err: unknown): void {
    warnOnce('allow', err, 'the allow() option threw; treating the client as not allowed')
  }

  /**
   * Open the request's window (the sampler too, unless precise mode already started it). In this
   * order, so that the window holds as little of the toolbar's own allocation as it can (every byte
   * allocated in it raises the odds of a sample, and a sample costs a read of the profile; even a
   * timestamp allocates): the CPU and loop baselines, the window's start time and the measurement
   * object before the sampler; then the sampler, which makes V8 give up its allocation buffer as it
   * starts (that reads as the heap shrinking); then the heap baseline, which sees none of that. An
   * unmoved handle count at the end then means no sample (otherwise half the windows of a
   * hello-world were read for nothing).
   */
  function openWindow (state: RequestState, request: FastifyRequest): void {
    startClocks(state)
    const startMs = performance.now()
    const m = newMeasurement(request, startMs)
    if (state.sampling === undefined) startSampling(state, startMs)
    beginMeasurement(m, state, request)
  }

  function newMeasurement (request: FastifyRequest, startMs: number): Measurement {
    try {
      return backend.create(startMs)
    } catch (err) {
      backendFailed(err, request)
      return FAILED_MEASUREMENT
    }
  }

  function beginMeasurement (m: Measurement, state: RequestState, request: FastifyRequest): void {
    try {
      m.begin()
      state.measurement = m
    } catch (err) {
      backendFailed(err, request)
      state.measurement = FAILED_MEASUREMENT
    }
  }

  function backendFailed (err: unknown, request: FastifyRequest): void {
    warnOnce('backend', err, `memory backend "${backend.id}" failed; requests go on unmeasured`)
    request.log.debug('debug toolbar: request not measured')
  }

  function startSampling (state: RequestState, now: number): void {
    if (sampling === false) return
    if (sampling.requests !== 'all' && !state.sampleAsked) {
      if (sampling.requests === 'marked') return
      if (!budget.take(now)) {
        state.sampling = 'over-budget'
        return
      }
    }
    if (sampler === undefined) {
      state.sampling = 'unavailable'
      return
    }
    // The holder may have gone without reaching onSend: take the sampler back.
    if (holder !== null && gone(holder)) abandon(holder)
    const hold = sampler.start()
    state.sampling = hold
    if (typeof hold === 'object') holder = state
  }
  /**
   * Stop this request's sampler, reading it if V8 took a sample in the window: right after the
   * heap, CPU and loop readings (so none of them counts the read) and before the toolbar builds the
   * record, whose objects are not the request's (inlined into Fastify's onSend hook runner, they
   * would be sampled as Fastify's).
   */
  function stopSampling (state: RequestState, w: MemoryWindow, gcCount: number): void {
    const hold = state.sampling
    if (typeof hold !== 'object') return
    const t0 = performance.now()
    // One global handle per live sample: no new handle and no GC in the window (a GC frees the
    // handles of collected samples, and of other objects) means no sample to read.
    const noSamples = !state.precise && gcCount === 0 && w.handlesBefore !== undefined &&
      w.handlesAfter === w.handlesBefore && w.heapUsedAfter >= w.heapUsedBefore
    holder = null
    try {
      state.profile = hold.stop(noSamples)
    } catch (err) {
      warnOnce('sampler', err, `the ${sampler?.kind ?? ''} allocation sampler failed; requests go on without allocation sites`)
      state.sampling = 'failed'
    }
    state.samplingMs = performance.now() - t0
  }

  /** This request's allocations for its record, from what stopSampling read. */
  function collectSamples (state: RequestState, gcCount: number): AllocationsRecord | AllocationsSkipped {
    const hold = state.sampling as Exclude<RequestState['sampling'], undefined>
    if (typeof hold === 'string') return skippedAllocations(hold)
    const t0 = performance.now()
    const profile = state.profile
    const s = sampler as Sampler
    const summary = profile === undefined ? NO_SITES : summarizeSites(profile, (sampling as ResolvedAllocations).maxSites)
    const record: AllocationsRecord = {
      sampler: s.kind,
      meaning: s.meaning,
      intervalBytes: s.intervalBytes,
      stackDepth: s.stackDepth,
      sampledBytes: summary.sampledBytes,
      samples: summary.samples,
      sites: summary.sites,
      otherSites: summary.otherSites,
      otherBytes: summary.otherBytes,
      overheadMs: round3(state.samplingMs + performance.now() - t0),
      gcDuringWindow: gcCount,
      hasProfile: profile !== undefined
    }
    if (profile === undefined) record.unread = true
    return record
  }

  function skippedAllocations (why: SamplerRefusal | 'over-budget' | 'unavailable'): AllocationsSkipped {
    switch (why) {
      case 'over-budget':
        return { skipped: 'not-sampled', reason: `Over the sampling budget of ${(sampling as ResolvedAllocations).maxPerSecond} requests a second (allocations.maxPerSecond). Turn on the toolbar's Sample switch or send x-debug-toolbar-sample: 1 to sample a request anyway, or set allocations.requests to 'all'.` }
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

  function startClocks (state: RequestState): void {
    state.idleStartMs = nodeTiming.idleTime
    if (cpuTime) state.cpuStart = process.cpuUsage()
  }

  function closeWindow (state: RequestState): MemoryRecord {
    let w: MemoryWindow
    try {
      w = (state.measurement as OpenMeasurement).stop()
    } catch (err) {
      warnOnce('backend-stop', err, 'memory backend failed to stop; request recorded without figures')
      w = emptyWindow()
    }
    state.window = w
    if (state.cpuStart !== undefined) state.cpu = process.cpuUsage(state.cpuStart)
    // The window's GCs, asked once: for the sampler's no-sample test and for the figures. The
    // sampler stops before anything else of the toolbar's allocates.
    const gcs = gcTracker.between(w.startMs, w.endMs)
    stopSampling(state, w, gcs.length)
    // Busy = elapsed - idle (what eventLoopUtilization computes, without its objects). The loop was
    // not idle while the sampler stopped, so reading idle time after it changes nothing.
    state.loopBusyMs = Math.max(0, (w.endMs - w.startMs) - (nodeTiming.idleTime - state.idleStartMs))
    const overlapping = state.othersAtStart + (arrivals - state.arrivalsAtStart)
    const notes = startupNotes.length === 0 ? [] : [...startupNotes]
    if (w.failed === true) notes.push(`The memory backend "${backend.id}" failed for this request (see the server log): its heap and external figures are missing and read as 0.`)
    state.memory = finalizer.build(backend.id, w, overlapping, state.overheadMs, state.precise, notes, gcs)
    if (state.sampling !== undefined) state.memory.allocations = collectSamples(state, state.memory.gc.count)
    return state.memory
  }

  function finishSend (reply: FastifyReply, payload: unknown, state: RequestState): unknown {
    try {
      const m = closeWindow(state)
      const t0 = (state.window as MemoryWindow).endMs
      // Into Fastify's header map, not onto reply.raw: a header on the raw response makes Node's
      // writeHead set each of Fastify's headers one by one (2 µs of CPU a request more here).
      reply.header(ID_HEADER, state.id)
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
        reply.header('server-timing', appTiming === undefined ? ours : appendServerTiming(appTiming, ours))
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
    if (!injectableType(type) || reply.getHeader('content-encoding') !== undefined) return payload
    const snippet = toolbarSnippet({
      prefix,
      id: state.id,
      nonce: cspNonce(reply),
      subtitle: signedBytes(m.heapUsedDelta),
      sampling: sampling !== false
    })
    // Fastify sets content-length after the onSend hooks; one set by the app is wrong now. (Only
    // when there is one: deleting a key makes the header map slower for the rest of the request.)
    if (reply.hasHeader('content-length')) reply.removeHeader('content-length')
    return typeof payload === 'string' ? injectIntoString(payload, snippet) : injectIntoBuffer(payload, snippet)
  }

  function buildRecord (reply: FastifyReply, state: RequestState, responseHeaders: StoredHeaders): RequestRecord {
    const w = state.window as MemoryWindow
    const cpu = state.cpu
    const end = state.precise && Number.isFinite(w.forcedFromMs) ? w.forcedFromMs : w.endMs
    const durationMs = round3(end - w.startMs)
    const request = reply.request
    const url = request.url
    const hasQuery = url.includes('?')
    return {
      id: state.id,
      method: request.method,
      url: hasQuery ? redactUrl(url, redact) : url,
      route: state.route,
      statusCode: reply.statusCode,
      durationMs,
      startedAt: Math.round(timeOrigin + w.startMs),
      cpu: {
        loopBusyMs: Math.min(round3(state.loopBusyMs), durationMs),
        userMs: cpu === undefined ? null : round3(cpu.user / 1000),
        systemMs: cpu === undefined ? null : round3(cpu.system / 1000)
      },
      request: {
        headers: state.headers,
        query: hasQuery ? redactQuery(request.query, redact) : EMPTY_QUERY,
        remoteAddress: state.remoteAddress,
        httpVersion: request.raw.httpVersion
      },
      response: {
        headers: responseHeaders,
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

/** The measurement of a request whose backend failed. */
const FAILED_MEASUREMENT: Measurement = { begin () {}, stop: () => emptyWindow() }

/** The window of a request whose backend failed. */
function emptyWindow (): MemoryWindow {
  const now = performance.now()
  return { startMs: now, endMs: now, heapUsedBefore: 0, heapUsedAfter: 0, externalBefore: 0, externalAfter: 0, forcedFromMs: Infinity, failed: true }
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
