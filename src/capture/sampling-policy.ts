import { performance } from 'node:perf_hooks'
import { summarizeSites, type SiteSummary } from '../allocations/sites.ts'
import type { AllocationProfile, AllocationsRecord, AllocationsSkipped } from '../allocations/types.ts'
import type { ResolvedAllocations } from '../options.ts'
import type { WarnOnce } from '../warn-once.ts'
import type { MemoryWindow } from './backend.ts'
import { round3 } from './figures.ts'
import { chooseSampler, type Sampler, type SamplerRefusal, type SamplingWindow } from './sampler.ts'

/** A request's hold on the allocation sampler, why it has none, or undefined when it is not sampled. */
export type Sampling = SamplingWindow | SamplerRefusal | 'over-budget' | 'unavailable' | undefined

/** What the policy reads and writes on a request's state. */
export interface SamplingSlot {
  precise: boolean
  /** Sampling asked for by header or cookie. */
  sampleAsked: boolean
  sampling: Sampling
  profile: AllocationProfile | undefined
  /** Time spent stopping (and reading) the sampler, ms. */
  samplingMs: number
}

/** The site summary of a window whose profile was not read (V8 took no sample). */
const NO_SITES: SiteSummary = { sampledBytes: 0, samples: 0, sites: [], otherSites: 0, otherBytes: 0 }

/**
 * True when the window certainly took no allocation sample, so its profile need not be read. The
 * sampler keeps one global handle per live sample: no new handle and no GC in the window (a GC frees
 * the handles of collected samples, and of other objects) means no sample. A backend that does not
 * read handle counts leaves them undefined: then nothing can be told, and the profile is read.
 */
export function windowTookNoSample (w: MemoryWindow, gcCount: number): boolean {
  return gcCount === 0 && w.handlesBefore !== undefined && w.handlesAfter !== undefined &&
    w.handlesAfter === w.handlesBefore && w.heapUsedAfter >= w.heapUsedBefore
}

/**
 * A token bucket: `perSecond` tokens a second, at most twice that many saved up, so a page load's
 * burst of requests is sampled whole while sustained load is held to the rate.
 */
export class SamplingBudget {
  private tokens: number
  private lastMs = -Infinity
  private readonly perMs: number
  private readonly capacity: number

  constructor (perSecond: number) {
    this.capacity = 2 * perSecond
    this.tokens = this.capacity
    this.perMs = perSecond / 1000
  }

  /** Spend a token at `nowMs` (performance.now()); false when none is left. */
  take (nowMs: number): boolean {
    this.tokens = Math.min(this.capacity, this.tokens + (nowMs - this.lastMs) * this.perMs)
    this.lastMs = nowMs
    if (this.tokens < 1) return false
    this.tokens--
    return true
  }
}

/**
 * Which requests are sampled (the budget, marked requests) and which one holds the sampler: one
 * request of this app at a time. Made once per registration.
 */
export class SamplingPolicy {
  /** Allocation sampling as configured; false when off. */
  readonly options: ResolvedAllocations | false
  readonly sampler: Sampler | undefined
  /** Why no request gets allocation samples, when sampling is on but unavailable. */
  readonly problem: string | undefined
  private readonly budget: SamplingBudget
  private readonly warnOnce: WarnOnce
  /** Called with the holder before another request takes the sampler: it gives it back if it went away. */
  private readonly reclaim: (holder: SamplingSlot) => void
  /** The request of this app holding the allocation sampler, if any. */
  private holder: SamplingSlot | null = null
  private readonly skips = new Map<string, AllocationsSkipped>()

  constructor (options: ResolvedAllocations | false, log: (message: string) => void, warnOnce: WarnOnce, reclaim: (holder: SamplingSlot) => void) {
    this.options = options
    this.warnOnce = warnOnce
    this.reclaim = reclaim
    let sampler: Sampler | undefined
    let problem: string | undefined
    if (options !== false) {
      const chosen = chooseSampler(options.sampler, options.intervalBytes, options.stackDepth, log)
      if (chosen instanceof Error) {
        problem = chosen.message
        log(`fastify-debug-toolbar: ${chosen.message}; requests go on without allocation sites`)
      } else {
        sampler = chosen
      }
    }
    this.sampler = sampler
    this.problem = problem
    this.budget = new SamplingBudget(options === false ? 1 : options.maxPerSecond)
  }

