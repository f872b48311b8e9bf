/**
 * `npm run soak`: does the toolbar leak? A soak, not a benchmark: nothing here is timed.
 *
 * Starts a real app with the toolbar on 127.0.0.1 (mixed routes: JSON, an HTML page that gets the
 * toolbar, an HTML stream, memory spikes, a bounded retained ring, Buffers, JSON bodies, 404s, 500s,
 * an opted-out route, precise-mode requests and the toolbar's own pages and API), drives it with
 * autocannon (concurrent connections, every request URL unique) and after every chunk of requests
 * samples, after two forced full GCs: the JS heap, the store's size in records and estimated bytes,
 * the process's active resources by type (sockets, timers, ...) and the listener counts on `process`
 * and the HTTP server. It prints a table and a verdict:
 *
 *   - heap: the last sample is within maxStoreBytes + SOAK_CONSTANT_BYTES of the baseline (before
 *     the first request), and the last samples show no growth trend;
 *   - store: never above maxRequests records or maxStoreBytes estimated bytes;
 *   - resources and listeners: no count grows from the first chunk to the last.
 *
 * Autocannon runs in the same process as the server (one event loop; the machine has two cores and
 * other work on it). It keeps nothing between runs: samples are taken after each run has finished and
 * its sockets have closed, so its objects are garbage by then.
 *
 * The run goes on past SOAK_REQUESTS, a chunk at a time, until four samples were taken with the GC
 * tracker's window full (it keeps 120 s of GCs and grows until then by design).
 *
 * Env: SOAK_REQUESTS (200000), SOAK_CHUNK (20000), SOAK_CONNECTIONS (10),
 * SOAK_OPTIONS (JSON, toolbar options, e.g. '{"allocations":true}' or '{"maxStoreBytes":1048576}').
 * Exit code 0 when the verdict passes, 1 when it fails, 2 on a usage or run error.
 */
import { runInNewContext } from 'node:vm'
import { Readable } from 'node:stream'
import { pathToFileURL } from 'node:url'
import v8 from 'node:v8'
import autocannon from 'autocannon'
import Fastify, { type FastifyInstance } from 'fastify'
import debugToolbar, { type DebugToolbarOptions } from '../src/index.ts'
import { gcTracker } from '../src/capture/gc-tracker.ts'
import { resolveOptions } from '../src/options.ts'

/** One entry of autocannon's `requests` list. */
export interface SoakRequest {
  method?: string
  path?: string
  headers?: Record<string, string>
  body?: string
}

// The parts of autocannon's API the soak uses beyond bench/autocannon.d.ts.
declare module 'autocannon' {
  interface Options {
    /** Stop after this many requests (instead of `duration`). */
    amount?: number
    /** Cycled through by every connection. */
    requests?: SoakRequest[]
    /** Replace `[<id>]` in each request with a fresh unique id. */
    idReplacement?: boolean
  }
  interface Result {
    '1xx': number
    '3xx': number
    '4xx': number
    '5xx': number
  }
}

/**
 * What the heap may hold above the baseline besides the store, in bytes. Measured with this soak
 * (Node 20, 200,000 requests, allocation sampling at its defaults): the heap sits 2.8 MiB above the
 * baseline after the first 20,000 requests and 3.6 MiB at the end, with the store at 0.17 MiB. The
 * rest is one-time: compiled code and type feedback for the request path, Fastify's and the
 * toolbar's lazily built objects (route contexts, the view cache, the sampler), plus the GC
 * tracker's window of the last 120 s of GCs (about 110 bytes a GC: 4,100 to 4,300 GCs, ~0.45 MiB,
 * at this soak's GC rate; it is also capped at 50,000). 8 MiB is the measured 3.6 MiB doubled and
 * rounded up: small next to a per-request leak over 200,000 requests (40 bytes a request is 8 MB),
 * which the trend check catches far earlier anyway.
 */
