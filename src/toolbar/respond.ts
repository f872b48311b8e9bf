import { performance } from 'node:perf_hooks'
import type { FastifyReply } from 'fastify'
import type { MemoryWindow } from '../capture/backend.ts'
import type { WindowCapture } from '../capture/window.ts'
import { signedBytes } from '../format.ts'
import type { Redactor } from '../headers.ts'
import { injectableType, injectIntoBuffer, injectIntoString, toolbarSnippet } from '../inject.ts'
import { ID_HEADER, SERVER_TIMING_HEADER } from '../protocol.ts'
import type { MemoryRecord } from '../record/types.ts'
import { appendServerTiming, serverTimingValue } from '../server-timing.ts'
import type { WarnOnce } from '../warn-once.ts'
import type { RequestProfile } from './request-profile.ts'

/** How responses are finished, fixed at registration. */
export interface ResponderOptions {
  prefix: string
  inject: boolean
  serverTiming: boolean
  /** Allocation sampling is on (the toolbar shows its Sample switch). */
  sampling: boolean
}

/** The nonce the app set for this reply (e.g. @fastify/helmet's reply.cspNonce), if any. */
export function cspNonce (reply: FastifyReply): string | undefined {
  const n = (reply as FastifyReply & { cspNonce?: { script?: string } }).cspNonce
  return typeof n?.script === 'string' ? n.script : undefined
}

/**
 * Whether the app set a redacted response header. Node builds the header block from Fastify's
 * map and the raw response's own (setHeader), so asking both is cheaper than searching the
 * block and as complete (for names Node does not write itself: see Redactor.mapsTell).
 */
export function setsRedacted (reply: FastifyReply, redactor: Redactor): boolean {
  const raw = reply.raw
  for (const name of redactor.list) if (reply.hasHeader(name) || raw.hasHeader(name)) return true
  return false
}

/** Finishes a profiled response: closes its window first, then the id header, the toolbar snippet and Server-Timing. */
export class Responder {
  private readonly options: ResponderOptions
  private readonly windows: WindowCapture
  private readonly warnOnce: WarnOnce

  constructor (options: ResponderOptions, windows: WindowCapture, warnOnce: WarnOnce) {
    this.options = options
    this.windows = windows
    this.warnOnce = warnOnce
  }

  /** Close the window and head (maybe inject) the response; the payload to send. Never throws. */
  finish (reply: FastifyReply, payload: unknown, state: RequestProfile): unknown {
    try {
      const m = this.windows.close(state)
      const t0 = (state.window as MemoryWindow).endMs
      // Into Fastify's header map, not onto reply.raw: a header on the raw response makes Node's
      // writeHead set each of Fastify's headers one by one (2 µs of CPU a request more here).
      reply.header(ID_HEADER, state.id)
      let out = payload
      if (this.options.inject && (typeof payload === 'string' || Buffer.isBuffer(payload))) out = this.inject(reply, payload, state, m)
      if (this.options.serverTiming) {
        const overheadMs = state.overheadMs + performance.now() - t0
        const appTiming = reply.getHeader(SERVER_TIMING_HEADER)
        const ours = serverTimingValue({
          overheadMs,
          heapUsedDelta: m.heapUsedDelta,
          peakDelta: m.peakHeapUsed - m.heapUsedBefore,
          // GCs of a synchronous handler are reported after the headers go out; allocated is at
          // least what the heap climbed to, so the header never reads below the peak.
          allocatedBytes: Math.max(m.allocatedBytes, m.peakHeapUsed - m.heapUsedBefore),
          externalDelta: m.externalDelta,
          gcCount: m.gc.count,
          precise: m.precise,
          preciseRefused: m.preciseRefused !== undefined,
          sampling: m.allocations !== undefined && 'sites' in m.allocations ? { sampler: m.allocations.sampler, overheadMs: m.allocations.overheadMs } : undefined
        })
        reply.header(SERVER_TIMING_HEADER, appTiming === undefined ? ours : appendServerTiming(appTiming, ours))
      }
      state.overheadMs += performance.now() - t0
      return out
    } catch (err) {
      this.warnOnce('send', err, 'the toolbar failed while sending a response; the response goes out untouched')
      return payload
    }
  }

  private inject (reply: FastifyReply, payload: string | Buffer, state: RequestProfile, m: MemoryRecord): string | Buffer {
    const type = reply.getHeader('content-type')
    if (!injectableType(type) || reply.getHeader('content-encoding') !== undefined) return payload
    const snippet = toolbarSnippet({
      prefix: this.options.prefix,
      id: state.id,
      nonce: cspNonce(reply),
      subtitle: signedBytes(m.heapUsedDelta),
      sampling: this.options.sampling
    })
    // Fastify sets content-length after the onSend hooks; one set by the app is wrong now. (Only
    // when there is one: deleting a key makes the header map slower for the rest of the request.)
    if (reply.hasHeader('content-length')) reply.removeHeader('content-length')
    return typeof payload === 'string' ? injectIntoString(payload, snippet) : injectIntoBuffer(payload, snippet)
  }
}
