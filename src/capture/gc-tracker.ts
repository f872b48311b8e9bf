import v8 from 'node:v8'
import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks'
import type { GcEventRecord } from '../record/types.ts'

/**
 * One process-wide GC tracker shared by every app in the process.
 *
 * `PerformanceObserver('gc')` gives each GC's start time and duration (in the `performance.now()`
 * time base) but no heap sizes; `v8.GCProfiler` gives heap statistics before and after each GC but
 * no time. Both see the same GCs in the same order, so we pair them first-in first-out, checking
 * the kind. The profiler only hands its data over on stop(), and a stopped profiler keeps writing
 * every later GC's statistics until it is garbage-collected (Node never removes its GC callbacks),
 * so profilers are swapped as rarely as truth allows: when a window asks for a reported GC (see
 * between), when a reader syncs, or once PAIR_BATCH reported GCs wait. Nothing is done per request.
 */

type GcKind = GcEventRecord['kind']

/** A GC with its time and heap figures; times in ms on the performance.now() clock, sizes in bytes. */
export interface TrackedGc {
  startMs: number
  durationMs: number
  kind: GcKind
  heapUsedBefore: number
  heapUsedAfter: number
}

interface PendingEntry { startMs: number, durationMs: number, kind: GcKind }
interface PendingStat { kind: GcKind, heapUsedBefore: number, heapUsedAfter: number }

/** Node's perf_hooks GC kinds (NODE_PERFORMANCE_GC_*). */
const ENTRY_KIND: Record<number, GcKind> = { 1: 'minor', 4: 'major', 8: 'incremental', 16: 'weakcb' }
const PROFILER_KIND: Record<string, GcKind> = {
  Scavenge: 'minor',
  MinorMarkSweep: 'minor',
  MinorMarkCompact: 'minor',
  MarkSweepCompact: 'major',
  IncrementalMarking: 'incremental',
  ProcessWeakCallbacks: 'weakcb'
}

const NO_GCS: readonly TrackedGc[] = Object.freeze([])

/** How long paired GCs are kept for windows still waiting to be resolved, in ms. */
const RETAIN_MS = 120_000
/** Hard cap on kept GCs, whatever their age. */
const MAX_EVENTS = 50_000
/**
 * Reported GCs waiting for their figures before the profiler is swapped anyway. Every swap leaves a
 * stopped profiler writing each later GC until a full GC collects it, so swaps are rare; its buffer
 * holds about 3 KB a GC (see docs/performance.md).
 */
const PAIR_BATCH = 256

interface ProfilerOutput { statistics: Array<{ gcType: string, beforeGC: { heapStatistics: { usedHeapSize: number } }, afterGC: { heapStatistics: { usedHeapSize: number } } }> }

export class GcTracker {
  /** Paired GCs, oldest first. */
  readonly events: TrackedGc[] = []
  /** GCs dropped from `events` by age or count: a window starting before this may be missing some. */
  trimmedUntilMs = -Infinity
  /** Why tracking is off, when it is; undefined while it works. */
  unavailable: string | undefined
  private profiler: v8.GCProfiler | undefined
  private observer: PerformanceObserver | undefined
  private readonly entries: PendingEntry[] = []
  private readonly stats: PendingStat[] = []
  private users = 0
  private readonly listeners = new Set<(newestStartMs: number) => void>()

  /** Start tracking for one more user; returns why tracking is unavailable, if it is. */
  acquire (): string | undefined {
    this.users++
    if (this.users === 1) this.open()
    return this.unavailable
  }

  /** One user fewer; the last one stops the observer and the profiler. */
  release (): void {
    if (this.users === 0) return
    this.users--
    if (this.users === 0) this.shut()
  }

  /** Be told, after GCs were paired, the start time (ms) of the newest one. */
  subscribe (listener: (newestStartMs: number) => void): void {
    this.listeners.add(listener)
  }

  unsubscribe (listener: (newestStartMs: number) => void): void {
    this.listeners.delete(listener)
  }

  get active (): boolean { return this.users > 0 && this.unavailable === undefined }

  /** Take every GC reported so far and pair it with its figures. Call before reading a window's GCs. */
  sync (): void {
    this.takeReported()
    if (this.entries.length > 0) this.pairPending()
  }

  /** Take every GC reported so far without pairing: `between` then pairs only for a window one falls in. */
  takeReported (): void {
    if (this.observer !== undefined) this.take(this.observer.takeRecords())
  }

  /**
   * Drop the kept GCs that started before `untilMs` (performance.now() ms). A leak test calls it
   * before each call: its forced GCs would otherwise be kept objects growing with the calls.
   */
  forget (untilMs: number): void {
    this.sync()
    const ev = this.events
    let n = 0
    while (n < ev.length && (ev[n] as TrackedGc).startMs < untilMs) n++
    if (n > 0) {
      this.trimmedUntilMs = (ev[n - 1] as TrackedGc).startMs
      ev.splice(0, n)
    }
  }