export const SOAK_CONSTANT_BYTES = 8 * 1024 * 1024

/** A fixed ring the /retain route writes into: about 64 KiB a slot, filled at start, so the app's own memory is flat. */
const RING_SLOTS = 32
const RING_DOUBLES = 8192

/** The soak app: the toolbar with `options`, and routes that exercise every path a request can take through it. */
export async function buildSoakApp (options: DebugToolbarOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  await app.register(debugToolbar, { enabled: true, ...options })

  const ring: number[][] = Array.from({ length: RING_SLOTS }, () => new Array<number>(RING_DOUBLES).fill(0.5))
  let next = 0
  const page = `<!doctype html><html><head><title>soak</title></head><body><main>${'<p>Some text for the page.</p>'.repeat(60)}</main></body></html>`

  app.get('/json', async (request) => ({ ok: true, n: (request.query as { n?: string }).n ?? '' }))
  app.get('/page', async (_request, reply) => reply.type('text/html; charset=utf-8').send(page))
  app.get('/stream', async (_request, reply) => reply.type('text/html').send(Readable.from(['<body>', 'streamed', '</body>'])))
  app.get('/spike', async () => {
    // About 1 MiB of doubles, dropped before the reply: young GCs run inside requests.
    let sum = 0
    const a: number[] = []
    for (let i = 0; i < 131_072; i++) a.push(i + 0.5)
    for (const x of a) sum += x
    return { sum }
  })
  app.get('/retain', async () => {
    const slot = next++ % RING_SLOTS
    ring[slot] = new Array<number>(RING_DOUBLES).fill(slot + 0.5)
    return { slot }
  })
  app.get('/buffer', async (_request, reply) => reply.type('application/octet-stream').send(Buffer.alloc(64 * 1024, 7)))
  app.post('/echo', async (request) => ({ echo: request.body }))
  app.get('/error', async () => { throw new Error('soak: a route that fails') })
  app.get('/opt-out', { config: { debugToolbar: false } }, async (_request, reply) => reply.type('text/html').send(page))
  return app
}

interface Weighted { weight: number, req: SoakRequest }

/** The request mix, per 400 requests. `[<id>]` becomes a unique id in every request, so no two URLs (or records) are alike. */
const MIX: Weighted[] = [
  { weight: 120, req: { path: '/json?n=[<id>]' } },
  { weight: 70, req: { path: '/page?n=[<id>]' } },
  { weight: 30, req: { path: '/stream?n=[<id>]' } },
  { weight: 20, req: { path: '/spike?n=[<id>]' } },
  { weight: 20, req: { path: '/retain?n=[<id>]' } },
  { weight: 20, req: { path: '/buffer?n=[<id>]' } },
  { weight: 30, req: { method: 'POST', path: '/echo?n=[<id>]', headers: { 'content-type': 'application/json' }, body: '{"hello":"world","list":[1,2,3]}' } },
  { weight: 40, req: { path: '/missing/[<id>]' } },
  { weight: 10, req: { path: '/error?n=[<id>]' } },
  { weight: 30, req: { path: '/opt-out?n=[<id>]' } },
  { weight: 1, req: { path: '/json?precise=[<id>]', headers: { 'x-debug-toolbar-precise': '1' } } },
  { weight: 3, req: { path: '/__debug/api/requests' } },
  { weight: 3, req: { path: '/__debug/' } },
  { weight: 3, req: { path: '/__debug/api/requests/[<id>]' } }
]

/** Autocannon's request list: the mix spread evenly (smooth weighted round-robin), not in blocks. */
export function soakRequests (): SoakRequest[] {
  const total = MIX.reduce((s, m) => s + m.weight, 0)
  const current = MIX.map(() => 0)
  const list: SoakRequest[] = []
  for (let i = 0; i < total; i++) {
    let best = 0
    for (let k = 0; k < MIX.length; k++) {
      current[k] = (current[k] as number) + (MIX[k] as Weighted).weight
      if ((current[k] as number) > (current[best] as number)) best = k
    }
    current[best] = (current[best] as number) - total
    const req = (MIX[best] as Weighted).req
    list.push({ ...req, headers: { ...req.headers } })
  }
  return list
}

