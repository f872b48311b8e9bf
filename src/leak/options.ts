/**
 * A leak test's options, with their defaults and validation (coded errors, before anything runs).
 */
import { FST_DEBUG_TOOLBAR_INVALID_OPTION } from '../errors.ts'

/** Where a leak test is, for a progress bar: `done` of `total` in the current phase. */
export interface LeakProgress {
  phase: 'warm-up' | 'calls' | 'snapshot' | 'sampling' | 'analysis'
  done: number
  total: number
}

/** How a leak test runs; every field is optional. */
export interface LeakTestOptions {
  /** Measured calls, after warm-up. @default 30 (5 to 500) */
  calls?: number
  /** Most warm-up calls before measuring; 0 measures from the first call. @default 300 (0 to 5000) */
  maxWarmupCalls?: number
  /** Calls per warm-up block; warm-up ends when three blocks grow the heap alike. @default 10 (1 to 100) */
  warmupBlockCalls?: number
  /**
   * A run is a leak when the low end of the 95% interval is above this many bytes a call: a route
   * that keeps nothing drifts by up to a few hundred bytes a call on a busy machine (docs/leaks.md). @default 512
   */
  thresholdBytes?: number
  /** Take heap snapshots before the first and after the last call, and diff them. @default true */
  snapshots?: boolean
  /** Refuse snapshots when the used heap is above this many bytes. @default 1 GiB */
  maxSnapshotHeapBytes?: number
  /** Folder for the .heapsnapshot files. @default a new folder under the OS temp dir */
  snapshotDir?: string
  /** Keep the .heapsnapshot files (their paths are in the report); otherwise they are deleted once diffed. @default false */
  keepSnapshots?: boolean
  /** Show V8 builtins (`split`, `push`, `JSON.parse`...) as sites of their own instead of counting them toward their caller. @default false */
  separateBuiltins?: boolean
  /** Average bytes between allocation samples. @default 1024 */
  samplingIntervalBytes?: number
  /** Most types and sites listed. @default 10 types, 20 sites */
  maxTypes?: number
  maxSites?: number
  /** Cancels the run (between calls); the promise rejects with the signal's reason. */
  signal?: AbortSignal
  /** Called after every call and phase. */
  onProgress?: (progress: LeakProgress) => void
  /** Requests of the app in flight right now; the run refuses to start when it is above 0. */
  inFlight?: () => number
}

/** Options with every default filled in. */
export interface ResolvedLeakOptions {
  calls: number
  maxWarmupCalls: number
  warmupBlockCalls: number
  thresholdBytes: number
  snapshots: boolean
  maxSnapshotHeapBytes: number
  snapshotDir: string | undefined
  keepSnapshots: boolean
  separateBuiltins: boolean
  samplingIntervalBytes: number
  maxTypes: number
  maxSites: number
  signal: AbortSignal | undefined
  onProgress: ((progress: LeakProgress) => void) | undefined
  inFlight: (() => number) | undefined
}

/** Fewest and most measured calls. */
export const MIN_CALLS = 5
export const MAX_CALLS = 500

function int (value: unknown, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new FST_DEBUG_TOOLBAR_INVALID_OPTION(name, `expected an integer from ${min} to ${max}, got ${String(value)}`)
  }
  return value
}

function bool (value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw new FST_DEBUG_TOOLBAR_INVALID_OPTION(name, `expected true or false, got ${String(value)}`)
  return value
}

function fn<T> (value: unknown, name: string): T | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'function') throw new FST_DEBUG_TOOLBAR_INVALID_OPTION(name, 'expected a function')
  return value as T
}

/** Defaults filled in; throws FST_DEBUG_TOOLBAR_INVALID_OPTION naming the first bad option. */
export function resolveLeakOptions (input: LeakTestOptions = {}): ResolvedLeakOptions {
  if (input === null || typeof input !== 'object') throw new FST_DEBUG_TOOLBAR_INVALID_OPTION('options', 'expected an object')
  const signal = input.signal
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new FST_DEBUG_TOOLBAR_INVALID_OPTION('signal', 'expected an AbortSignal')
  const dir = input.snapshotDir
  if (dir !== undefined && (typeof dir !== 'string' || dir === '')) throw new FST_DEBUG_TOOLBAR_INVALID_OPTION('snapshotDir', 'expected a folder path')
  return {
    calls: int(input.calls, 'calls', 30, MIN_CALLS, MAX_CALLS),
    maxWarmupCalls: int(input.maxWarmupCalls, 'maxWarmupCalls', 300, 0, 5000),
    warmupBlockCalls: int(input.warmupBlockCalls, 'warmupBlockCalls', 10, 1, 100),
    thresholdBytes: int(input.thresholdBytes, 'thresholdBytes', 512, 0, 2 ** 40),
    snapshots: bool(input.snapshots, 'snapshots', true),
    maxSnapshotHeapBytes: int(input.maxSnapshotHeapBytes, 'maxSnapshotHeapBytes', 2 ** 30, 1, 2 ** 50),
    snapshotDir: dir,
    keepSnapshots: bool(input.keepSnapshots, 'keepSnapshots', false),
    separateBuiltins: bool(input.separateBuiltins, 'separateBuiltins', false),
    samplingIntervalBytes: int(input.samplingIntervalBytes, 'samplingIntervalBytes', 1024, 1, 2 ** 30),
    maxTypes: int(input.maxTypes, 'maxTypes', 10, 1, 1000),
    maxSites: int(input.maxSites, 'maxSites', 20, 1, 1000),
    signal,
    onProgress: fn(input.onProgress, 'onProgress'),
    inFlight: fn(input.inFlight, 'inFlight')
  }
}
