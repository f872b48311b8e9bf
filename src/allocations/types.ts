/**
 * Allocation sites: what the sampling heap profiler saw during one request, as plain data.
 *
 * Capture (src/capture/sampler.ts) turns V8's sampling profile into an `AllocationProfile` (a
 * call tree with self bytes); src/allocations/sites.ts sums it into an `AllocationsRecord` (the top
 * sites, for the record and its JSON). src/allocations/ and src/panels/ group, filter and compare
 * them; nothing there touches V8 or Fastify.
 */

/** Which sampler produced the samples. */
export type SamplerKind = 'native' | 'inspector'

/**
 * What the samples stand for:
 * - `allocated`: sampled while the request ran and not yet collected when it ended (native sampler;
 *   objects a GC inside the request freed drop out, see `gcDuringWindow`).
 * - `retained`: sampled while the request ran and still alive after a forced full GC at its end
 *   (inspector sampler).
 */
export type SampleMeaning = 'allocated' | 'retained'

/**
 * How sites count V8 builtins (`split`, `push`, `JSON.parse`, iterator `next`): `folded` adds their
 * bytes to the nearest JavaScript function that called them (src/allocations/builtins.ts), `apart`
 * lists them as sites of their own, as V8 reports them.
 */
export type BuiltinsView = 'folded' | 'apart'

/** One frame of a stack. Locations are where the *function* is defined (V8 attributes per function), 1-based. */
export interface AllocationFrame {
  functionName: string
  /** Script URL as V8 reports it (file:///..., node:internal/..., or '' for native code). */
  url: string
  /** 1-based line and column of the function's definition; 0 when unknown. */
  line: number
  column: number
  /** Source-mapped location (e.g. the playground's .ts file), when a source map was found. */
  source?: { url: string, line: number, column: number }
}

/** One allocation site: a function that allocated directly (self bytes), with its heaviest stack. */
export interface AllocationSite extends AllocationFrame {
  /** Estimated bytes (V8 scales samples by the interval), self only. */
  bytes: number
  /** Samples taken in this function. */
  samples: number
  /** The heaviest call path to this site, outermost caller first, the site itself last. */
  stack: AllocationFrame[]
}

/** `memory.allocations` in a record. */
export interface AllocationsRecord {
  sampler: SamplerKind
  meaning: SampleMeaning
  /** Average bytes between samples. */
  intervalBytes: number
  /** Deepest stack recorded. */
  stackDepth: number
  /** Sum of every sample's estimated bytes. */
  sampledBytes: number
  samples: number
  /** How `sites` count V8 builtins: the record keeps them folded into their callers. */
  builtins: BuiltinsView
  /** Top sites by bytes (at most `maxSites`), heaviest first. */
  sites: AllocationSite[]
  /** Sites beyond `sites` (not listed), and their bytes. */
  otherSites: number
  otherBytes: number
  /** The sampler's own time for this request, ms (start + read + stop; for inspector, includes its forced GC). */
  overheadMs: number
  /** GCs during the window (native: what they freed is not in the samples). */
  gcDuringWindow: number
  /** Whether the full call tree is kept (for the flame graph and the .heapprofile download). */
  hasProfile: boolean
  /**
   * V8 took no sample in this window (no new sample handle, no GC), so the profile was not read:
   * reading costs tens of µs however little was sampled, because V8 walks every loaded script.
   */
  unread?: boolean
}

/**
 * Why a request has no allocation samples, when sampling was on: the profiler was busy with another
 * request, owned by someone else, failed, or this request was not chosen.
 */
export interface AllocationsSkipped {
  skipped: 'busy' | 'owned-elsewhere' | 'unavailable' | 'not-sampled' | 'failed'
  /** A sentence for the panel. */
  reason: string
}

/** A node of the call tree, V8's shape with 1-based locations. `selfBytes` are estimated bytes. */
export interface ProfileNode {
  id: number
  frame: AllocationFrame
  selfBytes: number
  selfSamples: number
  children: ProfileNode[]
}

/** The call tree kept per sampled request (counted against the store's byte cap). */
export interface AllocationProfile {
  sampler: SamplerKind
  meaning: SampleMeaning
  intervalBytes: number
  root: ProfileNode
}