  /** Start sampling this request at `now` (ms), or note why it is not sampled. */
  start (slot: SamplingSlot, now: number): void {
    const sampling = this.options
    if (sampling === false) return
    if (sampling.requests !== 'all' && !slot.sampleAsked) {
      if (sampling.requests === 'marked') return
      if (!this.budget.take(now)) {
        slot.sampling = 'over-budget'
        return
      }
    }
    const sampler = this.sampler
    if (sampler === undefined) {
      slot.sampling = 'unavailable'
      return
    }
    // The holder may have gone without reaching onSend: take the sampler back.
    if (this.holder !== null) this.reclaim(this.holder)
    const hold = sampler.start()
    slot.sampling = hold
    if (typeof hold === 'object') this.holder = slot
  }

  /**
   * Stop this request's sampler, reading it if V8 took a sample in the window: right after the
   * heap, CPU and loop readings (so none of them counts the read) and before the toolbar builds the
   * record, whose objects are not the request's (inlined into Fastify's onSend hook runner, they
   * would be sampled as Fastify's).
   */
  stop (slot: SamplingSlot, w: MemoryWindow, gcCount: number): void {
    const hold = slot.sampling
    if (typeof hold !== 'object') return
    const t0 = performance.now()
    const noSamples = !slot.precise && windowTookNoSample(w, gcCount)
    this.holder = null
    try {
      slot.profile = hold.stop(noSamples)
    } catch (err) {
      this.warnOnce('sampler', err, `the ${this.sampler?.kind ?? ''} allocation sampler failed; requests go on without allocation sites`)
      slot.sampling = 'failed'
    }
    slot.samplingMs = performance.now() - t0
  }

  /** Give the sampler back without reading it (a request that will not be measured). */
  release (slot: SamplingSlot): void {
    if (typeof slot.sampling === 'object') {
      slot.sampling.abandon()
      slot.sampling = undefined
    }
    if (this.holder === slot) this.holder = null
  }

  /** This request's allocations for its record, from what stop() read. */
  collect (slot: SamplingSlot, gcCount: number): AllocationsRecord | AllocationsSkipped {
    const hold = slot.sampling as Exclude<Sampling, undefined>
    if (typeof hold === 'string') return this.skipped(hold)
    const t0 = performance.now()
    const profile = slot.profile
    const s = this.sampler as Sampler
    const summary = profile === undefined ? NO_SITES : summarizeSites(profile, (this.options as ResolvedAllocations).maxSites)
    const record: AllocationsRecord = {
      sampler: s.kind,
      meaning: s.meaning,
      intervalBytes: s.intervalBytes,
      stackDepth: s.stackDepth,
      sampledBytes: summary.sampledBytes,
      samples: summary.samples,
      builtins: 'folded',
      sites: summary.sites,
      otherSites: summary.otherSites,
      otherBytes: summary.otherBytes,
      overheadMs: round3(slot.samplingMs + performance.now() - t0),
      gcDuringWindow: gcCount,
      hasProfile: profile !== undefined
    }
    if (profile === undefined) record.unread = true
    return record
  }

  /**
   * Why a request has no samples: one frozen object a reason, shared by every record that gives it
   * (most requests under load are over the budget; a string and an object each would add up).
   */
  private skipped (why: SamplerRefusal | 'over-budget' | 'unavailable'): AllocationsSkipped {
    if (why === 'owned-elsewhere') this.warnOnce('sampler-owned', undefined, 'the heap sampling profiler is in use by someone else in this process (another profiler or an inspector client); requests go on without allocation sites')
    else if (why === 'failed') this.warnOnce('sampler', undefined, `the ${this.sampler?.kind ?? ''} allocation sampler could not start; requests go on without allocation sites`)
    let out = this.skips.get(why)
    if (out === undefined) {
      out = Object.freeze(this.skipReason(why))
      this.skips.set(why, out)
    }
    return out
  }

  private skipReason (why: SamplerRefusal | 'over-budget' | 'unavailable'): AllocationsSkipped {
    switch (why) {
      case 'over-budget':
        return { skipped: 'not-sampled', reason: `Over the sampling budget of ${(this.options as ResolvedAllocations).maxPerSecond} requests a second (allocations.maxPerSecond). Turn on the toolbar's Sample switch or send x-debug-toolbar-sample: 1 to sample a request anyway, or set allocations.requests to 'all'.` }
      case 'busy':
        return { skipped: 'busy', reason: 'Another request held the allocation sampler while this one started (one request owns it at a time): no samples rather than someone else\'s.' }
      case 'owned-elsewhere':
        return { skipped: 'owned-elsewhere', reason: 'The heap sampling profiler is in use by someone else in this process (another profiler or an inspector client).' }
      case 'unavailable':
        return { skipped: 'unavailable', reason: `Allocation sampling is unavailable: ${this.problem ?? 'no sampler'}.` }
      case 'failed':
        return { skipped: 'failed', reason: 'The allocation sampler failed for this request; see the server log.' }
    }
  }

  /** Release the sampler (on app close). */
  close (): void {
    this.sampler?.close()
  }
}
