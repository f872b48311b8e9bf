import { createRequire } from 'node:module'
import { Session } from 'node:inspector'
import { performance } from 'node:perf_hooks'
import type { AllocationFrame, AllocationProfile, ProfileNode, SampleMeaning, SamplerKind } from '../allocations/types.ts'

/**
 * V8's sampling heap profiler, one per process: a second start is a silent no-op and a second stop
 * throws. Both samplers below drive it, so one request at a time owns it, process-wide (two apps in
 * one process share this).
 */
let owner: object | null = null

/** A request's hold on the profiler. */
export interface SamplingWindow {
  /**
   * Read the samples and give the profiler back; undefined when `noSamples` says V8 took none and
   * this sampler can skip the read (the native one: reading walks every loaded script). Throws when
   * the sampler failed; the profiler is released either way.
   */
  stop (noSamples: boolean): AllocationProfile | undefined
  /** Give the profiler back without reading (an aborted request). */
  abandon (): void
}

/** Why a window could not open. */
export type SamplerRefusal = 'busy' | 'owned-elsewhere' | 'failed'

/** One way of driving the sampling heap profiler. */
export interface Sampler {
  readonly kind: SamplerKind
  readonly meaning: SampleMeaning
  readonly intervalBytes: number
  readonly stackDepth: number
  /** Open a window, or say why not. Never throws. */
  start (): SamplingWindow | SamplerRefusal
  /** Release everything (on app close). */
  close (): void
}

/** What V8 returns through @datadog/pprof's `heap.v8Profile()`: 1-based locations. */
export interface NativeNode {
  name: string
  scriptName: string
  lineNumber: number
  columnNumber: number
  allocations: Array<{ sizeBytes: number, count: number }>
  children: NativeNode[]
}

interface NativeHeap {
  start (intervalBytes: number, stackDepth: number): void
  stop (): void
  v8Profile (): NativeNode
}

/** What the inspector's HeapProfiler returns: 0-based locations, selfSize in bytes. */
interface InspectorNode {
  callFrame: { functionName: string, url: string, lineNumber: number, columnNumber: number }
  selfSize: number
  id: number
  children: InspectorNode[]
}

interface InspectorProfile { head: InspectorNode, samples: Array<{ size: number, nodeId: number }> }

let nativeHeap: NativeHeap | Error | undefined

/** @datadog/pprof's heap profiler, loaded once a process (or why it cannot be). */
function loadNativeHeap (): NativeHeap | Error {
  nativeHeap ??= requireNativeHeap()
  return nativeHeap
}

/**
 * Load @datadog/pprof's heap profiler (an optional dependency with prebuilt binaries): the heap
 * module, or the reason it is unavailable.
 */
function requireNativeHeap (): NativeHeap | Error {
  try {
    const require = createRequire(import.meta.url)
    const pprof = require('@datadog/pprof') as { heap?: NativeHeap }
    if (pprof.heap === undefined || typeof pprof.heap.start !== 'function') return new Error('@datadog/pprof has no heap profiler')
    return pprof.heap
  } catch (err) {
    return err as Error
  }
}

/**
 * The native sampler: @datadog/pprof drives V8's sampler without forcing a GC, so reading costs the
 * same at any heap size. Samples are objects allocated in the window and not yet collected when it
 * closes (`allocated`).
 *
 * It and its windows are classes: a window a request, with its methods on a prototype rather than
 * closures made for every request.
 */
class NativeSampler implements Sampler {
  readonly kind = 'native'
  readonly meaning = 'allocated'
  /**
   * Check the next window for someone else's samples: on the first window and after a failure.
   * Reading a profile costs tens of µs (V8 walks every loaded script), so not on every window.
   */
  probe = true
  /**
   * Our last start reached @datadog/pprof, but V8 ignored it: its sampler was running for someone
   * else (an inspector client). pprof then counts the sampler as ours and refuses every later start,
   * so until V8's sampler is gone (see unstrand) the toolbar stands aside.
   */
  private stranded = false
  private strandedCheckedMs = -Infinity

  readonly heap: NativeHeap
  readonly intervalBytes: number
  readonly stackDepth: number

  constructor (heap: NativeHeap, intervalBytes: number, stackDepth: number) {
    this.heap = heap
    this.intervalBytes = intervalBytes
    this.stackDepth = stackDepth
  }

