import v8 from 'node:v8'
import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks'
import type { GcEventRecord } from '../record/types.ts'
import type { GcTracker, TrackedGc } from './gc-tracker.ts'

/**
 * The live page's process sampler: the process's memory (heap used and total, external, array
 * buffers, RSS) and the event loop's delay at a fixed interval, and every GC the GC tracker pairs,
 * kept in bounded columns. It runs only while someone holds it (a live page's event stream) and
 * for `keepRunningMs` after the last one lets go; stopped, it costs nothing.
 * One reading is a process.memoryUsage() call (reading RSS is most of it) and a look at the delay
 * histogram: four a second are under 0.1% of a core (docs/live.md).
 */

/** One reading; times in ms since the Unix epoch, sizes in bytes, delays in ms. */
export interface ProcessSample {
  t: number
  heapUsedBytes: number
  heapTotalBytes: number
  externalBytes: number
  arrayBuffersBytes: number
  rssBytes: number
  /** Event-loop delay since the previous reading: mean and highest, in ms (0 when nothing was measured). */
  loopDelayMeanMs: number
  loopDelayMaxMs: number
}

/** One GC on the epoch clock (ms); sizes in bytes. */
export interface ProcessGc {
  t: number
  durationMs: number
  kind: GcEventRecord['kind']
  heapUsedBefore: number
  heapUsedAfter: number
}

/** The readings as columns (what `/api/process` and the chart use): `t[i]` goes with `heapUsedBytes[i]`. */
export interface SampleColumns {
  t: number[]
  heapUsedBytes: number[]
  heapTotalBytes: number[]
  externalBytes: number[]
  arrayBuffersBytes: number[]
  rssBytes: number[]
  loopDelayMeanMs: number[]
  loopDelayMaxMs: number[]
}

/** What a listener is told: new readings and new GCs, oldest first. */
export interface SamplerEvent { samples: ProcessSample[], gcs: ProcessGc[] }

/** Settings of a sampler (see LiveOptions). */
export interface ProcessSamplerSettings {
  sampleIntervalMs: number
  keepRunningMs: number
  maxSamples: number
  maxHistoryBytes: number
}

const SAMPLE_FIELDS = ['t', 'heapUsedBytes', 'heapTotalBytes', 'externalBytes', 'arrayBuffersBytes', 'rssBytes', 'loopDelayMeanMs', 'loopDelayMaxMs'] as const
/** Bytes a reading takes: one float64 per field. */
export const SAMPLE_BYTES = SAMPLE_FIELDS.length * 8
/** Bytes a GC takes: five float64 and a kind byte, rounded up. */
export const GC_BYTES = 48
const GC_KINDS: ReadonlyArray<GcEventRecord['kind']> = ['minor', 'major', 'incremental', 'weakcb']
/** Event-loop delay histogram resolution, in ms: one timer wake-up this often while running. */
const LOOP_RESOLUTION_MS = 20

/** A ring of float64 columns, oldest at `head`. */
const NO_ROWS = new Float64Array(0)

class Columns {
  /** Empty until the first push: a registration whose live page is never opened allocates none of it. */
  cols: Float64Array[]
  readonly capacity: number
  head = 0
  count = 0

  constructor (width: number, capacity: number) {
    this.capacity = capacity
    this.cols = Array.from({ length: width }, () => NO_ROWS)
  }

  push (values: readonly number[]): void {
    if (this.cols[0] === NO_ROWS) this.cols = this.cols.map(() => new Float64Array(this.capacity))
    const slot = (this.head + this.count) % this.capacity
    for (let c = 0; c < this.cols.length; c++) (this.cols[c] as Float64Array)[slot] = values[c] as number
    if (this.count < this.capacity) this.count++
    else this.head = (this.head + 1) % this.capacity
  }

  /** Slot of the i-th oldest row. */
  slot (i: number): number { return (this.head + i) % this.capacity }

  /** Index (0 = oldest) of the first row whose column 0 is at least `from`. */
  firstAtLeast (from: number): number {
    const t = this.cols[0] as Float64Array
    let lo = 0
    let hi = this.count
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((t[this.slot(mid)] as number) < from) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  clear (): void {
    this.head = 0
    this.count = 0
  }
}

/** Samples the process while held; see the file's comment. */
export class ProcessSampler {
  readonly settings: ProcessSamplerSettings
  private readonly tracker: GcTracker
  private readonly samples: Columns
  private readonly gcs: Columns
  private readonly listeners = new Set<(e: SamplerEvent) => void>()
  private users = 0
  private timer: NodeJS.Timeout | undefined
  private stopTimer: NodeJS.Timeout | undefined
  private histogram: IntervalHistogram | undefined
  /** Start time (performance.now() ms) of the newest GC taken from the tracker. */
  private lastGcStartMs = -Infinity
  private trackerProblem: string | undefined
  private readonly onGc = (): void => { this.takeGcs() }

