import type { FastifyRequest } from 'fastify'
import { FST_DEBUG_TOOLBAR_INVALID_OPTION } from './errors.ts'

/** Options of the plugin; every one is optional. */
export interface DebugToolbarOptions {
  /** Turn the toolbar on. When false the plugin adds no hook, no route and no header. @default process.env.NODE_ENV !== 'production' */
  enabled?: boolean
  /** Where the toolbar's pages, API and assets live. @default '/__debug' */
  prefix?: string
  /** Who may see the toolbar and its routes. @default the socket's remote address is loopback (127.0.0.0/8, ::1, ::ffff:127.x), and so is every address X-Forwarded-For and Forwarded name */
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
  /**
   * Allocation sites per request from V8's sampling heap profiler: `true` for the defaults, `false`
   * to turn off, or an object. @default true
   */
  allocations?: boolean | AllocationsOptions
  /** Also measure process CPU time (user and system) per request for the Timing panel: two getrusage calls, about 1.5 µs a request here. The event-loop busy time is always measured. @default false */
  cpuTime?: boolean
  /** The live page (`{prefix}/`): the process sampler, its event stream and the process actions. `false` leaves the static history page. @default true */
  live?: boolean | LiveOptions
  /**
   * Precise-mode requests granted a second, with bursts of twice as many: each forces three full
   * GCs, which stall every request of the app. Over the limit a request is measured without them
   * and its record says why. @default 2
   */
  preciseMaxPerSecond?: number
  /**
   * Where records live: `'memory'` (a ring in this process) or `{ redis }` to share them between
   * every process of the app through Redis (needs the optional `ioredis` package). @default 'memory'
   */
  store?: 'memory' | RedisStoreOptions
}

/** A shared store on Redis. */
export interface RedisStoreOptions {
  /** A `redis://` or `rediss://` URL (the toolbar connects, and disconnects on close), or a connected client (e.g. ioredis) that the toolbar uses and never closes. */
  redis: string | RedisClientLike
  /** Start of every key the toolbar writes, so several apps can share one Redis. @default 'fdt:' */
  keyPrefix?: string
  /** How long a record is kept, in ms. @default 3600000 (one hour) */
  ttlMs?: number
}

/** What the toolbar needs of a Redis client: ioredis' generic `call`. */
export interface RedisClientLike {
  call (command: string, ...args: Array<string | number>): Promise<unknown>
}

/** The store option after defaults. */
export type ResolvedStore = { kind: 'memory' } | { kind: 'redis', redis: string | RedisClientLike, keyPrefix: string, ttlMs: number }

const KNOWN_STORE = new Set(['redis', 'keyPrefix', 'ttlMs'])

function resolveStore (value: unknown): ResolvedStore {
  if (value === undefined || value === 'memory') return { kind: 'memory' }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('store', `expected 'memory' or an object { ${[...KNOWN_STORE].join(', ')} }, got ${describe(value)}`)
  const s = value as Record<string, unknown>
  for (const key of Object.keys(s)) {
    if (!KNOWN_STORE.has(key)) fail(`store.${key}`, `unknown option; known are ${[...KNOWN_STORE].join(', ')}`)
  }
  const redis = s.redis
  const isUrl = typeof redis === 'string' && /^rediss?:\/\/[^\s]*$/.test(redis)
  const isClient = typeof redis === 'object' && redis !== null && typeof (redis as { call?: unknown }).call === 'function'
  if (!isUrl && !isClient) fail('store.redis', `expected a redis:// or rediss:// URL or a Redis client with a call() method (ioredis), got ${describe(redis)}`)
  const keyPrefix = s.keyPrefix === undefined ? 'fdt:' : s.keyPrefix
  if (typeof keyPrefix !== 'string' || !/^[^\s]{1,100}$/.test(keyPrefix)) fail('store.keyPrefix', `expected 1 to 100 characters and no spaces, got ${describe(keyPrefix)}`)
  return { kind: 'redis', redis: redis as string | RedisClientLike, keyPrefix, ttlMs: int(s.ttlMs, 'store.ttlMs', 3_600_000, 1000, 30 * 24 * 3_600_000) }
}

// Live page options (the process sampler and its actions).

