import type { StoredHeaders } from '../headers.ts'
import type { AllocationsRecord, AllocationsSkipped } from '../allocations/types.ts'
/**
 * The per-request record: plain data, JSON-serialisable. Bytes are bytes, times are milliseconds.
 * Capture fills it, the store keeps it, panels read it; nothing here knows about Fastify.
 */

/** One garbage collection that ran inside a request's window. */
export interface GcEventRecord {
  /** 'minor' (scavenge), 'major' (mark-sweep-compact), 'incremental' (marking step) or 'weakcb'. */
  kind: 'minor' | 'major' | 'incremental' | 'weakcb'
  /** When the GC started, in ms after the request's window opened. */
  offsetMs: number
  durationMs: number
  /** JS heap used just before and just after this GC, in bytes. */
  heapUsedBefore: number
  heapUsedAfter: number
}

/** What a request did to memory. Every figure is process-wide: see `overlapping`. */
export interface MemoryRecord {
  /** Which backend measured this request, e.g. 'heap-statistics'. */
  backend: string
  /** JS heap used when the window opened (onRequest) and closed (onSend), in bytes. */
  heapUsedBefore: number
  heapUsedAfter: number
  heapUsedDelta: number
  /** Highest JS heap used inside the window, in bytes: max(start, end, heap before each GC). */
  peakHeapUsed: number
  /** Bytes allocated on the JS heap inside the window: delta plus what the GCs inside it reclaimed. */
  allocatedBytes: number
  /** Memory outside the JS heap (Buffers, ArrayBuffers, external strings), in bytes. */
  externalBefore: number
  externalAfter: number
  externalDelta: number
  gc: {
    count: number
    pauseMs: number
    /** GCs forced by precise mode inside the window: they count for peak and allocated, not in `count`. */
    forced: number
    /** At most `maxGcEvents` GCs, oldest first, for the picture; `count` is the real total. */
    events: GcEventRecord[]
  }
  /** How many other requests were in flight at some point during this one. */
  overlapping: number
  /** Time this plugin spent on this request (capture, headers, injection, storing), in ms. */
  overheadMs: number
  /** Forced GC at start and end: heapUsedDelta is then retained bytes. */
  precise: boolean
  /** Why precise mode, asked for, was not used (over `preciseMaxPerSecond`, forced GC unavailable); absent otherwise. */
  preciseRefused?: string
  /** False until every GC inside the window has been accounted for (they are reported asynchronously). */
  final: boolean
  /** Things the reader must know: a backend that was unavailable, a truncated GC list. */
  notes: string[]
  /** Allocation sites from the sampling heap profiler, or why there are none; absent when sampling is off. */
  allocations?: AllocationsRecord | AllocationsSkipped
}

/** One request as the toolbar stores it. Secrets are redacted before this object exists. */
export interface RequestRecord {
  /** Unguessable id (128 random bits, 32 hex digits), also sent as `x-debug-toolbar-id`. */
  id: string
  method: string
  url: string
  /** The matched route pattern, e.g. '/users/:id'; '' when no route matched. */
  route: string
  statusCode: number
  /** From onRequest to onSend, in ms. */
  durationMs: number
  /** When the request arrived, in ms since the Unix epoch (`new Date(startedAt)`). */
  startedAt: number
  /**
   * Time on the CPU inside the window, in ms, process-wide like memory: `loopBusyMs` is the main
   * thread's event-loop busy time (always measured); user and system CPU time need the `cpuTime`
   * option and are null without it.
   */
  cpu: { loopBusyMs: number, userMs: number | null, systemMs: number | null }
  request: {
    /** Serialised as `{ name: value }` (lower-case names); kept in a cheaper form until read. */
    headers: StoredHeaders
    query: Record<string, string>
    remoteAddress: string
    httpVersion: string
  }
  response: {
    /** What was sent, when the toolbar could see it written (status line aside); else what the app set. */
    headers: StoredHeaders
    contentType: string
  }
  memory: MemoryRecord
  /** The process that served the request (with a shared store, records come from several). */
  process: ProcessIdentity
}

/** Which process served a request. */
export interface ProcessIdentity {
  pid: number
  hostname: string
}

/** True for an AllocationsRecord, false for an AllocationsSkipped. */
export function isSampled (a: AllocationsRecord | AllocationsSkipped | undefined): a is AllocationsRecord {
  return a !== undefined && !('skipped' in a)
}

/** The short form of a record used by lists (history page, API list). */
export interface RecordSummary {
  id: string
  method: string
  url: string
  route: string
  statusCode: number
  durationMs: number
  startedAt: number
  heapUsedDelta: number
  peakHeapUsed: number
  heapUsedBefore: number
  allocatedBytes: number
  externalDelta: number
  gcCount: number
  overlapping: number
  precise: boolean
  /** The serving process's id and host. */
  pid: number
  hostname: string
}

/** The summary of a record, for lists. */
export function summarize (r: RequestRecord): RecordSummary {
  const m = r.memory
  return {
    id: r.id,
    method: r.method,
    url: r.url,
    route: r.route,
    statusCode: r.statusCode,
    durationMs: r.durationMs,
    startedAt: r.startedAt,
    heapUsedDelta: m.heapUsedDelta,
    peakHeapUsed: m.peakHeapUsed,
    heapUsedBefore: m.heapUsedBefore,
    allocatedBytes: m.allocatedBytes,
    externalDelta: m.externalDelta,
    gcCount: m.gc.count,
    overlapping: m.overlapping,
    precise: m.precise,
    pid: r.process.pid,
    hostname: r.process.hostname
  }
}
