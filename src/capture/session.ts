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
  /** Records waiting for their final figures, oldest first. */
  private pending: Array<{ id: string, window: MemoryWindow, memory: MemoryRecord }> = []
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
    // Bounded: the oldest windows closed many requests ago, so their GCs have long been reported.
    if (this.pending.length > this.maxPending) {
      this.tracker.sync()
      for (const p of this.pending.splice(0, this.pending.length - this.maxPending)) this.complete(p.window, p.memory)
    }
  }

  /** GCs up to `newestStartMs` were reported: every window that closed before it is final. */
  readonly onGcReported = (newestStartMs: number): void => {
    let n = 0
    while (n < this.pending.length && (this.pending[n] as { window: MemoryWindow }).window.endMs < newestStartMs) n++
    if (n === 0) return
    for (const p of this.pending.splice(0, n)) this.complete(p.window, p.memory)
  }

  /** Resolves once this record's figures are final (a reader asked for it). */
  async settle (id: string): Promise<void> {
    if (!this.pending.some((p) => p.id === id)) return
    // GC reports reach JavaScript in the check phase after the GC.
    await new Promise<void>((resolve) => { setImmediate(resolve) })
    this.tracker.sync()
    const i = this.pending.findIndex((p) => p.id === id)
    if (i === -1) return
    // Everything up to this record closed at least a turn ago: complete them all.
    for (const p of this.pending.splice(0, i + 1)) this.complete(p.window, p.memory)
  }

  private complete (w: MemoryWindow, m: MemoryRecord): void {
    const f = windowFigures(w, this.tracker.between(w.startMs, w.endMs))
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
  }
}