/** How the live page samples the process, and its limits. */
export interface LiveOptions {
  /** Time between readings of the process's memory and event-loop delay, in ms. @default 250 */
  sampleIntervalMs?: number
  /** How long the sampler keeps running after the last live page (or `/api/process` reader) went away, in ms. @default 60000 */
  keepRunningMs?: number
  /** Readings kept (the chart's longest window is 15 minutes: 3600 readings at the default interval). @default 3600 */
  maxSamples?: number
  /** Byte cap on the kept readings and GCs. @default 1 MiB */
  maxHistoryBytes?: number
  /** A heap-snapshot download is refused (422) when the JS heap in use is above this, in bytes. @default 1 GiB */
  maxSnapshotHeapBytes?: number
}

/** Live page options after defaults; `false` when the live page is off. */
export interface ResolvedLive {
  sampleIntervalMs: number
  keepRunningMs: number
  maxSamples: number
  maxHistoryBytes: number
  maxSnapshotHeapBytes: number
}

const KNOWN_LIVE = new Set(['sampleIntervalMs', 'keepRunningMs', 'maxSamples', 'maxHistoryBytes', 'maxSnapshotHeapBytes'])

function resolveLive (value: unknown): ResolvedLive | false {
  if (value === false) return false
  if (value !== undefined && value !== true && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    fail('live', `expected true, false or an object { ${[...KNOWN_LIVE].join(', ')} }, got ${describe(value)}`)
  }
  const l = (typeof value === 'object' ? value : {}) as Record<string, unknown>
  for (const key of Object.keys(l)) {
    if (!KNOWN_LIVE.has(key)) fail(`live.${key}`, `unknown option; known are ${[...KNOWN_LIVE].join(', ')}`)
  }
  return {
    sampleIntervalMs: int(l.sampleIntervalMs, 'live.sampleIntervalMs', 250, 50, 60_000),
    keepRunningMs: int(l.keepRunningMs, 'live.keepRunningMs', 60_000, 0, 3_600_000),
    maxSamples: int(l.maxSamples, 'live.maxSamples', 3600, 10, 1_000_000),
    maxHistoryBytes: int(l.maxHistoryBytes, 'live.maxHistoryBytes', 1024 * 1024, 16 * 1024, 2 ** 32),
    maxSnapshotHeapBytes: int(l.maxSnapshotHeapBytes, 'live.maxSnapshotHeapBytes', 1024 * 1024 * 1024, 0, 2 ** 45)
  }
}

/** How allocation sites are sampled. */
export interface AllocationsOptions {
  /**
   * `native`: @datadog/pprof (an optional dependency) drives V8's sampler with no forced GC, at a
   * cost that does not grow with the heap; samples are what the request allocated and had not freed
   * by its end. `inspector`: node:inspector, no native module; its stop forces a full GC (milliseconds,
   * growing with the heap), after which samples are exactly what the request retained. `auto`:
   * native when it loads, otherwise inspector, said once in the log. @default 'auto'
   */
  sampler?: 'auto' | 'native' | 'inspector'
  /** Average bytes between samples: smaller is more accurate and costs more. @default 16384 */
  intervalBytes?: number
  /** Deepest stack recorded per sample. @default 64 */
  stackDepth?: number
  /**
   * Which requests are sampled. `budget`: every request while you browse, at most `maxPerSecond`
   * under load (reading a profile costs V8 tens of µs whatever the request: it walks every loaded
   * script). `all`: every profiled request. `marked`: only requests asking for it (the
   * `x-debug-toolbar-sample: 1` header or the `fdt-sample=1` cookie the toolbar's Sample switch
   * sets), which every mode honours.
   * @default 'budget'
   */
  requests?: 'budget' | 'all' | 'marked'
  /** The `budget` mode's rate: sampled requests a second, with bursts of twice as many. @default 20 */
  maxPerSecond?: number
  /** Sites listed per record (the full tree is kept for the flame graph and download). @default 50 */
  maxSites?: number
}

/** Allocation sampling after defaults; `false` when off. */
export interface ResolvedAllocations {
  sampler: 'auto' | 'native' | 'inspector'
  intervalBytes: number
  stackDepth: number
  requests: 'budget' | 'all' | 'marked'
  maxPerSecond: number
  maxSites: number
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
  allocations: ResolvedAllocations | false
  live: ResolvedLive | false
  store: ResolvedStore
  preciseMaxPerSecond: number
}

