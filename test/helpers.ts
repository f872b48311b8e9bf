import type { GcTracker, TrackedGc } from '../src/capture/gc-tracker.ts'
import { captureHeaderMap, createRedactor, type StoredHeaders } from '../src/headers.ts'
import Fastify, { type FastifyInstance } from 'fastify'
import { Session } from 'node:inspector/promises'
import debugToolbar, { type DebugToolbarOptions, type MemoryRecord, type RequestRecord } from '../src/index.ts'

/** A Fastify app with the toolbar registered (enabled regardless of NODE_ENV). */
export async function appWithToolbar (options: DebugToolbarOptions = {}, routes?: (app: FastifyInstance) => void): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(debugToolbar, { enabled: true, ...options })
  routes?.(app)
  await app.ready()
  return app
}

/** The stored record of a response, through the JSON API. */
export async function recordOf (app: FastifyInstance, id: unknown, prefix = '/__debug'): Promise<RequestRecord> {
  const res = await app.inject(`${prefix}/api/requests/${String(id)}`)
  if (res.statusCode !== 200) throw new Error(`record ${String(id)}: ${res.statusCode} ${res.body}`)
  return res.json()
}

let session: Session | undefined

/** A full GC forced from inside a handler (the scenario: a GC runs inside the request). */
export async function forceGc (): Promise<void> {
  if (session === undefined) {
    session = new Session()
    session.connect()
  }
  await session.post('HeapProfiler.collectGarbage')
}

/** Build `mib` MiB of plain JS arrays (512 KiB each, fast SMI elements: 8 bytes an element). */
export function buildArrays (mib: number): number[][] {
  const chunks: number[][] = []
  for (let i = 0; i < mib * 2; i++) chunks.push(new Array(65536).fill(0))
  return chunks
}

export const MiB = 1024 * 1024

/** Headers for hand-made records, stored the way the plugin stores them (nothing redacted). */
export function plainHeaders (map: Record<string, string>): StoredHeaders {
  return captureHeaderMap(map, createRedactor(new Set()))
}

/** Fields of a hand-made record that differ from testRecord's defaults; `memory` merges into the default figures. */
export type TestRecordFields = Partial<Omit<RequestRecord, 'memory'>> & { memory?: Partial<MemoryRecord> }

/** A hand-made record: a GET of `/r/<id>` from loopback with small, final figures, unless `fields` say otherwise. */
export function testRecord (id: string, fields: TestRecordFields = {}): RequestRecord {
  const { memory, ...rest } = fields
  return {
    id,
    method: 'GET',
    url: `/r/${id}`,
    route: '/r/:id',
    statusCode: 200,
    durationMs: 1,
    startedAt: Date.now(),
    cpu: { loopBusyMs: 1, userMs: null, systemMs: null },
    request: { headers: plainHeaders({ host: 'localhost' }), query: {}, remoteAddress: '127.0.0.1', httpVersion: '1.1' },
    response: { headers: plainHeaders({}), contentType: 'text/html' },
    process: { pid: process.pid, hostname: 'test-host' },
    ...rest,
    memory: {
      backend: 'heap-statistics',
      heapUsedBefore: 100,
      heapUsedAfter: 200,
      heapUsedDelta: 100,
      peakHeapUsed: 200,
      allocatedBytes: 100,
      externalBefore: 0,
      externalAfter: 0,
      externalDelta: 0,
      gc: { count: 0, pauseMs: 0, forced: 0, events: [] },
      overlapping: 0,
      overheadMs: 0.01,
      precise: false,
      final: true,
      notes: [],
      ...memory
    }
  }
}

/** A GC tracker whose GCs the test adds by hand. */
export function fakeTracker (): { tracker: GcTracker, gcs: TrackedGc[], unpaired: TrackedGc[] } {
  const gcs: TrackedGc[] = []
  /** GCs reported whose figures would take a profiler swap: paired by `between` unless told not to. */
  const unpaired: TrackedGc[] = []
  const inRange = (g: TrackedGc, from: number, to: number): boolean => g.startMs >= from && g.startMs <= to
  const tracker = {
    active: true,
    trimmedUntilMs: -Infinity,
    sync () {},
    takeReported () {},
    waiting: (from: number, to: number) => unpaired.some((g) => inRange(g, from, to)),
    between: (from: number, to: number, pairWaiting = true) => {
      if (pairWaiting && unpaired.some((g) => inRange(g, from, to))) gcs.push(...unpaired.splice(0).sort((a, b) => a.startMs - b.startMs))
      return gcs.filter((g) => inRange(g, from, to))
    }
  } as unknown as GcTracker
  return { tracker, gcs, unpaired }
}

/** A server-sent event. */
export interface StreamEvent { event: string, data: unknown }

/** A `data` listener for a text event stream: calls `onEvent` with each complete event, JSON data parsed. */
export function eventStreamParser (onEvent: (e: StreamEvent) => void): (chunk: string) => void {
  let buffer = ''
  return (chunk) => {
    buffer += chunk
    let end
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      const event = /^event: (.*)$/m.exec(block)?.[1]
      const data = /^data: (.*)$/m.exec(block)?.[1]
      if (event !== undefined && data !== undefined) onEvent({ event, data: JSON.parse(data) })
    }
  }
}
