/**
 * A leak test: repeat one request through `app.inject` and report what each call leaves behind.
 * Warm-up calls first (until the per-call growth is steady), then a forced full GC, a baseline
 * heap reading and a heap snapshot; every measured call is followed by forced GCs and a reading;
 * then a second snapshot, diffed in a worker thread, and as many calls again under the inspector's
 * allocation sampler (retained mode) for the sites. docs/leaks.md has the method and its costs.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { mkdtempSync, rmSync, unlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import v8 from 'node:v8'
import type { FastifyInstance, InjectOptions } from 'fastify'
import { defaultResolver, summarizeSites } from '../allocations/sites.ts'
import type { AllocationProfile } from '../allocations/types.ts'
import { SnapshotTooLargeError, takeHeapSnapshot } from '../capture/heap-snapshot.ts'
import { PreciseCollector } from '../capture/precise.ts'
import { chooseBackend } from '../capture/backends.ts'
import { chooseSampler, type SamplingWindow } from '../capture/sampler.ts'
import { FST_DEBUG_TOOLBAR_LEAK_TEST_BUSY } from '../errors.ts'
import { diffInWorker, type HeapDiffResult } from './heap-diff.ts'
import { resolveLeakOptions, type LeakProgress, type LeakTestOptions, type ResolvedLeakOptions } from './options.ts'
import { fitLine, fitLineSegments } from './regression.ts'
import type { LeakReport, LeakSite, SamplerOutcome, SnapshotOutcome } from './report.ts'
import { summaryOf, verdictOf } from './verdict.ts'
import { DEFAULT_WARMUP_RULE, isSteady } from './warmup.ts'

/** What `app.inject` takes: its options object, or a URL for a GET. */
export type LeakRequest = InjectOptions | string

/** What is read after every call, as the report names it. */
export const HEAP_MEASURE = 'V8 used heap less new and code space, as the second of two forced full GCs left it'

/** Deepest stack the sampler records. */
const STACK_DEPTH = 64

/** One leak test at a time in a process: the sampler and the forced GCs are process-wide. */
let running = false

/** Whether a leak test is running in this process. */
export function leakTestRunning (): boolean {
  return running
}

/** How the toolbar drives a run (not a public option): who makes each call, and which server requests are the run's own. */
export interface LeakDriver {
  /** Make one call and give its status code; by default `app.inject(request)`. */
  call?: () => Promise<number>
  /** A `http.server.request.start` message that is one of the run's own requests (not counted as overlapping). */
  isOwn?: (message: unknown) => boolean
  /** The toolbar does not record the calls (leaves out the note about its records). */
  unrecorded?: boolean
}

/** Run a leak test of `request` against `app` (see the module comment); rejects with the signal's reason when cancelled. */
export async function runLeakTest (app: FastifyInstance, request: LeakRequest, options?: LeakTestOptions, driver: LeakDriver = {}): Promise<LeakReport> {
  const o = resolveLeakOptions(options)
  if (running) throw new FST_DEBUG_TOOLBAR_LEAK_TEST_BUSY('another leak test is running in this process')
  const inFlight = o.inFlight?.() ?? 0
  if (inFlight > 0) throw new FST_DEBUG_TOOLBAR_LEAK_TEST_BUSY(`${inFlight} other request${inFlight === 1 ? ' is' : 's are'} in flight; their memory would be counted`)
  running = true
  try {
    return await new LeakRun(app, request, o, driver).run()
  } finally {
    running = false
  }
}

/** Yield to the event loop's check phase, so that light-my-request's pending callbacks run and let go of their responses. */
function turn (): Promise<void> {
  return new Promise((resolve) => { setImmediate(resolve) })
}

/** V8's used heap less its code spaces: compiled code grows while V8 tiers up and is not the app's data. */
function heapLessCode (spaces: ReadonlyArray<{ name: string, used: number }>): number {
  let bytes = 0
  for (const s of spaces) {
    if (!s.name.startsWith('code') && !s.name.startsWith('new')) bytes += s.used
  }
  return bytes
}

/** V8's code spaces: they grow when V8 compiles code, and the compiled code's metadata grows the other spaces with them. */
function codeSpace (spaces: ReadonlyArray<{ name: string, used: number }>): number {
  let bytes = 0
  for (const s of spaces) if (s.name.startsWith('code')) bytes += s.used
  return bytes
}

/** What `v8.GCProfiler#stop()` returns, as far as it is read here (its space figures are camel-cased). */
interface ProfilerOutput { statistics: Array<{ gcType: string, afterGC: { heapSpaceStatistics: Array<{ spaceName: string, spaceUsedSize: number }> } }> }

