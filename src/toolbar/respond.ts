import { performance } from 'node:perf_hooks'
import type { FastifyReply } from 'fastify'
import type { MemoryWindow } from '../capture/backend.ts'
import type { WindowCapture } from '../capture/window.ts'
import type { Redactor } from '../headers.ts'
import { findInsertion, injectableType, injectIntoBuffer, injectIntoString, skipReason, toolbarSnippet } from '../inject.ts'
import { ID_HEADER, SERVER_TIMING_HEADER } from '../protocol.ts'
import type { MemoryRecord } from '../record/types.ts'
import { appendServerTiming, idTimingEntry, serverTimingValue } from '../server-timing.ts'
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
      // An HTML page (or its 304) names its record in Server-Timing: the snippet itself never changes.
      const page = this.options.inject && (reply.statusCode === 304 || injectableType(reply.getHeader('content-type')))
      if (page && (typeof payload === 'string' || Buffer.isBuffer(payload))) out = this.inject(reply, payload, m)
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
          sampling: m.allocations !== undefined && 'sites' in m.allocations ? { sampler: m.allocations.sampler, overheadMs: m.allocations.overheadMs } : undefined
        })
        reply.header(SERVER_TIMING_HEADER, appendServerTiming(appTiming, page ? `${ours}, ${idTimingEntry(state.id)}` : ours))
      } else if (page) {
        reply.header(SERVER_TIMING_HEADER, appendServerTiming(reply.getHeader(SERVER_TIMING_HEADER), idTimingEntry(state.id)))
      }
      state.overheadMs += performance.now() - t0
      return out
    } catch (err) {
      this.warnOnce('send', err, 'the toolbar failed while sending a response; the response goes out untouched')
      return payload
    }
  }

  private inject (reply: FastifyReply, payload: string | Buffer, m: MemoryRecord): string | Buffer {
    // No body to put it in (304, 204, 205, an empty page) or only part of one (206).
    const status = reply.statusCode
    if (payload.length === 0 || status === 304 || status === 204 || status === 205 || status === 206 || status < 200) return payload
    if (reply.getHeader('content-encoding') !== undefined || !injectableType(reply.getHeader('content-type'))) return payload
    const at = findInsertion(typeof payload === 'string' ? payload : payload.toString('latin1'))
    if (at < 0) {
      m.notes.push(skipReason(at))
      return payload
    }
    const snippet = toolbarSnippet({ prefix: this.options.prefix, nonce: cspNonce(reply), sampling: this.options.sampling })
    // Fastify sets content-length after the onSend hooks; one set by the app is wrong now. (Only
    // when there is one: deleting a key makes the header map slower for the rest of the request.)
    if (reply.hasHeader('content-length')) reply.removeHeader('content-length')
    return typeof payload === 'string' ? injectIntoString(payload, snippet, at) : injectIntoBuffer(payload, snippet, at)
  }
}
