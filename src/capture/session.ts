import type { MemoryRecord } from '../record.ts'
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
  /** Records waiting for their final figures, oldest first, from `head` on (a queue without splices). */
  private pending: Array<{ id: string, window: MemoryWindow, memory: MemoryRecord } | undefined> = []
  private head = 0
  private readonly tracker: GcTracker
  private readonly maxPending: number

  constructor (tracker: GcTracker, maxPending: number) {
    this.tracker = tracker
    this.maxPending = maxPending
  }

  /** A record's memory figures from its window and the GCs known so far. */
  build (backend: string, w: MemoryWindow, overlapping: number, overheadMs: number, precise: boolean, notes: string[]): MemoryRecord {
    const f = windowFigures(w, this.tracker.between(w.startMs, w.endMs))
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
    this.pending.push({ id, window, memory })
    // Bounded: the oldest windows closed many requests ago, so their GCs have long been reported
    // (no sync() here: taking the observer's records on every request costs more than the rest).
    if (this.pending.length - this.head > this.maxPending) this.completeUpTo(this.pending.length - this.maxPending)
  }

  /** GCs up to `newestStartMs` were reported: every window that closed before it is final. */
  readonly onGcReported = (newestStartMs: number): void => {
    let end = this.head
    while (end < this.pending.length && (this.pending[end] as { window: MemoryWindow }).window.endMs < newestStartMs) end++
    this.completeUpTo(end)
  }

  /** Complete the pending records before index `end`, and drop them from the queue. */
  private completeUpTo (end: number): void {
    for (; this.head < end; this.head++) {
      const p = this.pending[this.head] as { window: MemoryWindow, memory: MemoryRecord }
      this.pending[this.head] = undefined
      this.complete(p.window, p.memory)
    }
    if (this.head === this.pending.length) {
      this.pending.length = 0
      this.head = 0
    } else if (this.head > 1024 && this.head * 2 > this.pending.length) {
      this.pending = this.pending.slice(this.head)
      this.head = 0
    }
  }

  /** Resolves once this record's figures are final (a reader asked for it). */
  async settle (id: string): Promise<void> {
    if (this.indexOf(id) === -1) return
    // GC reports reach JavaScript in the check phase after the GC.
    await new Promise<void>((resolve) => { setImmediate(resolve) })
    this.tracker.sync()
    const i = this.indexOf(id)
    // Everything up to this record closed at least a turn ago: complete them all.
    if (i !== -1) this.completeUpTo(i + 1)
  }

  private indexOf (id: string): number {
    for (let i = this.head; i < this.pending.length; i++) if (this.pending[i]?.id === id) return i
    return -1
  }

  private complete (w: MemoryWindow, m: MemoryRecord): void {
    const gcs = this.tracker.between(w.startMs, w.endMs)
    if (gcs.length === m.gc.count + m.gc.forced) {
      // The GCs known at build time were all of them: the figures stand.
      m.final = true
      return
    }
    const f = windowFigures(w, gcs)
    m.peakHeapUsed = f.peakHeapUsed
    m.allocatedBytes = f.allocatedBytes
    m.gc.count = f.gc.count
    m.gc.pauseMs = f.gc.pauseMs
    m.gc.forced = f.gc.forced
    m.gc.events = f.gc.events
    if (m.allocations !== undefined && 'sites' in m.allocations) m.allocations.gcDuringWindow = f.gc.count
    m.final = true
  }

  /** Forget everything (on close). */
  clear (): void {
    this.pending = []
    this.head = 0
  }
}