/** What one autocannon run did. */
export interface DriveResult { completed: number, errors: number, timeouts: number, s2xx: number, s3xx: number, s4xx: number, s5xx: number }

/** Send `amount` requests over `connections` keep-alive connections; resolves when every one answered. */
export async function drive (url: string, amount: number, connections: number): Promise<DriveResult> {
  const r = await autocannon({ url, connections, pipelining: 1, amount, timeout: 30, idReplacement: true, requests: soakRequests() })
  return { completed: r['1xx'] + r['2xx'] + r['3xx'] + r['4xx'] + r['5xx'], errors: r.errors, timeouts: r.timeouts, s2xx: r['2xx'], s3xx: r['3xx'], s4xx: r['4xx'], s5xx: r['5xx'] }
}

/** One row of the table. Bytes, counts. */
export interface SoakSample {
  requests: number
  heapUsedBytes: number
  externalBytes: number
  storeSize: number
  storeBytes: number
  /** GCs the process-wide tracker keeps for records still being finalised (bounded by age and count). */
  gcEvents: number
  /** The tracker has dropped old GCs at least once: its window (120 s of GCs) is full, so it no longer grows. */
  gcWindowFull: boolean
  /** process.getActiveResourcesInfo(), counted by type. */
  resources: Record<string, number>
  processListeners: number
  serverListeners: number
}

let gcFn: (() => void) | undefined
/** A full, synchronous GC (V8's gc(), exposed at run time without a command-line flag). */
export function fullGc (): void {
  if (gcFn === undefined) {
    v8.setFlagsFromString('--expose-gc')
    gcFn = runInNewContext('gc') as () => void
  }
  gcFn()
}

/** The store's size and sizeBytes (estimated bytes, as counted against maxStoreBytes), from GET {prefix}/api/store. */
export async function storeFigures (app: FastifyInstance, prefix = '/__debug'): Promise<{ size: number, bytes: number }> {
  const res = await app.inject({ url: `${prefix}/api/store`, headers: { host: '127.0.0.1' } })
  if (res.statusCode !== 200) throw new Error(`${prefix}/api/store answered ${res.statusCode}: ${res.body.slice(0, 200)}`)
  const figures = res.json() as { size: number, sizeBytes: number }
  return { size: figures.size, bytes: figures.sizeBytes }
}

export function listenerTotal (emitter: NodeJS.EventEmitter): number {
  return emitter.eventNames().reduce((n, e) => n + emitter.listenerCount(e), 0)
}

export function activeResources (): Record<string, number> {
  const out: Record<string, number> = {}
  for (const t of process.getActiveResourcesInfo()) out[t] = (out[t] ?? 0) + 1
  return out
}