function describe (request: LeakRequest): { method: string, url: string } {
  if (typeof request === 'string') return { method: 'GET', url: request }
  const url = typeof request.url === 'string' ? request.url : (request.path !== undefined && typeof request.path === 'string' ? request.path : '/')
  return { method: (request.method ?? 'GET').toUpperCase(), url }
}

class LeakRun {
  private readonly app: FastifyInstance
  private readonly request: LeakRequest
  private readonly o: ResolvedLeakOptions
  // Only its forced GCs are used: the readings are the leak test's own.
  private readonly collector = new PreciseCollector(chooseBackend())
  private readonly statusCodes: Record<string, number> = {}
  private readonly notes: string[] = []
  private overlapping = 0
  private readonly driver: LeakDriver
  /** Code space at the last reading. */
  private codeBytes = 0
  private readonly onServerRequest = (message: unknown): void => { if (this.driver.isOwn?.(message) !== true) this.overlapping++ }

  constructor (app: FastifyInstance, request: LeakRequest, o: ResolvedLeakOptions, driver: LeakDriver) {
    this.app = app
    this.request = request
    this.o = o
    this.driver = driver
  }

  async run (): Promise<LeakReport> {
    const t0 = performance.now()
    const o = this.o
    let snapshotDir: string | undefined
    let madeDir = false
    let window: SamplingWindow | undefined
    const snapshots: SnapshotOutcome = { status: o.snapshots ? 'taken' : 'off', kept: false }
    subscribe('http.server.request.start', this.onServerRequest)
    try {
      await this.app.ready()
      this.check()

      // Warm-up: blocks of calls made exactly as measured calls are (a reading after each), so
      // that the runner's own code and the timers that fire meanwhile are compiled before
      // measuring; a block's growth per call is the slope through its readings.
      const blockGrowthBytes: number[] = []
      let warmupCalls = 0
      let steady = false
      if (o.maxWarmupCalls > 0) {
        const bx = Float64Array.from({ length: o.warmupBlockCalls + 1 }, (_, i) => i)
        const by = new Float64Array(o.warmupBlockCalls + 1)
        by[0] = await this.read()
        while (warmupCalls < o.maxWarmupCalls && !steady) {
          const block = Math.min(o.warmupBlockCalls, o.maxWarmupCalls - warmupCalls)
          await this.measuredCalls(by, block, 'warm-up', warmupCalls, o.maxWarmupCalls)
          warmupCalls += block
          blockGrowthBytes.push(fitLine(bx.subarray(0, block + 1), by.subarray(0, block + 1)).slope)
          by[0] = by[block] as number
          steady = isSteady(blockGrowthBytes)
        }
      }
      const reason = warmupReason(steady, warmupCalls, o)

      if (o.snapshots) {
        snapshotDir = o.snapshotDir ?? mkdtempSync(join(tmpdir(), 'fastify-debug-toolbar-leak-'))
        madeDir = o.snapshotDir === undefined
        this.progress('snapshot', 0, 2)
        await this.snapshot(snapshots, 'before', join(snapshotDir, 'before.heapsnapshot'))
      }

      // Measured calls.
      const n = o.calls
      const xs = new Float64Array(n + 1)
      const ys = new Float64Array(n + 1)
      const code = new Float64Array(n + 1)
      for (let k = 0; k <= n; k++) xs[k] = k
      if (o.maxWarmupCalls > 0) {
        // The baseline is read after one more call made as the measured ones are: a reading taken
        // right after another one (no call between) read about 2.5 kB lower than the next ones.
        await this.measuredCalls(ys, 1, 'warm-up', warmupCalls, Math.max(o.maxWarmupCalls, warmupCalls + 1))
        warmupCalls++
        ys[0] = ys[1] as number
      } else {
        ys[0] = await this.read()
      }
      code[0] = this.codeBytes
      const pauseMs = await this.measuredCalls(ys, n, 'calls', 0, n, code)
      if (o.snapshots && snapshots.status === 'taken' && snapshotDir !== undefined) {
        this.progress('snapshot', 1, 2)
        await this.snapshot(snapshots, 'after', join(snapshotDir, 'after.heapsnapshot'))
      }

      // The sampler's own pass: running it during the measured calls adds a few hundred bytes a
      // call to the readings (docs/leaks.md), so it gets the same number of calls of its own.
      let samplerOutcome: SamplerOutcome = { status: 'sampled', intervalBytes: o.samplingIntervalBytes, sampledBytesPerCall: 0, builtins: o.separateBuiltins ? 'apart' : 'folded' }
      let profile: AllocationProfile | undefined
      const sampler = chooseSampler('inspector', o.samplingIntervalBytes, STACK_DEPTH, () => {})
      if (sampler instanceof Error) {
        samplerOutcome = { ...samplerOutcome, status: 'failed', message: sampler.message }
      } else {
        try {
          const w = sampler.start()
          if (typeof w === 'string') {
            samplerOutcome = { ...samplerOutcome, status: w === 'failed' ? 'failed' : 'busy', message: `the allocation sampler could not start (${w})` }
          } else {
            window = w
            for (let k = 1; k <= n; k++) {
              await turn()
              await this.call()
              this.check()
              this.progress('sampling', k, n)
            }
            await turn()
            window = undefined
            try {
              // Stopping forces a full GC: what is left is what the calls still hold.
              profile = w.stop(false)
            } catch (err) {
              samplerOutcome = { ...samplerOutcome, status: 'failed', message: `reading the allocation sampler failed: ${(err as Error).message}` }
            }
          }
        } finally {
          window?.abandon()
          window = undefined
          sampler.close()
        }
      }
      const sites = profile === undefined ? [] : this.sites(profile, samplerOutcome)

      let diff: HeapDiffResult | undefined

      if (snapshots.status === 'taken' && snapshots.before !== undefined && snapshots.after !== undefined) {
        this.progress('analysis', 0, 1)
        try {
          // The baseline call falls between the snapshots too.
          diff = await diffInWorker({ beforePath: snapshots.before.path, afterPath: snapshots.after.path, calls: o.maxWarmupCalls > 0 ? n + 1 : n, maxTypes: o.maxTypes, maxPaths: 3 })
          snapshots.diffMs = diff.durationMs
          snapshots.netBytesPerCall = diff.netBytesPerCall
          snapshots.internalBytesPerCall = diff.internalBytesPerCall
        } catch (err) {
          snapshots.status = 'failed'
          snapshots.message = `parsing the heap snapshots failed: ${(err as Error).message}`
        }
        this.progress('analysis', 1, 1)
      }
      if (snapshots.status !== 'taken' && snapshots.status !== 'off') this.notes.push(`No object types: ${snapshots.message ?? 'the heap snapshots failed'}.`)

      // A call during which V8 compiled code (its code space changed) starts a new segment: the
      // compiled code's metadata lands in the measured spaces as a one-off step, not per call.
      const compiledAt: number[] = []
      for (let k = 1; k <= n; k++) if (code[k] !== code[k - 1]) compiledAt.push(k)
      const fit = fitLineSegments(xs, ys, compiledAt)
      const retainedPerCall = { estimate: fit.slope, low: fit.low, high: fit.high }
      const verdict = verdictOf(retainedPerCall, o.thresholdBytes)
      if (this.overlapping > 0) this.notes.push(`${this.overlapping} other HTTP request${this.overlapping === 1 ? ' was' : 's were'} served during the run: ${this.overlapping === 1 ? 'its' : 'their'} memory is in the figures.`)
      const unexpected = Object.keys(this.statusCodes).filter((c) => Number(c) >= 400)
      if (unexpected.length > 0) this.notes.push(`Some calls answered ${unexpected.join(', ')}: the figures are those of the error path.`)
      if (this.driver.unrecorded !== true && this.app.hasPlugin('fastify-debug-toolbar')) this.notes.push('The debug toolbar is registered in this app: the record it keeps of every call is in the figures until its store is full (maxRequests), and its per-request state after that.')
      if (compiledAt.length > 0) this.notes.push(`V8 compiled code during ${compiledAt.length} of the ${n} measured calls: the heap's one-off step at each is left out of the slope.`)
      this.notes.push('Everything this process did during the run is in the figures: timers, other apps, background work.')
      return {
        request: describe(this.request),
        calls: n,
        warmupCalls,
        warmup: { reason, blockGrowthBytes },
        retainedPerCall,
        verdict,
        summary: summaryOf(verdict, retainedPerCall, n, warmupCalls),
        thresholdBytes: o.thresholdBytes,
        heap: {
          measure: HEAP_MEASURE,
          baselineBytes: ys[0] as number,
          afterCallBytes: Array.from(ys.subarray(1)),
          interceptBytes: fit.intercept,
          residualSdBytes: fit.residualSd,
          codeStepCalls: compiledAt
        },
        types: diff?.types ?? [],
        omittedTypes: diff?.omittedTypes ?? 0,
        sites,
        snapshots,
        sampler: samplerOutcome,
        statusCodes: this.statusCodes,
        overlapping: this.overlapping,
        durationMs: performance.now() - t0,
        pausePerCallMs: pauseMs / n,
        notes: this.notes
      }
    } finally {
      unsubscribe('http.server.request.start', this.onServerRequest)
      window?.abandon()
      this.collector.close()
      if (!o.keepSnapshots) {
        for (const f of [snapshots.before, snapshots.after]) {
          if (f !== undefined) try { unlinkSync(f.path) } catch {}
        }
        if (madeDir && snapshotDir !== undefined) try { rmSync(snapshotDir, { recursive: true, force: true }) } catch {}
      } else {
        snapshots.kept = snapshots.before !== undefined
      }
    }
  }

