import { performance } from 'node:perf_hooks'
import type { FastifyRequest } from 'fastify'
import type { AllocationProfile } from '../allocations/types.ts'
import type { MemoryRecord } from '../record/types.ts'
import type { WarnOnce } from '../warn-once.ts'
import type { Measurement, MemoryBackend, MemoryWindow, OpenMeasurement } from './backend.ts'
import type { MemoryFinalizer } from './finalizer.ts'
import type { GcTracker } from './gc-tracker.ts'
import type { Sampling, SamplingPolicy, SamplingSlot } from './sampling-policy.ts'

/**
 * A request's measuring state: what opening and closing its window reads and writes. Every field
 * is set in the constructor, so every request's state has one shape (the toolbar's RequestProfile
 * extends it).
 */
export class WindowState implements SamplingSlot {
  precise: boolean
  /** Why precise mode was asked for and not used, if it was. */
  preciseRefused: string | undefined
  sampleAsked: boolean
  sampling: Sampling
  profile: AllocationProfile | undefined
  samplingMs: number
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

  constructor () {
    this.precise = false
    this.preciseRefused = undefined
    this.sampleAsked = false
    this.sampling = undefined
    this.profile = undefined
    this.samplingMs = 0
    this.measurement = undefined
    this.cpuStart = undefined
    this.cpu = undefined
    this.idleStartMs = 0
    this.loopBusyMs = 0
    this.othersAtStart = 0
    this.arrivalsAtStart = 0
    this.overheadMs = 0
    this.window = undefined
    this.memory = undefined
  }
}

/** Counts requests as they arrive, for `overlapping`. */
export interface ArrivalCounter {
  readonly arrivals: number
}

/** What a registration measures with, made once. */
export interface WindowDeps {
  backend: MemoryBackend
  policy: SamplingPolicy
  finalizer: MemoryFinalizer
  tracker: GcTracker
  arrivals: ArrivalCounter
  /** Read process.cpuUsage() at both ends. */
  cpuTime: boolean
  /** Notes every record carries (e.g. the GC tracker could not start). */
  startupNotes: readonly string[]
  warnOnce: WarnOnce
}

/** The event loop's idle-time counter (read at both ends of a window for its busy time). */
const nodeTiming = performance.nodeTiming

/** The measurement of a request whose backend failed. */
const FAILED_MEASUREMENT: Measurement = { begin () {}, stop: () => emptyWindow() }

/** The window of a request whose backend failed. */
function emptyWindow (): MemoryWindow {
  const now = performance.now()
  return { startMs: now, endMs: now, heapUsedBefore: 0, heapUsedAfter: 0, externalBefore: 0, externalAfter: 0, forcedFromMs: Infinity, failed: true }
}

/**
 * Opens and closes requests' windows: the backend's readings, CPU and loop clocks, the allocation
 * sampler, and the memory figures built from them. One per registration.
 */
export class WindowCapture {
  private readonly backend: MemoryBackend
  private readonly policy: SamplingPolicy
  private readonly finalizer: MemoryFinalizer
  private readonly tracker: GcTracker
  private readonly counter: ArrivalCounter
  private readonly cpuTime: boolean
  private readonly startupNotes: readonly string[]
  private readonly warnOnce: WarnOnce

  constructor (deps: WindowDeps) {
    this.backend = deps.backend
    this.policy = deps.policy
    this.finalizer = deps.finalizer
    this.tracker = deps.tracker
    this.counter = deps.arrivals
    this.cpuTime = deps.cpuTime
    this.startupNotes = deps.startupNotes
    this.warnOnce = deps.warnOnce
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
  open (state: WindowState, request: FastifyRequest): void {
    this.startClocks(state)
    const startMs = performance.now()
    const m = this.newMeasurement(request, startMs)
    if (state.sampling === undefined) this.policy.start(state, startMs)
    this.beginMeasurement(m, state, request)
  }

  /** The CPU and loop baselines. */
  startClocks (state: WindowState): void {
    state.idleStartMs = nodeTiming.idleTime
    if (this.cpuTime) state.cpuStart = process.cpuUsage()
  }

  private newMeasurement (request: FastifyRequest, startMs: number): Measurement {
    try {
      return this.backend.create(startMs)
    } catch (err) {
      this.backendFailed(err, request)
      return FAILED_MEASUREMENT
    }
  }

  private beginMeasurement (m: Measurement, state: WindowState, request: FastifyRequest): void {
    try {
      m.begin()
      state.measurement = m
    } catch (err) {
      this.backendFailed(err, request)
      state.measurement = FAILED_MEASUREMENT
    }
  }

  private backendFailed (err: unknown, request: FastifyRequest): void {
    this.warnOnce('backend', err, `memory backend "${this.backend.id}" failed; requests go on unmeasured`)
    request.log.debug('debug toolbar: request not measured')
  }

  /** Close the window and build the request's memory figures. */
  close (state: WindowState): MemoryRecord {
    let w: MemoryWindow
    try {
      w = (state.measurement as OpenMeasurement).stop()
    } catch (err) {
      this.warnOnce('backend-stop', err, 'memory backend failed to stop; request recorded without figures')
      w = emptyWindow()
    }
    state.window = w
    if (state.cpuStart !== undefined) state.cpu = process.cpuUsage(state.cpuStart)
    // The window's GCs, asked once: for the sampler's no-sample test and for the figures. The
    // sampler stops before anything else of the toolbar's allocates.
    const gcs = this.tracker.between(w.startMs, w.endMs)
    this.policy.stop(state, w, gcs.length)
    // Busy = elapsed - idle (what eventLoopUtilization computes, without its objects). The loop was
    // not idle while the sampler stopped, so reading idle time after it changes nothing.
    state.loopBusyMs = Math.max(0, (w.endMs - w.startMs) - (nodeTiming.idleTime - state.idleStartMs))
    const overlapping = state.othersAtStart + (this.counter.arrivals - state.arrivalsAtStart)
    const notes = this.startupNotes.length === 0 ? [] : [...this.startupNotes]
    if (w.failed === true) notes.push(`The memory backend "${this.backend.id}" failed for this request (see the server log): its heap and external figures are missing and read as 0.`)
    state.memory = this.finalizer.build(this.backend.id, w, overlapping, state.overheadMs, state.precise, notes, gcs)
    if (state.preciseRefused !== undefined) state.memory.preciseRefused = state.preciseRefused
    if (state.sampling !== undefined) state.memory.allocations = this.policy.collect(state, state.memory.gc.count)
    return state.memory
  }
}
