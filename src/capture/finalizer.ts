import type { MemoryRecord } from '../record/types.ts'
import type { MemoryWindow } from './backend.ts'
import { windowFigures, round3 } from './figures.ts'
import type { GcTracker } from './gc-tracker.ts'

/**
 * Turns a closed window into a MemoryRecord, and completes records whose GCs were reported after
 * the response. Nothing is scheduled per request (a per-request setImmediate kept the event loop
 * from blocking in poll and cost more than all the measuring): GC reports arrive in order, so a
 * record is final once a GC that started after its window has been reported, or when a reader asks
 * for it (after one turn of the loop, when Node has delivered the reports of earlier GCs).
 */
export class MemoryFinalizer {
  /**
   * Records waiting for their final figures: a ring of `capacity` slots, oldest at `head`. Parallel
   * arrays, and the window's times as numbers (its sizes are in the record), so waiting keeps no
   * object of a request's but its record.
   */
  private readonly ids: Array<string | undefined>
  private readonly memories: Array<MemoryRecord | undefined>
  private readonly starts: Float64Array
  private readonly ends: Float64Array
  private readonly forcedFrom: Float64Array
  private head = 0
  private count = 0
  private readonly tracker: GcTracker
  /** Told the id of a record whose figures changed after it was built (its size changed too). */
  private readonly onRevised: ((id: string) => void) | undefined

  constructor (tracker: GcTracker, capacity: number, onRevised?: (id: string) => void) {
    this.tracker = tracker
    this.onRevised = onRevised
    this.ids = new Array<string | undefined>(capacity).fill(undefined)
    this.memories = new Array<MemoryRecord | undefined>(capacity).fill(undefined)
    this.starts = new Float64Array(capacity)
    this.ends = new Float64Array(capacity)
    this.forcedFrom = new Float64Array(capacity)
  }

  /** A record's memory figures from its window and the GCs known so far (`gcs`, when the caller already asked the tracker). */
  build (backend: string, w: MemoryWindow, overlapping: number, overheadMs: number, precise: boolean, notes: string[], gcs = this.tracker.between(w.startMs, w.endMs)): MemoryRecord {
    const f = windowFigures(w, gcs)
    if (w.startMs <= this.tracker.trimmedUntilMs) notes.push('Some GCs of this long request were dropped from the tracker: peak and allocated bytes may be low.')
    return {
      backend,
      heapUsedBefore: w.heapUsedBefore,
      heapUsedAfter: w.heapUsedAfter,
      heapUsedDelta: w.heapUsedAfter - w.heapUsedBefore,
      peakHeapUsed: f.peakHeapUsed,
      allocatedBytes: f.allocatedBytes,
      externalBefore: w.externalBefore,
      externalAfter: w.externalAfter,
      externalDelta: w.externalAfter - w.externalBefore,
      gc: { count: f.gc.count, pauseMs: f.gc.pauseMs, forced: f.gc.forced, events: f.gc.events },
      overlapping,
      overheadMs: round3(overheadMs),
      precise,
      final: !this.tracker.active,
      notes
    }
  }

  /** Keep this record's window until its GCs are known. */
  finalizeLater (id: string, window: MemoryWindow, memory: MemoryRecord): void {
    if (memory.final) return
    const cap = this.ids.length
    // Bounded: the oldest window closed many requests ago, so its GCs have long been reported
    // (no sync() here: taking the observer's records on every request costs more than the rest),
    // though maybe not yet paired; the toolbar's ring holds as many as its ring store (twice a
    // shared store's count), so that record has left the store and no GC profiler is swapped for
    // it (see docs/performance.md).
    if (this.count === cap) this.completeOldest(false)
    const slot = (this.head + this.count) % cap
    this.ids[slot] = id
    this.memories[slot] = memory
    this.starts[slot] = window.startMs
    this.ends[slot] = window.endMs
    this.forcedFrom[slot] = window.forcedFromMs
    this.count++
  }

  /** GCs up to `newestStartMs` were reported: every window that closed before it is final. */
  readonly onGcReported = (newestStartMs: number): void => {
    while (this.count > 0 && (this.ends[this.head] as number) < newestStartMs) this.completeOldest()
  }

  /** Complete the oldest waiting record and drop it from the ring (with the GCs paired so far unless `pairWaiting`). */
  private completeOldest (pairWaiting = true): void {
    const h = this.head
    const id = this.ids[h] as string
    const m = this.memories[h] as MemoryRecord
    const startMs = this.starts[h] as number
    const endMs = this.ends[h] as number
    const forcedFromMs = this.forcedFrom[h] as number
    this.ids[h] = undefined
    this.memories[h] = undefined
    this.head = (h + 1) % this.ids.length
    this.count--
    if (this.complete(startMs, endMs, forcedFromMs, m, pairWaiting)) this.onRevised?.(id)
  }

  /**
   * Make this record's figures final (a reader asked for it), and every older one's: true once they
   * are. Only a window with a reported GC in it swaps the GC profiler for that GC's figures; with
   * `pair` false none does, and completion stops at the first such window (false).
   */
  async settle (id: string, pair = true): Promise<boolean> {
    if (this.positionOf(id) === -1) return true
    // GC reports reach JavaScript in the check phase after the GC.
    await new Promise<void>((resolve) => { setImmediate(resolve) })
    this.tracker.takeReported()
    // Everything up to this record closed at least a turn ago. Pairing a GC completes older records
    // too (onGcReported), so the position is looked up again each time.
    while (this.positionOf(id) !== -1) {
      if (!pair && this.tracker.waiting(this.starts[this.head] as number, this.ends[this.head] as number)) return false
      this.completeOldest()
    }
    return true
  }

  /** How many records wait ahead of this one (0: it is the oldest), or -1. */
  private positionOf (id: string): number {
    const cap = this.ids.length
    for (let k = 0; k < this.count; k++) if (this.ids[(this.head + k) % cap] === id) return k
    return -1
  }

  /** Make the figures final; true when they changed. */
  private complete (startMs: number, endMs: number, forcedFromMs: number, m: MemoryRecord, pairWaiting: boolean): boolean {
    const gcs = this.tracker.between(startMs, endMs, pairWaiting)
    if (gcs.length === m.gc.count + m.gc.forced) {
      // The GCs known at build time were all of them: the figures stand.
      m.final = true
      return false
    }
    const w: MemoryWindow = { startMs, endMs, forcedFromMs, heapUsedBefore: m.heapUsedBefore, heapUsedAfter: m.heapUsedAfter, externalBefore: m.externalBefore, externalAfter: m.externalAfter }
    const f = windowFigures(w, gcs)
    m.peakHeapUsed = f.peakHeapUsed
    m.allocatedBytes = f.allocatedBytes
    m.gc.count = f.gc.count
    m.gc.pauseMs = f.gc.pauseMs
    m.gc.forced = f.gc.forced
    m.gc.events = f.gc.events
    if (m.allocations !== undefined && 'sites' in m.allocations) m.allocations.gcDuringWindow = f.gc.count
    m.final = true
    return true
  }

  /** Forget everything (on close). */
  clear (): void {
    this.ids.fill(undefined)
    this.memories.fill(undefined)
    this.head = 0
    this.count = 0
  }
}