  /**
   * `count` calls, each after a turn of the event loop and followed by a reading into `ys[1..count]`;
   * returns the time spent reading. Warm-up and measured calls share this code, so that it is
   * compiled during warm-up rather than among the measured calls.
   */
  private async measuredCalls (ys: Float64Array, count: number, phase: LeakProgress['phase'], doneBefore: number, total: number, codeBytes?: Float64Array): Promise<number> {
    let pauseMs = 0
    for (let i = 1; i <= count; i++) {
      await turn()
      await this.call()
      this.check()
      const r0 = performance.now()
      ys[i] = await this.read()
      if (codeBytes !== undefined) codeBytes[i] = this.codeBytes
      pauseMs += performance.now() - r0
      this.progress(phase, doneBefore + i, total)
    }
    return pauseMs
  }

  /** One call, its status code counted. */
  private async call (): Promise<void> {
    // light-my-request dispatches on a later tick, so the app's stacks do not pass through here.
    const code = String(this.driver.call === undefined ? (await this.app.inject(this.request as InjectOptions)).statusCode : await this.driver.call())
    this.statusCodes[code] = (this.statusCodes[code] ?? 0) + 1
  }

  /**
   * Turn the event loop, force two full GCs, read the heap as the second GC left it (from
   * `v8.GCProfiler`): a reading taken after the GC would include what the runner allocated since.
   */
  private async read (): Promise<number> {
    await turn()
    await this.collector.collect()
    const profiler = new v8.GCProfiler()
    profiler.start()
    let out: ProfilerOutput | undefined
    try {
      await this.collector.collect()
    } finally {
      out = profiler.stop() as unknown as ProfilerOutput | undefined
    }
    const full = out?.statistics.filter((s) => s.gcType === 'MarkSweepCompact').at(-1)
    const spaces = full === undefined
      ? v8.getHeapSpaceStatistics().map((s) => ({ name: s.space_name, used: s.space_used_size }))
      : full.afterGC.heapSpaceStatistics.map((s) => ({ name: s.spaceName, used: s.spaceUsedSize }))
    this.codeBytes = codeSpace(spaces)
    return heapLessCode(spaces)
  }

