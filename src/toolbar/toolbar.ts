import type { ServerResponse } from 'node:http'
import { performance } from 'node:perf_hooks'
import type { FastifyBaseLogger, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import type { MemoryBackend, MemoryWindow } from '../capture/backend.ts'
import { chooseBackend } from '../capture/backends.ts'
import { round3 } from '../capture/figures.ts'
import { MemoryFinalizer } from '../capture/finalizer.ts'
import { gcTracker } from '../capture/gc-tracker.ts'
import { PreciseCollector, type PreciseMeasurement } from '../capture/precise.ts'
import { SamplingBudget, SamplingPolicy } from '../capture/sampling-policy.ts'
import { WindowCapture } from '../capture/window.ts'
import { captureHeaderBlock, captureHeaderMap, createRedactor, scanRequestHeaders, type Redactor } from '../headers.ts'
import { newId } from '../id.ts'
import { allowLoopback, forwardingIsLoopback, isLoopbackAddress, runAllow, type ResolvedOptions } from '../options.ts'
import { LeakTicket } from '../leak/ticket.ts'
import { LEAK_TEST_HEADER, PRECISE_COOKIE_RE, SAMPLE_COOKIE_RE } from '../protocol.ts'
import { buildRecord } from '../record/build.ts'
import { kToolbarRoute } from '../route-config.ts'
import type { MemoryRecord, RequestRecord } from '../record/types.ts'
import { createStore, type RequestStore, type Settle } from '../store.ts'
import { createWarnOnce, type WarnOnce } from '../warn-once.ts'
import { gone, InFlight } from './in-flight.ts'
import { kProfile, RequestProfile, type ProfiledRequest } from './request-profile.ts'
import { Responder, setsRedacted } from './respond.ts'
import { lastOnSendCheck, nameOnSend } from './route-hooks.ts'

type OnSendDone = (err: null, payload: unknown) => void

const PRECISE_FAILED = 'Forcing a full GC failed (see the server log), so this request was measured without precise mode.'

/**
 * One registration's state and its hooks. Everything happens in onRequest and onSend (an onResponse
 * or onRequestAbort hook makes Fastify add listeners to every request; see docs/performance.md);
 * the hooks are methods bound once, and a request's state is one RequestProfile in a decorator.
 */
export class Toolbar {
  readonly store: RequestStore
  /** Told of each record as it is stored (the live page's feed); empty unless a live page is open. */
  readonly recordListeners = new Set<(r: RequestRecord) => void>()
  /** The running leak test's ticket: its calls are neither recorded nor counted in flight. */
  readonly leakTicket = new LeakTicket()
  private readonly options: ResolvedOptions
  private readonly allow: ResolvedOptions['allow']
  private readonly redactor: Redactor
  private readonly backend: MemoryBackend
  private readonly finalizer: MemoryFinalizer
  private readonly precise: PreciseCollector
  /** Precise-mode requests granted: `preciseMaxPerSecond` a second, bursts of twice as many. */
  private readonly preciseBudget: SamplingBudget
  private readonly preciseOverBudget: string
  private readonly policy: SamplingPolicy
  private readonly inFlight: InFlight
  private readonly windows: WindowCapture
  private readonly responder: Responder
  private readonly warnOnce: WarnOnce

  /** `makeStore` builds a shared store (e.g. Redis) instead of the in-memory ring. */
  constructor (options: ResolvedOptions, log: FastifyBaseLogger, makeStore?: (settle: Settle) => RequestStore) {
    this.options = options
    this.allow = options.allow
    this.warnOnce = createWarnOnce(log)
    const settle: Settle = async (id, pair) => await this.finalizer.settle(id, pair)
    this.store = makeStore === undefined ? createStore(options.maxRequests, options.maxStoreBytes, settle) : makeStore(settle)
    // As many waiting records as the ring store holds (longer would age them into the old
    // generation); a shared store's batches wait for theirs, so it gets twice as many.
    this.finalizer = new MemoryFinalizer(gcTracker, this.store.shared ? options.maxRequests * 2 : options.maxRequests, (id) => { this.store.revise(id) })
    this.backend = chooseBackend()
    this.precise = new PreciseCollector(this.backend)
    this.preciseBudget = new SamplingBudget(options.preciseMaxPerSecond)
    this.preciseOverBudget = `Over the precise-mode limit of ${options.preciseMaxPerSecond} requests a second (bursts of ${2 * options.preciseMaxPerSecond}; the preciseMaxPerSecond option): each forces full GCs that stall the whole app, so this request was measured without them.`
    this.policy = new SamplingPolicy(options.allocations, (m) => { log.warn(m) }, this.warnOnce, (holder) => {
      if (gone(holder as RequestProfile)) this.inFlight.abandon(holder as RequestProfile)
    })
    this.inFlight = new InFlight(this.policy)
    const gcProblem = gcTracker.acquire()
    gcTracker.subscribe(this.finalizer.onGcReported)
    if (gcProblem !== undefined) log.warn(gcProblem)
    this.windows = new WindowCapture({
      backend: this.backend,
      policy: this.policy,
      finalizer: this.finalizer,
      tracker: gcTracker,
      arrivals: this.inFlight,
      cpuTime: options.cpuTime,
      startupNotes: gcProblem === undefined ? [] : [gcProblem],
      warnOnce: this.warnOnce
    })
    this.onSend = nameOnSend(this.onSend.bind(this))
    this.responder = new Responder({
      prefix: options.prefix,
      inject: options.inject,
      serverTiming: options.serverTiming,
      sampling: options.allocations !== false,
      lastOnSend: lastOnSendCheck(this.onSend.name)
    }, this.windows, this.warnOnce)
    this.redactor = createRedactor(options.redact)
    this.onRequest = this.onRequest.bind(this)
    this.onClose = this.onClose.bind(this)
    this.onAllowError = this.onAllowError.bind(this)
  }

  // Hooks, in the order a request meets them.

  onRequest (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    const t0 = performance.now()
    const ro = request.routeOptions
    const config = ro.config as { debugToolbar?: boolean, [kToolbarRoute]?: true } | undefined
    // The toolbar's own routes, as the router matched them (slash and case options included).
    if (config?.[kToolbarRoute] === true) {
      done()
      return
    }
    if (this.leakTicket.value !== undefined && this.leakTicket.matches(request.headers[LEAK_TEST_HEADER])) {
      this.leakTicket.route = request.routeOptions.url ?? ''
      done()
      return
    }
    const inFlight = this.inFlight
    inFlight.arrivals++
    // Hijacked and abandoned requests leave before this one counts the others (a few property
    // reads a request in flight; none when nothing is).
    if (inFlight.list.length > 0) inFlight.sweep()
    const raw = request.raw
    const state = new RequestProfile(reply)
    inFlight.add(state)
    ;(request as ProfiledRequest)[kProfile] = state
    if (config?.debugToolbar === false) {
      done()
      return
    }
    const remoteAddress = raw.socket?.remoteAddress
    const allow = this.allow
    // The default check reads the socket first and the headers only for a loopback peer.
    if (allow === allowLoopback && !isLoopbackAddress(remoteAddress)) {
      done()
      return
    }
    const scan = scanRequestHeaders(raw.rawHeaders, this.redactor)
    if (allow === allowLoopback ? !forwardingIsLoopback(scan.forwardedFor, scan.forwarded) : !runAllow(allow, request, this.onAllowError)) {
      done()
      return
    }
    state.profiled = true
    state.id = newId()
    state.route = ro.url ?? ''
    state.remoteAddress = remoteAddress ?? ''
    state.headers = scan.headers
    state.precise = scan.precise === '1' || (scan.cookie !== undefined && PRECISE_COOKIE_RE.test(scan.cookie))
    if (state.precise && !this.preciseBudget.take(t0)) {
      state.precise = false
      state.preciseRefused = this.preciseOverBudget
    }
    state.sampleAsked = scan.sample === '1' || (scan.cookie !== undefined && SAMPLE_COOKIE_RE.test(scan.cookie))
    state.othersAtStart = inFlight.list.length - 1
    state.arrivalsAtStart = inFlight.arrivals
    if (state.precise) {
      // The sampler before the baseline, as in WindowCapture.open.
      this.precise.start(() => { this.policy.start(state, t0) }).then((m) => {
        state.measurement = m
        this.windows.startClocks(state)
        state.overheadMs += performance.now() - t0
        done()
      }, (err: unknown) => {
        this.warnOnce('precise', err, 'precise mode failed (forced GC unavailable); measuring without it')
        state.precise = false
        state.preciseRefused = PRECISE_FAILED
        this.windows.open(state, request)
        state.overheadMs += performance.now() - t0
        done()
      })
      return
    }
    this.windows.open(state, request)
    state.overheadMs += performance.now() - t0
    done()
  }

  onSend (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: OnSendDone): void {
    const state = (request as ProfiledRequest)[kProfile]
    if (state === null || !state.open) {
      done(null, payload)
      return
    }
    if (!state.profiled || reply.raw.destroyed) {
      // Not ours to measure, or the client went away: no headers and no record.
      this.inFlight.abandon(state)
      done(null, payload)
      return
    }
    if (state.precise) {
      const t0 = performance.now()
      ;(state.measurement as PreciseMeasurement).settle().then(
        () => {
          state.overheadMs += performance.now() - t0
          this.send(reply, payload, state, done)
        },
        (err: unknown) => {
          this.warnOnce('precise', err, 'precise mode failed (forced GC unavailable); measuring without it')
          state.overheadMs += performance.now() - t0
          this.send(reply, payload, state, done)
        })
      return
    }
    // No timestamp here: it would be allocated inside the window. The toolbar's time in onSend is
    // counted from the window's end reading.
    this.send(reply, payload, state, done)
  }

  /** Requests of the app between onRequest and onSend right now (the toolbar's routes and leak-test calls not counted). */
  inFlightCount (): number {
    if (this.inFlight.list.length > 0) this.inFlight.sweep()
    return this.inFlight.list.length
  }

  async onClose (): Promise<void> {
    // The store first: a shared store writes its queue, with figures the finalizer completes.
    await this.store.close()
    this.finalizer.clear()
    this.precise.close()
    this.policy.close()
    gcTracker.unsubscribe(this.finalizer.onGcReported)
    gcTracker.release()
  }

  /** Close the window, head (and maybe inject) the response, let Fastify write it, then store the record. */
  private send (reply: FastifyReply, payload: unknown, state: RequestProfile, done: OnSendDone): void {
    const out = this.responder.finish(reply, payload, state)
    this.inFlight.close(state)
    if (this.responder.wantsStream(reply, out)) {
      // An HTML stream (e.g. a static .html file): read (a bounded part of) it first.
      this.responder.injectStream(reply, out, state.memory as MemoryRecord).then((page) => { this.complete(reply, page, state, done) }, () => {})
      return
    }
    this.complete(reply, out, state, done)
  }

  /** Let Fastify write the response, then store the record. */
  private complete (reply: FastifyReply, out: unknown, state: RequestProfile, done: OnSendDone): void {
    done(null, out)
    // Every onSend hook after this one was synchronous when the response is already written: its
    // header block is then exactly what went out.
    const t1 = performance.now()
    try {
      const redactor = this.redactor
      const block = (reply.raw as ServerResponse & { _header?: unknown })._header
      const headers = typeof block === 'string'
        ? captureHeaderBlock(block, redactor, redactor.mapsTell ? setsRedacted(reply, redactor) : undefined)
        : captureHeaderMap(reply.getHeaders(), redactor)
      const record = buildRecord(reply, state, headers, this.options.redact)
      this.store.save(record, state.profile)
      this.finalizer.finalizeLater(record.id, state.window as MemoryWindow, record.memory)
      record.memory.overheadMs = round3(state.overheadMs + performance.now() - t1)
      if (this.recordListeners.size !== 0) for (const l of this.recordListeners) l(record)
    } catch (err) {
      this.warnOnce('record', err, 'could not store a request record')
    }
  }

  private onAllowError (err: unknown): void {
    this.warnOnce('allow', err, 'the allow() option threw; treating the client as not allowed')
  }
}
