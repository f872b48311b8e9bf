import { performance } from 'node:perf_hooks'
import { PassThrough, pipeline, type Readable } from 'node:stream'
import type { FastifyReply } from 'fastify'
import type { MemoryWindow } from '../capture/backend.ts'
import type { WindowCapture } from '../capture/window.ts'
import type { Redactor } from '../headers.ts'
import { findInsertion, injectableType, injectIntoBuffer, injectIntoBytes, injectIntoString, skipReason, toolbarSnippet } from '../inject.ts'
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
  /** True when the toolbar's onSend hook is the last of this reply's route. */
  lastOnSend: (reply: FastifyReply) => boolean
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
  /** The snippet of a page without a CSP nonce, the same for every such page. */
  private readonly plainSnippet: string

  constructor (options: ResponderOptions, windows: WindowCapture, warnOnce: WarnOnce) {
    this.options = options
    this.windows = windows
    this.warnOnce = warnOnce
    this.plainSnippet = toolbarSnippet({ prefix: options.prefix, sampling: options.sampling })
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
          preciseRefused: m.preciseRefused !== undefined,
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

  /** True for a stream whose bytes the toolbar reads to inject into: an uncompressed whole HTML page. */
  wantsStream (reply: FastifyReply, payload: unknown): payload is Readable {
    return this.options.inject && typeof (payload as Readable | null)?.pipe === 'function' && typeof (payload as Readable).on === 'function' &&
      injectable(reply) && !(reply.request.method === 'HEAD')
  }

  /**
   * Read an HTML stream up to MAX_HELD_BYTES and MAX_HELD_MS: when it ends within them, a stream of
   * the page, injected or not; else a stream of the same bytes, untouched, and a note in the record.
   * Never rejects.
   */
  async injectStream (reply: FastifyReply, stream: Readable, m: MemoryRecord): Promise<Readable> {
    const held: Buffer[] = []
    let size = 0
    return await new Promise((resolve) => {
      // A stream still open after MAX_HELD_MS (a page rendered progressively, an HTML event stream)
      // goes out unchanged, so the toolbar never holds back its first byte for long.
      const timer = setTimeout(() => {
        stop()
        m.notes.push(`The toolbar was not injected: this HTML stream was still open after ${MAX_HELD_MS} ms, the longest it holds one back; it went out unchanged.`)
        resolve(replay(held, stream))
      }, MAX_HELD_MS)
      const stop = (): void => {
        clearTimeout(timer)
        stream.off('data', onData)
        stream.off('end', onEnd)
        stream.off('error', onError)
        stream.pause()
      }
      const onData = (chunk: Buffer | string): void => {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
        held.push(bytes)
        size += bytes.length
        if (size <= MAX_HELD_BYTES) return
        stop()
        m.notes.push(`The toolbar was not injected: this HTML stream is larger than ${MAX_HELD_BYTES} bytes, the most it holds back; it went out unchanged.`)
        resolve(replay(held, stream))
      }
      const onEnd = (): void => {
        stop()
        // Still a stream, so the response keeps its framing; inject() drops content-length if it changed the body.
        const body = Buffer.concat(held, size)
        let page: Buffer = body
        try {
          page = this.inject(reply, body, m) as Buffer
        } catch (err) {
          this.warnOnce('send', err, 'the toolbar failed while sending a response; the response goes out untouched')
        }
        const out = new PassThrough()
        out.end(page)
        resolve(out)
      }
      const onError = (err: Error): void => {
        stop()
        resolve(replay(held, stream, err))
      }
      stream.on('data', onData)
      stream.once('end', onEnd)
      stream.once('error', onError)
    })
  }

  private inject (reply: FastifyReply, payload: string | Buffer, m: MemoryRecord): string | Buffer {
    if (payload.length === 0 || !injectable(reply)) return payload
    const at = findInsertion(typeof payload === 'string' ? payload : payload.toString('latin1'))
    if (at < 0) {
      m.notes.push(skipReason(at))
      return payload
    }
    const nonce = cspNonce(reply)
    const snippet = nonce === undefined ? this.plainSnippet : toolbarSnippet({ prefix: this.options.prefix, nonce, sampling: this.options.sampling })
    // Fastify sets content-length after the onSend hooks; one set by the app is wrong now. (Only
    // when there is one: deleting a key makes the header map slower for the rest of the request.)
    if (reply.hasHeader('content-length')) reply.removeHeader('content-length')
    // Bytes only when no onSend hook of the app comes after this one: it may expect the string.
    if (typeof payload === 'string') return this.options.lastOnSend(reply) ? injectIntoBytes(payload, snippet, at) : injectIntoString(payload, snippet, at)
    return injectIntoBuffer(payload, snippet, at)
  }
}

/** The most of an HTML stream held back while looking for the place to inject, in bytes. */
export const MAX_HELD_BYTES = 256 * 1024
/** The longest an HTML stream is held back, in ms. */
export const MAX_HELD_MS = 2000

/**
 * True when the response can take the snippet: a body that is a whole response (not 304, 204, 205
 * or a 206 part), not compressed, HTML in an ASCII-compatible charset.
 */
function injectable (reply: FastifyReply): boolean {
  const status = reply.statusCode
  if (status === 304 || status === 204 || status === 205 || status === 206 || status < 200) return false
  return reply.getHeader('content-encoding') === undefined && injectableType(reply.getHeader('content-type'))
}

/** A stream of the bytes already read and then the rest of `rest`; failing with `err` after them, if given. */
function replay (held: Buffer[], rest: Readable, err?: Error): Readable {
  const out = new PassThrough()
  for (const chunk of held) out.write(chunk)
  if (err !== undefined) {
    out.destroy(err)
    return out
  }
  // pipeline ends `out` with `rest`, and destroys `rest` when the response closes `out` early.
  pipeline(rest, out, () => {})
  return out
}
