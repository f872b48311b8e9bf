import type { FastifyRequest } from 'fastify'
import { FST_DEBUG_TOOLBAR_INVALID_OPTION } from './errors.ts'

/** Options of the plugin; every one is optional. */
export interface DebugToolbarOptions {
  /** Turn the toolbar on. When false the plugin adds no hook, no route and no header. @default process.env.NODE_ENV !== 'production' */
  enabled?: boolean
  /** Where the toolbar's pages, API and assets live. @default '/__debug' */
  prefix?: string
  /** Who may see the toolbar and its routes. @default the socket's remote address is loopback (127.0.0.0/8, ::1, ::ffff:127.x) */
  allow?: (request: FastifyRequest) => boolean
  /** How many requests the store keeps. @default 50 */
  maxRequests?: number
  /** Byte cap on the store (estimated size of the stored records). @default 16 MiB */
  maxStoreBytes?: number
  /** Header, cookie and query-parameter names whose values are never stored (case-insensitive), added to the built-in list. @default [] */
  redact?: string[]
  /** Add the `Server-Timing` entries to profiled responses. @default true */
  serverTiming?: boolean
  /** Inject the toolbar into HTML responses. @default true */
  inject?: boolean
  /** Also measure process CPU time (user and system) per request for the Timing panel: two getrusage calls, about 1.5 µs a request here. The event-loop busy time is always measured. @default false */
  cpuTime?: boolean
}

/** Names always redacted, whatever `redact` says. */
export const ALWAYS_REDACTED = ['authorization', 'cookie', 'set-cookie', 'proxy-authorization'] as const

/** The options after defaults and validation. */
export interface ResolvedOptions {
  enabled: boolean
  prefix: string
  allow: (request: FastifyRequest) => boolean
  maxRequests: number
  maxStoreBytes: number
  /** Lower-cased. */
  redact: ReadonlySet<string>
  serverTiming: boolean
  inject: boolean
  cpuTime: boolean
}

const KNOWN = new Set(['enabled', 'prefix', 'allow', 'maxRequests', 'maxStoreBytes', 'redact', 'serverTiming', 'inject', 'cpuTime'])

/** True for an IPv4 loopback, ::1 or an IPv4-mapped loopback address. */
export function isLoopbackAddress (address: string | undefined): boolean {
  if (address === undefined) return false
  if (address === '::1') return true
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address
  return v4.startsWith('127.') && /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4)
}

/**
 * True for a Host header naming this machine's loopback: localhost, 127.x.x.x or [::1], any port.
 * Toolbar routes refuse other names under the default check, so a DNS-rebinding page (evil.example
 * resolving to 127.0.0.1) cannot read them from the developer's browser.
 */
export function isLoopbackHost (host: string | undefined): boolean {
  if (host === undefined) return false
  const m = /^(\[[0-9a-f:.]+\]|[^:]+)(?::\d{1,5})?$/i.exec(host)
  if (m === null) return false
  const name = (m[1] as string).toLowerCase()
  if (name === 'localhost' || name.endsWith('.localhost')) return true
  if (name.startsWith('[')) return isLoopbackAddress(name.slice(1, -1))
  return isLoopbackAddress(name)
}

/** Run an allow check: only `true` admits, and one that throws refuses the client after telling `onError`. */
export function runAllow (allow: ResolvedOptions['allow'], request: FastifyRequest, onError: (err: unknown) => void): boolean {
  try {
    return allow(request) === true
  } catch (err) {
    onError(err)
    return false
  }
}

/** The default allow check: the TCP peer (never a header such as X-Forwarded-For) is loopback. */
export function allowLoopback (request: FastifyRequest): boolean {
  return isLoopbackAddress(request.raw.socket?.remoteAddress)
}

function fail (name: string, allowed: string): never {
  throw new FST_DEBUG_TOOLBAR_INVALID_OPTION(name, allowed)
}

function bool (value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') fail(name, `expected a boolean, got ${describe(value)}`)
  return value
}

function int (value: unknown, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(name, `expected an integer from ${min} to ${max}, got ${describe(value)}`)
  }
  return value
}

function describe (value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`
}

/** Validate options once, at registration, and apply defaults. Throws FST_DEBUG_TOOLBAR_INVALID_OPTION. */
export function resolveOptions (input: DebugToolbarOptions | undefined, env: NodeJS.ProcessEnv = process.env): ResolvedOptions {
  const o = (input ?? {}) as Record<string, unknown>
  if (typeof o !== 'object' || o === null) fail('options', 'expected an object')
  for (const key of Object.keys(o)) {
    if (!KNOWN.has(key)) fail(key, `unknown option; known options are ${[...KNOWN].join(', ')}`)
  }

  const prefix = o.prefix === undefined ? '/__debug' : o.prefix
  if (typeof prefix !== 'string' || !/^(\/[A-Za-z0-9._~-]+)+$/.test(prefix)) {
    fail('prefix', `expected a path such as "/__debug": starts with "/", no trailing "/", letters, digits and . _ ~ - only; got ${describe(prefix)}`)
  }

  if (o.allow !== undefined && typeof o.allow !== 'function') fail('allow', `expected a function (request) => boolean, got ${describe(o.allow)}`)

  let redact: string[] = []
  if (o.redact !== undefined) {
    if (!Array.isArray(o.redact) || o.redact.some((n) => typeof n !== 'string' || n.length === 0)) {
      fail('redact', `expected an array of non-empty header, cookie or query names, got ${describe(o.redact)}`)
    }
    redact = o.redact as string[]
  }

  return {
    enabled: bool(o.enabled, 'enabled', env.NODE_ENV !== 'production'),
    prefix,
    allow: (o.allow as ResolvedOptions['allow'] | undefined) ?? allowLoopback,
    maxRequests: int(o.maxRequests, 'maxRequests', 50, 1, 100_000),
    maxStoreBytes: int(o.maxStoreBytes, 'maxStoreBytes', 16 * 1024 * 1024, 64 * 1024, 2 ** 40),
    redact: new Set([...ALWAYS_REDACTED, ...redact.map((n) => n.toLowerCase())]),
    serverTiming: bool(o.serverTiming, 'serverTiming', true),
    inject: bool(o.inject, 'inject', true),
    cpuTime: bool(o.cpuTime, 'cpuTime', false)
  }
}
