/**
 * The floor under the toolbar's overhead: the bench app with only the least the toolbar's public
 * contract asks of every profiled response, written by hand and with nothing else (no GC
 * tracking, no allow check, no redaction; no record below floor-record). Each level adds one thing to the one
 * before; comparing them with the bench app without hooks says what the contract itself costs on
 * this machine, whatever the plugin does. `npm run bench:floor` runs them.
 *
 * - `floor-hooks`: an onRequest and an onSend hook that do nothing.
 * - `floor-headers`: the hooks set an `x-debug-toolbar-id` (32 random hex digits) and a
 *   `Server-Timing` with `memory-profiling;dur=` and a `memory` entry (figures from the clock only).
 * - `floor-contract`: and two heap readings (`v8.getHeapStatistics()`) whose delta the `memory`
 *   entry carries, and the toolbar's script tag before `</body>` in HTML.
 * - `floor-record`: and, after the response is written, a record of the least a history page
 *   shows (id, method, URL, status, times, the heap readings, the request's headers as one string,
 *   the response's header block as Node wrote it) kept in a ring of the last 50, the toolbar's
 *   default `maxRequests`: what keeping a history costs at the least, mostly in garbage collection.
 * - `floor-native`: and V8's sampling heap profiler (@datadog/pprof) started and stopped around
 *   every request, never read.
 * - `floor-read`: and the profile read (`heap.v8Profile()`) whenever V8 took a sample in the window
 *   (the global-handle count moved or the heap shrank, the test the plugin uses), then dropped: the
 *   least of sampling every request natively and showing its sites.
 */
import { createRequire } from 'node:module'
import v8 from 'node:v8'
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import { newId } from '../src/id.ts'
import { injectIntoString } from '../src/inject.ts'
import { buildBenchApp } from './app.ts'

export const FLOOR_LEVELS = ['floor-hooks', 'floor-headers', 'floor-contract', 'floor-record', 'floor-native', 'floor-read'] as const
export type FloorLevel = typeof FLOOR_LEVELS[number]

export function isFloorLevel (s: string): s is FloorLevel {
  return (FLOOR_LEVELS as readonly string[]).includes(s)
}

/** What each level adds, for the bench's scenario list. */
export const FLOOR_DESCRIPTIONS: Record<FloorLevel, string> = {
  'floor-hooks': 'no toolbar: an empty onRequest and onSend hook',
  'floor-headers': 'no toolbar: hooks that set a random x-debug-toolbar-id and a Server-Timing (memory-profiling, memory)',
  'floor-contract': 'no toolbar: the contract\'s least (two heap readings, id, Server-Timing with the heap delta, script tag before </body>)',
  'floor-record': 'no toolbar: the contract\'s least plus a minimal record of each request (strings and numbers, headers as sent) kept in a ring of 50',
  'floor-native': 'no toolbar: as floor-record, plus V8\'s sampling heap profiler started and stopped around every request (never read)',
  'floor-read': 'no toolbar: as floor-native, and the profile read whenever V8 took a sample in the window (then dropped)'
}

interface NativeHeap {
  start: (intervalBytes: number, stackDepth: number) => void
  stop: () => void
  v8Profile: () => unknown
}

interface Window {
  id: string
  t0: number
  heapBefore: number
  handlesBefore: number
}

/** The least a history row holds: one object, its strings and numbers. */
interface MinimalRecord {
  id: string
  method: string
  url: string
  statusCode: number
  startedAt: number
  durationMs: number
  heapUsedBefore: number
  heapUsedAfter: number
  requestHeaders: string
  responseHeaders: string
}

/** The toolbar's default maxRequests. */
const RING_SIZE = 50
/** Where flattening's unused result goes (kept, so that the conversion is not optimised away). */
const flattenSink = { result: 0 }

/** How many profiles the floor-read level has read (for checking its read rate by hand). */
export let floorProfilesRead = 0

const kWindow = Symbol('floor window')
type WindowRequest = FastifyRequest & { [kWindow]: Window | null }

/** The bench app's routes behind the hooks of `level` instead of the toolbar. */
export async function buildFloorApp (level: FloorLevel): Promise<FastifyInstance> {
  return await buildBenchApp({ plugin: false, setup: (app) => { addFloorHooks(app, level) } })
}

function addFloorHooks (app: FastifyInstance, level: FloorLevel): void {
  const rank = FLOOR_LEVELS.indexOf(level)
  const headers = rank >= 1
  const contract = rank >= 2
  const record = rank >= 3
  const ring: Array<MinimalRecord | undefined> = new Array(RING_SIZE).fill(undefined)
  let next = 0
  const heap = rank >= 4 ? (createRequire(import.meta.url)('@datadog/pprof') as { heap: NativeHeap }).heap : undefined
  const read = rank >= 5

  app.decorateRequest(kWindow, null)
  app.addHook('onRequest', (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
    if (headers) {
      // The plugin's defaults: a sample every 16 KiB on average, stacks 64 frames deep.
      heap?.start(16 * 1024, 64)
      const s = contract ? v8.getHeapStatistics() : undefined
      ;(request as WindowRequest)[kWindow] = { id: newId(), t0: performance.now(), heapBefore: s?.used_heap_size ?? 0, handlesBefore: s?.used_global_handles_size ?? 0 }
    }
    done()
  })
  app.addHook('onSend', (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: null, payload: unknown) => void) => {
    const w = (request as WindowRequest)[kWindow]
    if (w === null) {
      done(null, payload)
      return
    }
    const s = contract ? v8.getHeapStatistics() : undefined
    const delta = s === undefined ? 0 : s.used_heap_size - w.heapBefore
    // V8 holds one global handle a live sample: no new handle and no shrinking heap, no sample.
    if (read && s !== undefined && (s.used_global_handles_size !== w.handlesBefore || delta < 0)) {
      heap?.v8Profile()
      floorProfilesRead++
    }
    heap?.stop()
    reply.header('x-debug-toolbar-id', w.id)
    reply.header('server-timing', `memory-profiling;dur=${(performance.now() - w.t0).toFixed(3)}, memory;desc="heap ${delta > 0 ? '+' : ''}${delta}B"`)
    let out = payload
    if (contract && typeof payload === 'string' && String(reply.getHeader('content-type')).startsWith('text/html')) {
      out = injectIntoString(payload, `<script type="module" src="/__debug/static/toolbar.js" data-debug-toolbar="${w.id}" data-prefix="/__debug"></script>`)
    }
    done(null, out)
    if (!record || s === undefined) return
    // After done(): Node has written the header block, as the toolbar reads it.
    const block = (reply.raw as typeof reply.raw & { _header?: unknown })._header
    // Node's block is a rope of a few dozen strings: flattened in place, it is one for the GC to copy.
    if (typeof block === 'string') flattenSink.result = Number(block)
    ring[next] = {
      id: w.id,
      method: request.method,
      url: request.url,
      statusCode: reply.statusCode,
      startedAt: performance.timeOrigin + w.t0,
      durationMs: performance.now() - w.t0,
      heapUsedBefore: w.heapBefore,
      heapUsedAfter: s.used_heap_size,
      requestHeaders: request.raw.rawHeaders.join('\n'),
      responseHeaders: typeof block === 'string' ? block : ''
    }
    next = (next + 1) % RING_SIZE
  })
}
