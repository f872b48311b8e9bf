/**
 * A leak test's report: plain, JSON-serialisable data (bytes, ms), the same for the toolbar and
 * for `fastify-debug-toolbar/testing`.
 */
import type { AllocationFrame } from '../allocations/types.ts'
import type { HeapSnapshotFile } from '../capture/heap-snapshot.ts'
import type { GrownType } from './heap-diff.ts'
import type { LeakVerdict, RetainedPerCall } from './verdict.ts'

export type { GrownType } from './heap-diff.ts'
export type { LeakVerdict, RetainedPerCall } from './verdict.ts'

/** A function whose allocations the calls still hold at the end (the retained sampler's site). */
export interface LeakSite extends AllocationFrame {
  /** Estimated bytes still held at the end, and per call. */
  bytes: number
  bytesPerCall: number
  /** Its heaviest stack, outermost caller first, the site last. */
  stack: AllocationFrame[]
}

/** What became of the heap snapshots. */
export interface SnapshotOutcome {
  /** `off` when not asked for; `refused` above maxSnapshotHeapBytes; `failed` when taking or diffing one failed. */
  status: 'taken' | 'off' | 'refused' | 'failed'
  /** Why they were refused or what failed. */
  message?: string
  before?: HeapSnapshotFile
  after?: HeapSnapshotFile
  /** Parsing and diffing both, in a worker thread, ms. */
  diffMs?: number
  /** Net self bytes the snapshots grew by per call, and V8's own part of it (compiled code, object shapes, system objects). */
  netBytesPerCall?: number
  internalBytesPerCall?: number
  /** Whether the files are still on disk (keepSnapshots). */
  kept: boolean
}

/** What became of the allocation sampler. */
export interface SamplerOutcome {
  status: 'sampled' | 'busy' | 'failed'
  message?: string
  intervalBytes: number
  /** Sum of every retained sample's estimated bytes, per call. */
  sampledBytesPerCall: number
  /** Whether builtins count toward their caller (`folded`) or stand apart. */
  builtins: 'folded' | 'apart'
}

/** The report of one leak test. */
export interface LeakReport {
  request: { method: string, url: string }
  /** Measured calls (warm-up not included). */
  calls: number
  warmupCalls: number
  warmup: {
    /** Why warm-up ended where it did. */
    reason: string
    /** Per-call heap growth over each warm-up block, bytes. */
    blockGrowthBytes: number[]
  }
  /** The least-squares slope of the post-GC heap against the call number (one slope, a step allowed where V8 compiled code), bytes a call, with its 95% interval. */
  retainedPerCall: RetainedPerCall
  verdict: LeakVerdict
  /** One line, for people and assertion messages. */
  summary: string
  /** The low end of the interval must exceed this for a leak, bytes a call. */
  thresholdBytes: number
  heap: {
    /** What is read after every call. */
    measure: string
    /** Reading before the first measured call, and after each call (index k is after call k + 1). */
    baselineBytes: number
    afterCallBytes: number[]
    /** The fitted line: bytes = intercept + slope × call number (0 is the baseline). */
    interceptBytes: number
    residualSdBytes: number
    /** Measured calls during which V8 compiled code: the fit allows a one-off step in the heap at each. */
    codeStepCalls: number[]
  }
  /** Object types that grew with the number of calls between the two snapshots, largest first. */
  types: GrownType[]
  /** Types that grew, but less than once every two calls (left out of `types`). */
  omittedTypes: number
  /** Sites whose allocations are still held after the last call, largest first. */
  sites: LeakSite[]
  snapshots: SnapshotOutcome
  sampler: SamplerOutcome
  /** Status codes the calls got, and how many of each. */
  statusCodes: Record<string, number>
  /** HTTP requests the process served during the run (their memory is in the figures). */
  overlapping: number
  durationMs: number
  /** Forced GCs and the heap reading after each measured call, mean ms (the process pauses for them). */
  pausePerCallMs: number
  /** Things to know when reading the figures. */
  notes: string[]
}