const KNOWN = new Set(['enabled', 'prefix', 'allow', 'maxRequests', 'maxStoreBytes', 'redact', 'serverTiming', 'inject', 'cpuTime', 'allocations', 'live', 'store', 'preciseMaxPerSecond'])
const KNOWN_ALLOCATIONS = new Set(['sampler', 'intervalBytes', 'stackDepth', 'requests', 'maxPerSecond', 'maxSites'])

function oneOf<T extends string> (value: unknown, name: string, fallback: T, allowed: readonly T[]): T {
  if (value === undefined) return fallback
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) fail(name, `expected one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${describe(value)}`)
  return value as T
}

function resolveAllocations (value: unknown): ResolvedAllocations | false {
  if (value === false) return false
  if (value !== undefined && value !== true && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    fail('allocations', `expected true, false or an object { sampler, intervalBytes, stackDepth, requests, maxPerSecond, maxSites }, got ${describe(value)}`)
  }
  const a = (typeof value === 'object' ? value : {}) as Record<string, unknown>
  for (const key of Object.keys(a)) {
    if (!KNOWN_ALLOCATIONS.has(key)) fail(`allocations.${key}`, `unknown option; known are ${[...KNOWN_ALLOCATIONS].join(', ')}`)
  }
  return {
    sampler: oneOf(a.sampler, 'allocations.sampler', 'auto', ['auto', 'native', 'inspector'] as const),
    intervalBytes: int(a.intervalBytes, 'allocations.intervalBytes', 16384, 256, 16 * 1024 * 1024),
    stackDepth: int(a.stackDepth, 'allocations.stackDepth', 64, 1, 1024),
    requests: oneOf(a.requests, 'allocations.requests', 'budget', ['budget', 'all', 'marked'] as const),
    maxPerSecond: int(a.maxPerSecond, 'allocations.maxPerSecond', 20, 1, 100_000),
    maxSites: int(a.maxSites, 'allocations.maxSites', 50, 1, 1000)
  }
}

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

/**
 * The default allow check: the TCP peer is loopback and, when the request carries X-Forwarded-For or
 * Forwarded, so is every client those headers name. Headers never admit anyone (Fastify's trustProxy
 * does not matter here); they can only refuse: a local reverse proxy forwarding an outside client does
 * not expose the toolbar, and a client that adds entries only denies itself.
 */
export function allowLoopback (request: FastifyRequest): boolean {
  if (!isLoopbackAddress(request.raw.socket?.remoteAddress)) return false
  const headers = request.raw.headers
  return forwardingIsLoopback(headers['x-forwarded-for'], headers.forwarded)
}

/** The header half of allowLoopback: no X-Forwarded-For or Forwarded, or only loopback clients in them. */
export function forwardingIsLoopback (xff: string | string[] | undefined, forwarded: string | string[] | undefined): boolean {
  if (xff === undefined && forwarded === undefined) return true
  return (xff === undefined || forwardedForLoopback(xff, false)) && (forwarded === undefined || forwardedForLoopback(forwarded, true))
}

/** True when every address an X-Forwarded-For (or, with `rfc7239`, Forwarded `for=`) value names is loopback; anything unparsable is not. */
function forwardedForLoopback (value: string | string[], rfc7239: boolean): boolean {
  const values = Array.isArray(value) ? value : [value]
  for (const v of values) {
    for (const element of v.split(',')) {
      let address = element.trim()
      if (rfc7239) {
        const pair = element.split(';').map((p) => p.trim()).find((p) => p.slice(0, 4).toLowerCase() === 'for=')
        if (pair === undefined) continue
        address = pair.slice(4).replace(/^"(.*)"$/, '$1')
      }
      if (!isLoopbackAddress(stripPort(address))) return false
    }
  }
  return true
}

/** '[::1]:8080' -> '::1', '127.0.0.1:8080' -> '127.0.0.1'; anything else unchanged. */
function stripPort (address: string): string {
  if (address.startsWith('[')) {
    const end = address.indexOf(']')
    return end === -1 ? address : address.slice(1, end)
  }
  const m = /^(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}):\d{1,5}$/.exec(address)
  return m === null ? address : m[1] as string
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
    cpuTime: bool(o.cpuTime, 'cpuTime', false),
    allocations: resolveAllocations(o.allocations),
    live: resolveLive(o.live),
    store: resolveStore(o.store),
    preciseMaxPerSecond: int(o.preciseMaxPerSecond, 'preciseMaxPerSecond', 2, 1, 1000)
  }
}