  /**
   * Paired GCs whose start lies in [fromMs, toMs], oldest first. A reported GC in the range still
   * waiting for its figures is paired first, unless `pairWaiting` is false.
   */
  between (fromMs: number, toMs: number, pairWaiting = true): readonly TrackedGc[] {
    if (pairWaiting && this.waiting(fromMs, toMs)) this.pairPending()
    const ev = this.events
    // The usual case, checked first: no GC since the window opened.
    const last = ev[ev.length - 1]
    if (last === undefined || last.startMs < fromMs) return NO_GCS
    let lo = 0
    let hi = ev.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((ev[mid] as TrackedGc).startMs < fromMs) lo = mid + 1
      else hi = mid
    }
    const out: TrackedGc[] = []
    for (let i = lo; i < ev.length; i++) {
      const e = ev[i] as TrackedGc
      if (e.startMs > toMs) break
      out.push(e)
    }
    return out
  }

  /** True when a GC reported in [fromMs, toMs] still waits for its figures (pairing it swaps the profiler). */
  waiting (fromMs: number, toMs: number): boolean {
    const pending = this.entries
    return pending.length > 0 && (pending[0] as PendingEntry).startMs <= toMs && (pending[pending.length - 1] as PendingEntry).startMs >= fromMs
  }

  private open (): void {
    this.unavailable = undefined
    try {
      this.profiler = new v8.GCProfiler()
      this.profiler.start()
      this.observer = new PerformanceObserver((list) => { this.ingest(list.getEntries()) })
      this.observer.observe({ entryTypes: ['gc'] })
    } catch (err) {
      this.shut()
      this.unavailable = `GC tracking unavailable (${(err as Error).message}): peak and allocated bytes only see the start and end of each request`
    }
  }

  private shut (): void {
    this.observer?.disconnect()
    this.observer = undefined
    try { this.profiler?.stop() } catch { /* already stopped */ }
    this.profiler = undefined
    this.entries.length = 0
    this.stats.length = 0
    this.events.length = 0
    this.trimmedUntilMs = -Infinity
  }

  private ingest (list: PerformanceEntry[]): void {
    this.take(list)
    if (this.entries.length >= PAIR_BATCH) this.pairPending()
  }

  private take (list: PerformanceEntry[]): void {
    for (const e of list) {
      const kind = ENTRY_KIND[(e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? 0]
      if (kind !== undefined) this.entries.push({ startMs: e.startTime, durationMs: e.duration, kind })
    }
  }

  /** Pair every reported GC with its figures (swapping the profiler if they are not in yet), then tell the listeners. */
  private pairPending (): void {
    const before = this.events.length
    if (this.entries.length > this.stats.length) this.harvest()
    this.pair()
    if (this.entries.length > 0) {
      // A reported GC's figures were written before it was reported: after a fresh harvest, one
      // still unpaired never will be.
      this.harvest()
      this.pair()
      this.entries.length = 0
    }
    const newest = this.events[this.events.length - 1]
    if (this.events.length > before && newest !== undefined) for (const l of this.listeners) l(newest.startMs)
    this.trim()
  }

  /** Swap in a fresh profiler, starting it before stopping the old one so no GC falls between. */
  private harvest (): void {
    const old = this.profiler
    if (old === undefined) return
    const next = new v8.GCProfiler()
    next.start()
    const out = old.stop() as unknown as ProfilerOutput
    this.profiler = next
    for (const s of out.statistics) {
      const kind = PROFILER_KIND[s.gcType]
      if (kind === undefined) continue
      this.stats.push({ kind, heapUsedBefore: s.beforeGC.heapStatistics.usedHeapSize, heapUsedAfter: s.afterGC.heapStatistics.usedHeapSize })
    }
  }

  private pair (): void {
    let i = 0
    let j = 0
    const { entries, stats } = this
    while (i < entries.length && j < stats.length) {
      const e = entries[i] as PendingEntry
      const s = stats[j] as PendingStat
      if (e.kind !== s.kind) {
        // Out of step (a GC seen by one source only): drop the figure and try the next one.
        j++
        continue
      }
      this.events.push({ startMs: e.startMs, durationMs: e.durationMs, kind: e.kind, heapUsedBefore: s.heapUsedBefore, heapUsedAfter: s.heapUsedAfter })
      i++
      j++
    }
    entries.splice(0, i)
    stats.splice(0, j)
  }

  private trim (): void {
    const ev = this.events
    const last = ev[ev.length - 1]
    if (last === undefined) return
    const cutoffMs = last.startMs - RETAIN_MS
    let n = 0
    while (n < ev.length && ((ev[n] as TrackedGc).startMs < cutoffMs || ev.length - n > MAX_EVENTS)) n++
    if (n > 0) {
      this.trimmedUntilMs = (ev[n - 1] as TrackedGc).startMs
      ev.splice(0, n)
    }
  }
}

/** The process's tracker. */
export const gcTracker = new GcTracker()
