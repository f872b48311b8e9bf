import { hostname } from 'node:os'
import { performance } from 'node:perf_hooks'
import type { FastifyReply } from 'fastify'
import type { MemoryWindow } from '../capture/backend.ts'
import { round3 } from '../capture/figures.ts'
import type { StoredHeaders } from '../headers.ts'
import { redactQuery, redactUrl } from '../redact.ts'
import type { MemoryRecord, ProcessIdentity, RequestRecord } from './types.ts'

/** What a closed request's state holds for its record. */
export interface ClosedRequest {
  readonly id: string
  readonly route: string
  readonly remoteAddress: string
  readonly headers: StoredHeaders
  readonly precise: boolean
  readonly cpu: NodeJS.CpuUsage | undefined
  readonly loopBusyMs: number
  readonly window: MemoryWindow | undefined
  readonly memory: MemoryRecord | undefined
}

/** performance.now() is ms after this epoch time. */
const timeOrigin = performance.timeOrigin
/** This process, shared by all its records. */
const PROCESS: ProcessIdentity = Object.freeze({ pid: process.pid, hostname: hostname() })
const EMPTY_QUERY: Record<string, string> = Object.freeze({}) as Record<string, string>

/** The record of a request whose window is closed, with the response headers as sent. */
export function buildRecord (reply: FastifyReply, state: ClosedRequest, responseHeaders: StoredHeaders, redact: ReadonlySet<string>): RequestRecord {
  const w = state.window as MemoryWindow
  const cpu = state.cpu
  const end = state.precise && Number.isFinite(w.forcedFromMs) ? w.forcedFromMs : w.endMs
  const durationMs = round3(end - w.startMs)
  const request = reply.request
  const url = request.url
  const hasQuery = url.includes('?')
  return {
    id: state.id,
    method: request.method,
    url: hasQuery ? redactUrl(url, redact) : url,
    route: state.route,
    statusCode: reply.statusCode,
    durationMs,
    startedAt: Math.round(timeOrigin + w.startMs),
    cpu: {
      loopBusyMs: Math.min(round3(state.loopBusyMs), durationMs),
      userMs: cpu === undefined ? null : round3(cpu.user / 1000),
      systemMs: cpu === undefined ? null : round3(cpu.system / 1000)
    },
    request: {
      headers: state.headers,
      query: hasQuery ? redactQuery(request.query, redact) : EMPTY_QUERY,
      remoteAddress: state.remoteAddress,
      httpVersion: request.raw.httpVersion
    },
    response: {
      headers: responseHeaders,
      contentType: String(reply.getHeader('content-type') ?? '')
    },
    memory: state.memory as MemoryRecord,
    process: PROCESS
  }
}