  constructor (tracker: GcTracker, settings: ProcessSamplerSettings) {
    this.tracker = tracker
    this.settings = settings
    // Half the byte cap each for readings and GCs.
    const half = Math.floor(settings.maxHistoryBytes / 2)
    this.samples = new Columns(SAMPLE_FIELDS.length, Math.max(2, Math.min(settings.maxSamples, Math.floor(half / SAMPLE_BYTES))))
    this.gcs = new Columns(6, Math.max(2, Math.floor(half / GC_BYTES)))
  }

  /** True while readings are being taken. */
  get running (): boolean { return this.timer !== undefined }

  /** Most readings and GCs kept, and the bytes their columns take. */
  get capacity (): { samples: number, gcs: number, bytes: number } {
    return { samples: this.samples.capacity, gcs: this.gcs.capacity, bytes: this.samples.capacity * SAMPLE_BYTES + this.gcs.capacity * GC_BYTES }
  }

  /** Figures for tests and the page: holders, listeners, whether a timer is pending. */
  get state (): { running: boolean, users: number, listeners: number, stopPending: boolean } {
    return { running: this.running, users: this.users, listeners: this.listeners.size, stopPending: this.stopTimer !== undefined }
  }

  /** Why GCs are missing, when the tracker is unavailable. */
  get gcProblem (): string | undefined { return this.trackerProblem }

  /** One more holder (a live page): runs until every holder released it and `keepRunningMs` passed. */
  acquire (): void {
    this.users++
    this.cancelStop()
    this.start()
  }

  release (): void {
    if (this.users === 0) return
    this.users--
    if (this.users === 0) this.scheduleStop()
  }

  /** Run for `keepRunningMs` more (a reader of `/api/process`), without holding. */
  touch (): void {
    this.start()
    if (this.users === 0) {
      this.cancelStop()
      this.scheduleStop()
    }
  }

  /** Be told of each new reading and GC while running. */
  subscribe (listener: (e: SamplerEvent) => void): void { this.listeners.add(listener) }
  unsubscribe (listener: (e: SamplerEvent) => void): void { this.listeners.delete(listener) }

  /** Take a reading now (after a forced GC, so the chart shows the drop at once); returns it. */
  sampleNow (): ProcessSample {
    this.takeGcs()
    const s = this.read()
    this.store(s)
    this.emit({ samples: [s], gcs: [] })
    return s
  }

  /** Readings and GCs from `fromMs` (epoch ms) on, oldest first. */
  series (fromMs: number): { samples: SampleColumns, gcs: ProcessGc[] } {
    this.takeGcs()
    const out: SampleColumns = { t: [], heapUsedBytes: [], heapTotalBytes: [], externalBytes: [], arrayBuffersBytes: [], rssBytes: [], loopDelayMeanMs: [], loopDelayMaxMs: [] }
    const s = this.samples
    for (let i = s.firstAtLeast(fromMs); i < s.count; i++) {
      const slot = s.slot(i)
      for (let c = 0; c < SAMPLE_FIELDS.length; c++) out[SAMPLE_FIELDS[c] as keyof SampleColumns].push((s.cols[c] as Float64Array)[slot] as number)
    }
    const gcs: ProcessGc[] = []
    const g = this.gcs
    for (let i = g.firstAtLeast(fromMs); i < g.count; i++) gcs.push(this.gcAt(g.slot(i)))
    return { samples: out, gcs }
  }

  /** Stop, forget the history and every listener (the app is closing). */
  close (): void {
    this.users = 0
    this.cancelStop()
    this.stop()
    this.listeners.clear()
    this.samples.clear()
    this.gcs.clear()
  }