/** Wait until the server has no open connection left (autocannon closed its sockets), at most `ms`. */
export async function connectionsClosed (app: FastifyInstance, ms = 5000): Promise<number> {
  const deadline = Date.now() + ms
  for (;;) {
    const open = await new Promise<number>((resolve, reject) => app.server.getConnections((err, n) => err === null ? resolve(n) : reject(err)))
    if (open === 0 || Date.now() > deadline) return open
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Sample after the given number of requests: store figures first, then two full GCs, then the heap. */
export async function sample (app: FastifyInstance, requests: number, prefix = '/__debug'): Promise<SoakSample> {
  await connectionsClosed(app)
  const store = await storeFigures(app, prefix)
  // Let pending GC reports and finalisation run, then collect twice (the second frees what weak
  // references and finalisers of the first let go).
  await new Promise((resolve) => setImmediate(resolve))
  fullGc()
  fullGc()
  const h = v8.getHeapStatistics()
  return {
    requests,
    heapUsedBytes: h.used_heap_size,
    externalBytes: h.external_memory,
    storeSize: store.size,
    storeBytes: store.bytes,
    gcEvents: gcTracker.events.length,
    gcWindowFull: gcTracker.trimmedUntilMs > -Infinity,
    resources: activeResources(),
    processListeners: listenerTotal(process),
    serverListeners: listenerTotal(app.server)
  }
}

export interface Verdict {
  pass: boolean
  lines: string[]
  /** Least-squares slope of the heap over the samples after the first chunk, bytes a request. */
  slopeBytesPerRequest: number
}

/** Bytes a request the heap may still climb by across the trend samples: below a leak of even one small object (32 bytes or more) a request. */
export const TREND_LIMIT_BYTES_PER_REQUEST = 4
/** Samples the trend is judged on, at least, once the GC tracker's window is full. */
export const MIN_TREND_SAMPLES = 4

/**
 * Judge a soak: the heap against the baseline (samples[0], before any request), the trend over the
 * last samples, the store's caps, and resources and listeners from the first chunk on.
 * `constantBytes` is what the heap may hold besides the store (see SOAK_CONSTANT_BYTES).
 *
 * The trend is judged on the samples taken once the GC tracker's window was full (it keeps the last
 * 120 s of GCs, about 110 bytes each, so it grows until then by design); a run too short for that
 * (the scaled-down test) is judged on every sample after the first chunk, the fill included.
 */
export function judge (samples: SoakSample[], limits: { maxRequests: number, maxStoreBytes: number, constantBytes: number, trendBytesPerRequest?: number }): Verdict {
  const lines: string[] = []
  let pass = true
  const check = (ok: boolean, text: string): void => {
    lines.push(`${ok ? 'ok  ' : 'FAIL'} ${text}`)
    if (!ok) pass = false
  }
  const base = samples[0]
  const last = samples[samples.length - 1]
  if (base === undefined || last === undefined || samples.length < 3) {
    return { pass: false, lines: ['FAIL need a baseline and at least two samples after it'], slopeBytesPerRequest: NaN }
  }
  const growth = last.heapUsedBytes - base.heapUsedBytes
  const bound = limits.maxStoreBytes + limits.constantBytes
  check(growth <= bound, `heap after GC grew ${mib(growth)} from the baseline; bound maxStoreBytes + constant = ${mib(limits.maxStoreBytes)} + ${mib(limits.constantBytes)} = ${mib(bound)}`)
  lines.push(`     (for scale: the store counts ${mib(last.storeBytes)} at the end, so ${mib(growth - last.storeBytes)} of the growth is not the store)`)

  const settled = samples.slice(1).filter((s) => s.gcWindowFull)
  const trend = settled.length >= MIN_TREND_SAMPLES ? settled : samples.slice(1)
  const slope = slopeOf(trend.map((s) => s.requests), trend.map((s) => s.heapUsedBytes))
  const trendLimit = limits.trendBytesPerRequest ?? TREND_LIMIT_BYTES_PER_REQUEST
  const from = trend[0] as SoakSample
  check(slope <= trendLimit, `heap trend over the last ${trend.length} samples (${from.requests.toLocaleString('en-US')} requests on${trend === settled ? ', GC tracker window full' : ', GC tracker window still filling'}): ${slope.toFixed(3)} bytes a request (limit ${trendLimit}), ${mib(last.heapUsedBytes - from.heapUsedBytes)} from the first of them to the last`)
  const first = samples[1] as SoakSample

  const maxSize = Math.max(...samples.map((s) => s.storeSize))
  const maxBytes = Math.max(...samples.map((s) => s.storeBytes))
  check(maxSize <= limits.maxRequests, `store never above maxRequests: at most ${maxSize} of ${limits.maxRequests} records`)
  check(maxBytes <= limits.maxStoreBytes, `store never above maxStoreBytes: at most ${mib(maxBytes)} of ${mib(limits.maxStoreBytes)}`)

  const types = new Set(trend.flatMap((s) => Object.keys(s.resources)))
  const grew = [...types].filter((t) => (last.resources[t] ?? 0) > (first.resources[t] ?? 0))
  check(grew.length === 0, grew.length === 0
    ? `active resources do not grow: ${fmtResources(last.resources)} (first chunk: ${fmtResources(first.resources)})`
    : `active resources grew: ${grew.map((t) => `${t} ${first.resources[t] ?? 0} -> ${last.resources[t] ?? 0}`).join(', ')}`)
  check(last.processListeners <= first.processListeners && last.serverListeners <= first.serverListeners,
    `listeners do not grow: process ${first.processListeners} -> ${last.processListeners}, server ${first.serverListeners} -> ${last.serverListeners}`)
  return { pass, lines, slopeBytesPerRequest: slope }
}

function slopeOf (xs: number[], ys: number[]): number {
  const n = xs.length
  if (n < 2) return 0
  const mx = xs.reduce((a, b) => a + b, 0) / n
  const my = ys.reduce((a, b) => a + b, 0) / n
  let num = 0
  let den = 0
  for (let i = 0; i < n; i++) {
    num += ((xs[i] as number) - mx) * ((ys[i] as number) - my)
    den += ((xs[i] as number) - mx) ** 2
  }
  return den === 0 ? 0 : num / den
}

function mib (bytes: number): string {
  return `${(bytes / 1048576).toFixed(2)} MiB`
}

function fmtResources (r: Record<string, number>): string {
  const keys = Object.keys(r).sort()
  return keys.length === 0 ? '(none)' : keys.map((k) => `${k} ${r[k] as number}`).join(', ')
}

/** The table, one row a sample, as Markdown. */
export function table (samples: SoakSample[]): string {
  const base = samples[0]?.heapUsedBytes ?? 0
  const rows = [
    '| requests | heap after GC | vs baseline | external | store records | store bytes (est.) | GC events kept (window full) | active resources | listeners process / server |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |'
  ]
  for (const s of samples) {
    rows.push(`| ${s.requests.toLocaleString('en-US')} | ${mib(s.heapUsedBytes)} | ${s.heapUsedBytes >= base ? '+' : ''}${mib(s.heapUsedBytes - base)} | ${mib(s.externalBytes)} | ${s.storeSize} | ${mib(s.storeBytes)} | ${s.gcEvents}${s.gcWindowFull ? ' (full)' : ''} | ${fmtResources(s.resources)} | ${s.processListeners} / ${s.serverListeners} |`)
  }
  return rows.join('\n')
}

/** How many stored records carry allocation sites, by sampler, and why the others do not. */
async function samplingSummary (app: FastifyInstance, prefix: string): Promise<string> {
  const records = (await app.inject({ url: `${prefix}/api/requests`, headers: { host: '127.0.0.1' } })).json() as Array<{ memory: { allocations?: { sampler?: string, skipped?: string } } }>
  const counts: Record<string, number> = {}
  for (const r of records) {
    const a = r.memory.allocations
    const key = a === undefined ? 'none' : (a.sampler !== undefined ? `sampled (${a.sampler})` : `skipped (${a.skipped ?? '?'})`)
    counts[key] = (counts[key] ?? 0) + 1
  }
  return `${Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(', ')} of ${records.length}`
}

function envInt (name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`)
  return n
}

class UsageError extends Error {}

function soakOptions (): DebugToolbarOptions {
  const raw = process.env.SOAK_OPTIONS
  if (raw === undefined || raw.trim() === '') return {}
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch (err) {
    throw new UsageError(`SOAK_OPTIONS is not valid JSON: ${(err as Error).message}`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UsageError('SOAK_OPTIONS must be a JSON object of toolbar options')
  return parsed as DebugToolbarOptions
}

async function main (): Promise<number> {
  const total = envInt('SOAK_REQUESTS', 200_000, 1000, 100_000_000)
  const chunk = envInt('SOAK_CHUNK', 20_000, 100, total)
  const connections = envInt('SOAK_CONNECTIONS', 10, 1, 1000)
  const options = soakOptions()
  const resolved = resolveOptions({ enabled: true, ...options })

  console.log(`soak: Node ${process.version}, ${total.toLocaleString('en-US')} requests in chunks of ${chunk.toLocaleString('en-US')}, ${connections} connections, toolbar options ${JSON.stringify(options)}`)
  console.log(`      maxRequests ${resolved.maxRequests}, maxStoreBytes ${mib(resolved.maxStoreBytes)}, constant ${mib(SOAK_CONSTANT_BYTES)}`)
  const app = await buildSoakApp(options)
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  const samples: SoakSample[] = [await sample(app, 0, resolved.prefix)]
  console.log(`baseline: heap ${mib(samples[0]?.heapUsedBytes ?? 0)} on ${url}`)
  let done = 0
  const statuses = { s2xx: 0, s3xx: 0, s4xx: 0, s5xx: 0 }
  // At least `total` requests, then on until the trend has MIN_TREND_SAMPLES samples with the GC
  // tracker's window full (at most 5x `total`).
  const settledSamples = (): number => samples.filter((s) => s.requests > 0 && s.gcWindowFull).length
  while (done < total || (settledSamples() < MIN_TREND_SAMPLES && done < 5 * total)) {
    const amount = done < total ? Math.min(chunk, total - done) : chunk
    const r = await drive(url, amount, connections)
    if (r.errors > 0 || r.timeouts > 0 || r.completed < amount) {
      throw new Error(`autocannon: ${r.completed} of ${amount} answered, ${r.errors} errors, ${r.timeouts} timeouts`)
    }
    done += amount
    statuses.s2xx += r.s2xx; statuses.s3xx += r.s3xx; statuses.s4xx += r.s4xx; statuses.s5xx += r.s5xx
    const s = await sample(app, done, resolved.prefix)
    samples.push(s)
    console.log(`  ${done.toLocaleString('en-US')} requests: heap ${mib(s.heapUsedBytes)}, store ${s.storeSize} records / ${mib(s.storeBytes)}`)
  }
  console.log(`answers: ${statuses.s2xx} 2xx, ${statuses.s3xx} 3xx, ${statuses.s4xx} 4xx (404s by design), ${statuses.s5xx} 5xx (the /error route)`)
  console.log(`allocation sampling in the stored records: ${await samplingSummary(app, resolved.prefix)}`)
  console.log()
  console.log(table(samples))
  console.log()
  const v = judge(samples, { maxRequests: resolved.maxRequests, maxStoreBytes: resolved.maxStoreBytes, constantBytes: SOAK_CONSTANT_BYTES })
  for (const line of v.lines) console.log(line)

  await app.close()
  await new Promise((resolve) => setImmediate(resolve))
  const closed = activeResources()
  const base = samples[0] as SoakSample
  const left = Object.keys(closed).filter((t) => t !== 'Immediate' && (closed[t] ?? 0) > (base.resources[t] ?? 0) - (t === 'TCPServerWrap' ? 1 : 0))
  const closedOk = left.length === 0 && listenerTotal(process) <= base.processListeners && !gcTracker.active
  console.log(`${closedOk ? 'ok  ' : 'FAIL'} after app.close(): active resources ${fmtResources(closed)}, process listeners ${listenerTotal(process)}, GC tracker ${gcTracker.active ? 'still active' : 'released'}`)
  const pass = v.pass && closedOk
  console.log(`verdict: ${pass ? 'PASS, no self-leak' : 'FAIL'}`)
  return pass ? 0 : 1
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then((code) => { process.exitCode = code }, (err: unknown) => {
    console.error(err instanceof UsageError ? `soak: ${err.message}` : err)
    process.exitCode = 2
  })
}