  start (): SamplingWindow | SamplerRefusal {
    if (owner !== null) return 'busy'
    if (this.stranded && !this.unstrand()) return 'owned-elsewhere'
    const heap = this.heap
    // Made before the sampler starts, so that it is not an allocation in the window.
    const window = new NativeWindow(this)
    try {
      heap.start(this.intervalBytes, this.stackDepth)
    } catch {
      // @datadog/pprof refuses a second start: someone else in this process profiles the heap.
      return 'owned-elsewhere'
    }
    // V8 ignores a start while its sampler runs for someone else (an inspector client, another copy
    // of the module): a fresh sampler has no samples but our own (this very check can be sampled),
    // theirs does; leave theirs running.
    if (this.probe) {
      try {
        if (hasForeignSamples(heap.v8Profile(), this.intervalBytes)) {
          this.stranded = true
          this.strandedCheckedMs = performance.now()
          return 'owned-elsewhere'
        }
      } catch {
        heap.stop()
        return 'failed'
      }
      this.probe = false
    }
    owner = window
    return window
  }

  /**
   * Whether the sampler someone else was running has stopped, checked at most once a second (the
   * check reads their whole profile). Once it has, V8 has no sampler and pprof's refusal is all that
   * is left: stop pprof's (which stops nothing in V8) and probe the next window afresh.
   */
  private unstrand (): boolean {
    const now = performance.now()
    if (now - this.strandedCheckedMs < STRANDED_CHECK_MS) return false
    this.strandedCheckedMs = now
    try {
      this.heap.v8Profile()
      return false
    } catch {
      // "Heap profiler is not enabled": V8's sampler is gone.
      try { this.heap.stop() } catch {}
      this.stranded = false
      this.probe = true
      return true
    }
  }

  close (): void {}
}

/** How often a stranded native sampler looks whether the other sampler has stopped, ms. */
const STRANDED_CHECK_MS = 1000

class NativeWindow implements SamplingWindow {
  private open = true
  private readonly sampler: NativeSampler

  constructor (sampler: NativeSampler) {
    this.sampler = sampler
  }

  stop (noSamples: boolean): AllocationProfile | undefined {
    const sampler = this.sampler
    try {
      return noSamples ? undefined : fromNative(sampler.heap.v8Profile(), sampler.intervalBytes)
    } catch (err) {
      sampler.probe = true
      throw err
    } finally {
      this.abandon()
    }
  }

  abandon (): void {
    if (!this.open) return
    this.open = false
    owner = null
    this.sampler.heap.stop()
  }
}

/**
 * The inspector sampler: `node:inspector`'s HeapProfiler, which needs no native module. Its stop
 * forces a full GC (milliseconds, growing with the heap), after which the samples are exactly what
 * the window allocated and still holds (`retained`).
 */
function inspectorSampler (intervalBytes: number, stackDepth: number): Sampler {
  let session: Session | undefined
  function post<T> (method: string, params?: object): T {
    // A session on the main thread answers synchronously.
    let result: { err: Error | null, value: T | undefined } | undefined
    const s = session ?? connect()
    s.post(method, params, (err: Error | null, value?: object) => { result = { err, value: value as T | undefined } })
    if (result === undefined) throw new Error(`inspector ${method} did not answer synchronously`)
    if (result.err !== null) throw result.err
    return result.value as T
  }
  function connect (): Session {
    session = new Session()
    session.connect()
    session.post('HeapProfiler.enable')
    return session
  }
  return {
    kind: 'inspector',
    meaning: 'retained',
    intervalBytes,
    stackDepth,
    start () {
      if (owner !== null) return 'busy'
      try {
        post('HeapProfiler.startSampling', { samplingInterval: intervalBytes, stackDepth })
      } catch {
        return 'failed'
      }
      const token = {}
      owner = token
      let open = true
      return {
        stop () {
          try {
            const { profile } = post<{ profile: InspectorProfile }>('HeapProfiler.stopSampling')
            return fromInspector(profile, intervalBytes)
          } finally {
            open = false
            owner = null
          }
        },
        abandon () {
          if (!open) return
          open = false
          owner = null
          try { post('HeapProfiler.stopSampling') } catch {}
        }
      }
    },
    close () {
      if (session === undefined) return
      try { session.disconnect() } catch {}
      session = undefined
    }
  }
}

/** True while some request owns the profiler (tests). */
export function samplerBusy (): boolean {
  return owner !== null
}

/** This package's own code (src/ under tsx, dist/ when built) and the native sampler's JS. */
const OWN_URL = new URL('../', import.meta.url).href
const OWN_PACKAGES = ['/node_modules/@datadog/pprof/']

/**
 * The toolbar's hooks and the callbacks that resume a request: Fastify runs the rest of the request
 * (the app's code) inside them, so they are spliced out of the tree and their children kept.
 */
const PASS_THROUGH = new Set(['onRequest', 'onSend', ''])

/**
 * What the profile does with a frame: the toolbar's own helpers (reading the samples, building
 * headers, injecting) allocate for the toolbar, not the app, and their subtrees are dropped; its
 * hooks pass through; everything else is the app's.
 */
function ownership (url: string, functionName: string): 'app' | 'pass-through' | 'drop' {
  if (!isOwnFrame(url)) return 'app'
  return PASS_THROUGH.has(functionName) ? 'pass-through' : 'drop'
}