  private check (): void {
    const signal = this.o.signal
    if (signal?.aborted === true) throw signal.reason ?? new Error('leak test cancelled')
  }

  private progress (phase: LeakProgress['phase'], done: number, total: number): void {
    try { this.o.onProgress?.({ phase, done, total }) } catch {}
  }

  private async snapshot (outcome: SnapshotOutcome, which: 'before' | 'after', path: string): Promise<void> {
    try {
      outcome[which] = await takeHeapSnapshot(path, this.o.maxSnapshotHeapBytes)
    } catch (err) {
      outcome.status = err instanceof SnapshotTooLargeError ? 'refused' : 'failed'
      outcome.message = err instanceof SnapshotTooLargeError ? err.message : `taking the ${which} heap snapshot failed: ${(err as Error).message}`
    }
  }

  private sites (profile: AllocationProfile, outcome: SamplerOutcome): LeakSite[] {
    const n = this.o.calls
    const summary = summarizeSites(profile, this.o.maxSites, defaultResolver, this.o.separateBuiltins ? 'apart' : 'folded')
    outcome.sampledBytesPerCall = summary.sampledBytes / n
    return summary.sites.map((s) => ({
      functionName: s.functionName,
      url: s.url,
      line: s.line,
      column: s.column,
      ...(s.source === undefined ? {} : { source: s.source }),
      bytes: s.bytes,
      bytesPerCall: s.bytes / n,
      stack: s.stack
    }))
  }
}

function warmupReason (steady: boolean, calls: number, o: ResolvedLeakOptions): string {
  if (o.maxWarmupCalls === 0) return 'warm-up turned off (maxWarmupCalls: 0)'
  const blocks = `${DEFAULT_WARMUP_RULE.steadyBlocks} blocks of ${o.warmupBlockCalls} calls`
  if (steady) return `the heap's growth per call was steady over the last ${blocks} after ${calls} calls`
  return `stopped at the cap of ${o.maxWarmupCalls} calls (maxWarmupCalls) before the growth per call was steady over ${blocks}; the figures may still include warm-up`
}
