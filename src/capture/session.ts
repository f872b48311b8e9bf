import type { MemoryRecord } from '../record.ts'
import type { MemoryWindow } from './backend.ts'
import { windowFigures, round3 } from './figures.ts'
import type { GcTracker } from './gc-tracker.ts'

/**
 * Turns a closed window into a MemoryRecord, and completes records whose GCs were reported after
 * the response (the GC observer reports on a later tick). Holds windows only until they are final.
 */
export class MemoryFinalizer {
  /** Records waiting for their final figures, oldest first. */
  private pending: Array<{ id: string, window: MemoryWindow, memory: MemoryRecord }> = []
  private scheduled: NodeJS.Immediate | undefined
  private readonly run = (): void => { this.scheduled = undefined; this.finalizeAll() }

  private readonly tracker: GcTracker

  constructor (tracker: GcTracker) {
    this.tracker = tracker
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

  /** Complete this record once the GCs of its window have been reported (on the next tick at the latest). */
  finalizeLater (id: string, window: MemoryWindow, memory: MemoryRecord): void {
    if (memory.final) return
    this.pending.push({ id, window, memory })
    this.scheduled ??= setImmediate(this.run)
  }

  /**
   * Resolves once this record's figures are final. GC reports reach JavaScript in the check phase
   * after the GC, so a reader in the same tick as the response (app.inject does this) waits for the
   * scheduled immediate instead of reading a window whose GCs are not in yet.
   */
  async settle (id: string): Promise<void> {
    if (!this.pending.some((p) => p.id === id)) return
    await new Promise<void>((resolve) => { setImmediate(resolve) })
    this.finalizeAll()
  }

  /** Complete every pending record. */
  finalizeAll (): void {
    if (this.pending.length === 0) return
    this.tracker.sync()
    const list = this.pending
    this.pending = []
    for (const p of list) this.complete(p.window, p.memory)
  }

  private complete (w: MemoryWindow, m: MemoryRecord): void {
    const f = windowFigures(w, this.tracker.between(w.startMs, w.endMs))
    m.peakHeapUsed = f.peakHeapUsed
    m.allocatedBytes = f.allocatedBytes
    m.gc.count = f.gc.count
    m.gc.pauseMs = f.gc.pauseMs
    m.gc.forced = f.gc.forced
    m.gc.events = f.gc.events
    // After sync() every GC reported by the observer has its figures; GCs of a closed window were
    // reported before this tick's immediates ran, so the figures are final.
    m.final = true
  }

  /** Forget everything (on close). */
  clear (): void {
    if (this.scheduled !== undefined) clearImmediate(this.scheduled)
    this.scheduled = undefined
    this.pending = []
  }
}