  private start (): void {
    if (this.timer !== undefined) return
    this.trackerProblem = this.tracker.acquire()
    this.tracker.subscribe(this.onGc)
    // Only GCs from now on: older ones may already be in the columns.
    this.lastGcStartMs = Math.max(this.lastGcStartMs, performance.now())
    try {
      this.histogram = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS })
      this.histogram.enable()
    } catch {
      this.histogram = undefined
    }
    this.timer = setInterval(() => { this.tick() }, this.settings.sampleIntervalMs)
    this.timer.unref()
    this.tick()
  }

  private stop (): void {
    if (this.timer === undefined) return
    clearInterval(this.timer)
    this.timer = undefined
    this.takeGcs()
    this.histogram?.disable()
    this.histogram = undefined
    this.tracker.unsubscribe(this.onGc)
    this.tracker.release()
  }

  private scheduleStop (): void {
    if (this.settings.keepRunningMs === 0) {
      this.stop()
      return
    }
    this.stopTimer = setTimeout(() => {
      this.stopTimer = undefined
      if (this.users === 0) this.stop()
    }, this.settings.keepRunningMs)
    this.stopTimer.unref()
  }

  private cancelStop (): void {
    if (this.stopTimer === undefined) return
    clearTimeout(this.stopTimer)
    this.stopTimer = undefined
  }

  private tick (): void {
    const gcs = this.takeGcs(false)
    const s = this.read()
    this.store(s)
    this.emit({ samples: [s], gcs })
  }

  private read (): ProcessSample {
    const m = process.memoryUsage()
    const h = this.histogram
    let meanMs = 0
    let maxMs = 0
    if (h !== undefined && h.count > 0) {
      // Nanoseconds; the histogram counts the timer's own resolution as delay, taken off here.
      meanMs = Math.max(0, h.mean / 1e6 - LOOP_RESOLUTION_MS)
      maxMs = Math.max(0, h.max / 1e6 - LOOP_RESOLUTION_MS)
      h.reset()
    }
    return {
      t: Date.now(),
      heapUsedBytes: m.heapUsed,
      heapTotalBytes: m.heapTotal,
      externalBytes: m.external,
      arrayBuffersBytes: m.arrayBuffers,
      rssBytes: m.rss,
      loopDelayMeanMs: Math.round(meanMs * 1000) / 1000,
      loopDelayMaxMs: Math.round(maxMs * 1000) / 1000
    }
  }

  private store (s: ProcessSample): void {
    this.samples.push([s.t, s.heapUsedBytes, s.heapTotalBytes, s.externalBytes, s.arrayBuffersBytes, s.rssBytes, s.loopDelayMeanMs, s.loopDelayMaxMs])
  }

  /** Copy the tracker's GCs newer than the last one taken into the columns; tell listeners when `emit`. */
  private takeGcs (emit = true): ProcessGc[] {
    if (this.timer === undefined) return []
    this.tracker.sync()
    const fresh = this.tracker.between(this.lastGcStartMs + 1e-6, Infinity)
    if (fresh.length === 0) return []
    const out: ProcessGc[] = []
    for (const e of fresh) {
      const gc = toProcessGc(e)
      this.gcs.push([gc.t, gc.durationMs, GC_KINDS.indexOf(gc.kind), gc.heapUsedBefore, gc.heapUsedAfter, 0])
      out.push(gc)
    }
    this.lastGcStartMs = (fresh[fresh.length - 1] as TrackedGc).startMs
    if (emit) this.emit({ samples: [], gcs: out })
    return out
  }

  private gcAt (slot: number): ProcessGc {
    const c = this.gcs.cols
    return {
      t: (c[0] as Float64Array)[slot] as number,
      durationMs: (c[1] as Float64Array)[slot] as number,
      kind: GC_KINDS[(c[2] as Float64Array)[slot] as number] ?? 'minor',
      heapUsedBefore: (c[3] as Float64Array)[slot] as number,
      heapUsedAfter: (c[4] as Float64Array)[slot] as number
    }
  }

  private emit (e: SamplerEvent): void {
    for (const l of this.listeners) {
      try { l(e) } catch { /* a listener's failure is its own */ }
    }
  }
}

/**
 * The GCs the tracker keeps (it runs while the toolbar is registered, and keeps about two minutes)
 * that started at `fromMs` (epoch ms) or later, oldest first. Starts nothing.
 */
export function trackedGcsSince (tracker: GcTracker, fromMs: number): ProcessGc[] {
  tracker.sync()
  return tracker.between(fromMs - performance.timeOrigin, Infinity).map(toProcessGc)
}

/** The JS heap in use now, in bytes, from V8's heap statistics (no RSS read). */
export function heapUsedNow (): number {
  return v8.getHeapStatistics().used_heap_size
}

function toProcessGc (e: TrackedGc): ProcessGc {
  return {
    t: Math.round((performance.timeOrigin + e.startMs) * 1000) / 1000,
    durationMs: Math.round(e.durationMs * 1000) / 1000,
    kind: e.kind,
    heapUsedBefore: e.heapUsedBefore,
    heapUsedAfter: e.heapUsedAfter
  }
}
