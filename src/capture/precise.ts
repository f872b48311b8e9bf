import { Session } from 'node:inspector/promises'
import { performance } from 'node:perf_hooks'
import type { MemoryBackend, MemoryWindow, OpenMeasurement } from './backend.ts'

/**
 * Precise mode: a full GC (the inspector's HeapProfiler.collectGarbage, no --expose-gc needed) just
 * before the window opens and just before it closes, so the heap delta is what the request retained.
 * Costs three full GCs per request (two before, one after), each about 5 ms on a ~10 MB heap and
 * tens of ms on a larger one; V8 may run several collections for each.
 */
export class PreciseCollector {
  private session: Session | undefined
  /** What the window is measured with once the GCs are done. */
  private readonly backend: MemoryBackend

  constructor (backend: MemoryBackend) {
    this.backend = backend
  }

  /** Force a full GC and wait for it. */
  async collect (): Promise<void> {
    if (this.session === undefined) {
      this.session = new Session()
      this.session.connect()
    }
    await this.session.post('HeapProfiler.collectGarbage')
  }

  /**
   * Open a window after a forced GC. `beforeBaseline` runs between the GCs and the baseline reading
   * (the plugin starts the allocation sampler there: starting it makes V8 give up its allocation
   * buffer, which would otherwise read as the heap shrinking inside the window).
   */
  async start (beforeBaseline?: () => void): Promise<PreciseMeasurement> {
    // Twice: one full GC can leave work for the next (weak callbacks, flushed bytecode), which
    // would otherwise be freed by the closing GC and read as a negative delta of a few hundred kB.
    await this.collect()
    await this.collect()
    const inner = this.backend.create(performance.now())
    beforeBaseline?.()
    inner.begin()
    return new PreciseMeasurement(this, inner)
  }

  close (): void {
    this.session?.disconnect()
    this.session = undefined
  }
}

/** A backend's measurement whose stop is preceded by a forced GC (call settle() first). */
export class PreciseMeasurement implements OpenMeasurement {
  private forcedFromMs = Infinity
  private readonly collector: PreciseCollector
  private readonly inner: OpenMeasurement

  constructor (collector: PreciseCollector, inner: OpenMeasurement) {
    this.collector = collector
    this.inner = inner
  }

  /** Force the closing GC; the window's end reading is taken after it. */
  async settle (): Promise<void> {
    this.forcedFromMs = performance.now()
    await this.collector.collect()
  }

  stop (): MemoryWindow {
    const w = this.inner.stop()
    w.forcedFromMs = this.forcedFromMs
    return w
  }
}
