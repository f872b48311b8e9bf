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

/** One request's measurement. stop() is idempotent: a second call returns the same window. */
export interface Measurement {
  stop (): MemoryWindow
}

/** One way of measuring memory. Stateless; per-request state lives in the Measurement. */
export interface MemoryBackend {
  readonly id: string
  start (): Measurement
  close? (): void | Promise<void>
}