function isOwnFrame (url: string): boolean {
  if (!url.startsWith('file:')) return false
  if (url.startsWith(OWN_URL)) return true
  for (const p of OWN_PACKAGES) if (url.includes(p)) return true
  return false
}

/** Whether a fresh sampler already holds samples that are not the toolbar's: the app's tree has some. */
function hasForeignSamples (root: NativeNode, intervalBytes: number): boolean {
  return hasSelfBytes(fromNative(root, intervalBytes).root)
}

function hasSelfBytes (n: ProfileNode): boolean {
  return n.selfBytes > 0 || n.children.some(hasSelfBytes)
}

function frame (functionName: string, url: string, line: number, column: number): AllocationFrame {
  return { functionName, url, line, column }
}

/** One node as a sampler reports it, before the toolbar's own frames are taken out. */
interface RawNode { id: number | undefined, frame: AllocationFrame, selfBytes: number, selfSamples: number }

/**
 * The app's tree: the toolbar's helpers and what they called are dropped, its hooks are spliced out
 * (their children hang from the hook's caller), everything else is kept as it was. Node's own code
 * called straight from a hook (`performance.now()`, `v8.getHeapStatistics()`) is the toolbar
 * measuring, not the app, and is dropped too: the request goes on through Fastify's code.
 */
function appTree<N> (root: N, read: (n: N) => RawNode, childrenOf: (n: N) => N[]): ProfileNode {
  let nextId = 1
  function into (n: N, out: ProfileNode[], underHook: boolean): void {
    const raw = read(n)
    const own = ownership(raw.frame.url, raw.frame.functionName)
    if (own === 'drop' || (underHook && raw.frame.url.startsWith('node:'))) return
    if (own === 'pass-through') {
      for (const c of childrenOf(n)) into(c, out, true)
      return
    }
    const node: ProfileNode = { id: raw.id ?? nextId++, frame: raw.frame, selfBytes: raw.selfBytes, selfSamples: raw.selfSamples, children: [] }
    for (const c of childrenOf(n)) into(c, node.children, false)
    out.push(node)
  }
  const top: ProfileNode[] = []
  into(root, top, false)
  return top[0] ?? { id: 0, frame: frame('(root)', '', 0, 0), selfBytes: 0, selfSamples: 0, children: [] }
}

/** The app's profile from what @datadog/pprof returns (exported for tests). */
export function fromNative (root: NativeNode, intervalBytes: number): AllocationProfile {
  function read (n: NativeNode): RawNode {
    let bytes = 0
    let samples = 0
    for (const a of n.allocations) {
      // V8 scales each count by 1 / (1 - e^(-size/interval)) (an estimate of objects, not samples):
      // bytes are size × scaled count; undo the scale for the number of samples actually taken.
      bytes += a.sizeBytes * a.count
      samples += Math.round(a.count * (1 - Math.exp(-a.sizeBytes / intervalBytes)))
    }
    return { id: undefined, frame: frame(n.name, n.scriptName, n.lineNumber, n.columnNumber), selfBytes: bytes, selfSamples: samples }
  }
  return { sampler: 'native', meaning: 'allocated', intervalBytes, root: appTree(root, read, (n) => n.children) }
}

function fromInspector (profile: InspectorProfile, intervalBytes: number): AllocationProfile {
  const samplesByNode = new Map<number, number>()
  for (const s of profile.samples) samplesByNode.set(s.nodeId, (samplesByNode.get(s.nodeId) ?? 0) + 1)
  function read (n: InspectorNode): RawNode {
    const c = n.callFrame
    // The inspector reports 0-based positions; records use 1-based, like editors.
    return { id: n.id, frame: frame(c.functionName, c.url, c.lineNumber + 1, c.columnNumber + 1), selfBytes: n.selfSize, selfSamples: samplesByNode.get(n.id) ?? 0 }
  }
  return { sampler: 'inspector', meaning: 'retained', intervalBytes, root: appTree(profile.head, read, (n) => n.children) }
}

/** The sampler the options ask for, or why there is none; `log` says once what was chosen instead. */
export function chooseSampler (mode: 'auto' | 'native' | 'inspector', intervalBytes: number, stackDepth: number, log: (message: string) => void): Sampler | Error {
  if (mode === 'inspector') return inspectorSampler(intervalBytes, stackDepth)
  const heap = loadNativeHeap()
  if (!(heap instanceof Error)) return new NativeSampler(heap, intervalBytes, stackDepth)
  if (mode === 'native') return new Error(`the native sampler (@datadog/pprof) did not load: ${heap.message}`)
  log(`fastify-debug-toolbar: the native allocation sampler (@datadog/pprof) did not load (${heap.message}); using the inspector sampler, which forces a full GC at the end of every sampled request`)
  return inspectorSampler(intervalBytes, stackDepth)
}
