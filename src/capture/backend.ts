/** What a backend measured between start() and stop(): times on the performance.now() clock (ms), sizes in bytes. */
export interface MemoryWindow {
  startMs: number
  endMs: number
  heapUsedBefore: number
  heapUsedAfter: number
  externalBefore: number
  externalAfter: number
  /** GCs starting at or after this time were forced by the toolbar (precise mode); Infinity when none. */
  forcedFromMs: number
  /**
   * V8's used global-handle bytes at both readings, when the backend reads them. The allocation
   * sampler keeps one handle per live sample, so equal readings around a window that met no GC
   * mean it took no sample and its profile need not be read.
   */
  handlesBefore?: number
  handlesAfter?: number
  /** The backend failed: every size is 0 and means nothing. */
  failed?: boolean
}

/** A measurement under way. stop() is idempotent: a second call returns the same window. */
export interface OpenMeasurement {
  stop (): MemoryWindow
}

/**
 * One request's measurement. It is made, with the window's start time, before the allocation
 * sampler starts, and reads nothing until begin(): none of the toolbar's allocations (a timestamp
 * is one) should fall inside the window before its end reading.
 */
export interface Measurement extends OpenMeasurement {
  /** Take the opening reading. */
  begin (): void
}

/** One way of measuring memory. Stateless; per-request state lives in the Measurement. */
export interface MemoryBackend {
  readonly id: string
  /** A measurement of a window opening at `startMs` (performance.now()), not yet begun. */
  create (startMs: number): Measurement
  close? (): void | Promise<void>
}
