/**
 * `npm run bench`: what the toolbar costs per request, beside what an app may already run.
 * A benchmark, not a test.
 *
 * Every server runs in a child process of its own (bench/server.ts), so it does not share an event
 * loop with autocannon, which runs here. One server runs without the toolbar ("off"); each scenario
 * (bench/scenarios.ts) has its own: the toolbar with some options, a hand-written floor
 * (bench/floor.ts) or a peer plugin (bench/peers.ts). All start together. After a warm-up, each round
 * drives every route on the off server, then on each scenario's server (in an order that rotates
 * from round to round), then on the off server again; a scenario's round is paired with the mean of
 * the two off runs around it. The headline is the extra server CPU a request (on − off, median of
 * the round pairs, from each server process's own CPU time), with the throughput ratio beside it.
 * Everything listens on 127.0.0.1 and every step has a time limit.
 *
 * Flags: `--quick` (3 rounds of 1 s: a smoke run), `--pin` (servers on core 0, autocannon on core 1,
 * with taskset), `--floor` (the ladder of bench/floor.ts beside the toolbar's own rows).
 * Env: BENCH_ROUNDS (5, min 3), BENCH_DURATION seconds a run (3), BENCH_WARMUP seconds a route and
 * server (1; repeated until 2,000 requests, at most 5 times), BENCH_SCENARIOS (comma list, or "all"; default: the default scenarios), BENCH_ROUTES
 * (comma list of route paths, or "all"; default: /hello, /api/products, /page), BENCH_PLUGIN_OPTIONS
 * (JSON, extra toolbar options for every toolbar server), BENCH_BASELINE (the path of another checkout
 * with its node_modules: adds a `baseline` row, that checkout's toolbar with its default options, for
 * a before/after comparison in one run).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import type { DebugToolbarOptions } from '../src/index.ts'
import { FLOOR_LEVELS } from './floor.ts'
import { MEMORY_DELTA_HEADER } from './peers.ts'
import { onServerCore, placeLoadGenerator, placementLine, type Placement } from './placement.ts'
import { ROUTES, SCENARIOS, type BenchRoute, type Scenario } from './scenarios.ts'
import type { CpuReply, CpuRequest, ReadyMessage } from './server.ts'
import { bracketMean, median, medianPairedDifference, medianPairedRatio, pairedDifferences, spreadPercent } from './stats.ts'

const CONNECTIONS = 10
const PIPELINING = 1
const HOST = '127.0.0.1'
const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SERVER_SCRIPT = fileURLToPath(new URL('./server.ts', import.meta.url))
const ID_HEADER = 'x-debug-toolbar-id'
/** Warm-up: BENCH_WARMUP seconds at a time until this many requests were served, at most WARMUP_MAX_CHUNKS times. */
const WARMUP_REQUESTS = 2000
const WARMUP_MAX_CHUNKS = 5

class BenchError extends Error {}

const QUICK = process.argv.includes('--quick')
const PIN = process.argv.includes('--pin')

function envInt (name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min || n > max) throw new BenchError(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`)
  return n
}

function basePluginOptions (): DebugToolbarOptions {
  const raw = process.env.BENCH_PLUGIN_OPTIONS
  if (raw === undefined || raw.trim() === '') return {}
  const parsed: unknown = JSON.parse(raw)
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new BenchError('BENCH_PLUGIN_OPTIONS must be a JSON object')
  return parsed as DebugToolbarOptions
}

/** `--floor` (npm run bench:floor): the floor levels of bench/floor.ts beside the toolbar's own rows. */
const FLOOR_RUN = [...FLOOR_LEVELS, 'no-sampling', 'native-all'].join(',')

/** With BENCH_BASELINE: the `baseline` row, the toolbar with its default options from another checkout. */
function baselineScenario (): Scenario[] {
  const dir = process.env.BENCH_BASELINE
  if (dir === undefined || dir.trim() === '') return []
  const checkout = path.resolve(dir)
  return [{ name: 'baseline', description: `the toolbar with its default options, from the checkout ${checkout}`, byDefault: false, checkout }]
}

function pickScenarios (): Scenario[] {
  return [...pickNamedScenarios(), ...baselineScenario()]
}

function pickNamedScenarios (): Scenario[] {
  const raw = process.argv.includes('--floor') ? FLOOR_RUN : process.env.BENCH_SCENARIOS
  if (raw === undefined || raw.trim() === '') return SCENARIOS.filter((s) => s.byDefault)
  if (raw.trim() === 'all') return SCENARIOS
  const names = raw.split(',').map((s) => s.trim()).filter(Boolean)
  return names.map((name) => {
    const s = SCENARIOS.find((x) => x.name === name)
    if (s === undefined) throw new BenchError(`unknown scenario "${name}"; scenarios are: ${SCENARIOS.map((x) => x.name).join(', ')}`)
    return s
  })
}

function pickRoutes (): BenchRoute[] {
  const raw = process.env.BENCH_ROUTES
  if (raw === undefined || raw.trim() === '') return ROUTES.filter((r) => r.byDefault)
  if (raw.trim() === 'all') return ROUTES
  return raw.split(',').map((s) => s.trim()).filter(Boolean).map((path) => {
    const r = ROUTES.find((x) => x.path === path)
    if (r === undefined) throw new BenchError(`unknown route "${path}"; routes are: ${ROUTES.map((x) => x.path).join(', ')}`)
    return r
  })
}

/* ------------------------------------------------------------ child servers */

interface Server {
  label: string
  child: ChildProcess
  url: string
  ready: ReadyMessage
}

const children = new Set<ChildProcess>()

/** Start bench/server.ts in a new Node process and wait (at most 90 s) until it listens. */
async function startServer (label: string, plugin: 'on' | 'off', pluginOptions: DebugToolbarOptions, retainMb: number, app: string, mode: Placement, checkout = ROOT): Promise<Server> {
  const script = checkout === ROOT ? SERVER_SCRIPT : path.join(checkout, 'bench', 'server.ts')
  const nodeArgs = ['--import', 'tsx', script, '--plugin', plugin, '--app', app, '--retain-mb', String(retainMb)]
  const [command, args] = onServerCore(mode, [process.execPath, ...nodeArgs])
  const child = spawn(command, args, {
    cwd: checkout,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, BENCH_PLUGIN_OPTIONS: JSON.stringify(pluginOptions) }
  })
  children.add(child)
  child.once('exit', () => children.delete(child))
  const ready = await new Promise<ReadyMessage>((resolve, reject) => {
    const timer = setTimeout(() => reject(new BenchError(`${label}: server not ready after 90 s`)), 90_000)
    child.once('message', (msg: ReadyMessage) => {
      clearTimeout(timer)
      if (msg?.type === 'ready') resolve(msg)
      else reject(new BenchError(`${label}: unexpected message ${JSON.stringify(msg)}`))
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new BenchError(`${label}: server exited before listening (code ${code}, signal ${signal})`))
    })
  })
  child.removeAllListeners('exit')
  child.once('exit', (code, signal) => {
    children.delete(child)
    if (!stopping.has(child) && !shuttingDown) {
      console.error(`${label}: server process exited unexpectedly (code ${code}, signal ${signal})`)
      shutdown(1)
    }
  })
  return { label, child, url: `http://${HOST}:${ready.port}`, ready }
}

const stopping = new WeakSet<ChildProcess>()

/** SIGTERM, then SIGKILL after 5 s. */
async function stopChild (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  stopping.add(child)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
  children.delete(child)
}

let shuttingDown = false
async function shutdown (code: number): Promise<never> {
  if (!shuttingDown) {
    shuttingDown = true
    await Promise.all([...children].map(stopChild))
  }
  process.exit(code)
}

/** Run `fn` over `items`, at most `limit` at a time (server start-ups on a small machine). */
async function eachLimited<T, R> (items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  async function worker (): Promise<void> {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i] as T)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return out
}

/* ------------------------------------------------------------ checks */

async function get (url: string, headers: Record<string, string>): Promise<{ status: number, headers: Headers, body: string }> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) })
  return { status: res.status, headers: res.headers, body: await res.text() }
}

/** What a scenario's server is: the toolbar, a floor (bench/floor.ts), a peer (bench/peers.ts) or a second plain server. */
function kindOf (scenario: Scenario): 'toolbar' | 'floor' | 'peer' | 'control' {
  return scenario.control === true ? 'control' : scenario.floor !== undefined ? 'floor' : scenario.peer !== undefined ? 'peer' : 'toolbar'
}

/**
 * The toolbar options a scenario's server runs with; for a floor, the options that would write what
 * it writes (no sampling; Server-Timing from floor-headers on; the tag from floor-contract on).
 */
function optionsOf (scenario: Scenario, base: DebugToolbarOptions): DebugToolbarOptions {
  if (scenario.floor === undefined) return { ...base, ...scenario.pluginOptions }
  const rank = FLOOR_LEVELS.indexOf(scenario.floor)
  return { allocations: false, serverTiming: rank >= 1, inject: rank >= 2 }
}

/**
 * Make sure each server is what its row claims: the "off" one adds nothing, a toolbar one really
 * profiles (id header, Server-Timing, the script injected before </body> in HTML), a floor writes
 * what its level claims, a peer does what it is there to do. Throws otherwise.
 */
async function verify (server: Server, scenario: Scenario | undefined, options: DebugToolbarOptions, routes: readonly BenchRoute[]): Promise<void> {
  const problems: string[] = []
  const kind = scenario === undefined ? 'off' : kindOf(scenario)
  const headersOn = kind === 'toolbar' || (kind === 'floor' && FLOOR_LEVELS.indexOf(scenario?.floor ?? 'floor-hooks') >= 1)
  for (const route of routes) {
    const r = await get(server.url + route.path, scenario?.headers ?? {})
    const where = `${server.label} ${route.path}`
    if (r.status !== 200) problems.push(`${where}: status ${r.status}`)
    const bodyProblem = route.checkBody(r.body)
    if (bodyProblem !== undefined) problems.push(`${where}: ${bodyProblem}`)
    const id = r.headers.get(ID_HEADER)
    const timing = r.headers.get('server-timing') ?? ''
    const injectedAt = r.body.indexOf('data-debug-toolbar')
    if (kind === 'peer' && scenario?.peer === 'peer-memory' && r.headers.get(MEMORY_DELTA_HEADER) === null) problems.push(`${where}: no ${MEMORY_DELTA_HEADER} header from the memory middleware`)
    if (!headersOn) {
      if (id !== null) problems.push(`${where}: has ${ID_HEADER} although the toolbar is off`)
      if (injectedAt !== -1) problems.push(`${where}: has the toolbar script although the toolbar is off`)
      continue
    }
    if (id === null || !/^[0-9a-f]{32}$/.test(id)) problems.push(`${where}: no valid ${ID_HEADER} header (got ${JSON.stringify(id)})`)
    if (options.serverTiming !== false && !timing.includes('memory-profiling')) problems.push(`${where}: no toolbar Server-Timing entry (got ${JSON.stringify(timing)})`)
    if (scenario?.headers?.['x-debug-toolbar-precise'] === '1' && options.serverTiming !== false && !timing.includes(', precise"')) {
      problems.push(`${where}: precise mode was asked for but Server-Timing does not say "precise" (refused: ${String(timing.includes('precise refused'))})`)
    }
    const sampler = options.allocations === false ? undefined : (typeof options.allocations === 'object' && options.allocations.sampler === 'inspector' ? 'inspector' : 'native')
    if (sampler !== undefined && options.serverTiming !== false && !timing.includes('memory-sampling;dur=')) problems.push(`${where}: allocation sampling is on but Server-Timing has no memory-sampling entry (got ${JSON.stringify(timing)})`)
    if (sampler === 'inspector' && options.serverTiming !== false && !timing.includes('inspector')) problems.push(`${where}: the inspector sampler was asked for but Server-Timing does not name it`)
    if (route.html && options.inject !== false) {
      const tag = r.body.lastIndexOf('<script type="module"', injectedAt)
      if (injectedAt === -1 || tag === -1) problems.push(`${where}: the toolbar <script type="module"> was not injected`)
      // The toolbar's page learns its id from Server-Timing; the floors put it in the tag.
      else if (!timing.includes(`debug-toolbar;desc="${id ?? ''}"`) && !r.body.includes(`data-debug-toolbar="${id ?? ''}"`)) problems.push(`${where}: neither Server-Timing nor the injected script carries this response's id`)
      else if (injectedAt > r.body.lastIndexOf('</body>')) problems.push(`${where}: the toolbar script is not before </body>`)
    }
    if (route.html && options.inject === false && injectedAt !== -1) problems.push(`${where}: injected although inject is false`)
  }
  if (scenario?.peer === 'peer-metrics') {
    const m = await get(`${server.url}/metrics`, {})
    const counted = routes.filter((route) => m.body.includes(`http_request_duration_seconds_count{method="GET",route="${route.path}",status_code="200"}`))
    if (counted.length !== routes.length) problems.push(`${server.label}: /metrics does not count every route's requests`)
  }
  if (problems.length > 0) throw new BenchError(`verification failed:\n  ${problems.join('\n  ')}`)
}

/** After measuring: a toolbar server's store has records. */
async function verifyRecorded (server: Server, options: DebugToolbarOptions): Promise<number> {
  const prefix = options.prefix ?? '/__debug'
  const r = await get(`${server.url}${prefix}/api/requests`, {})
  if (r.status !== 200) throw new BenchError(`${server.label}: ${prefix}/api/requests answered ${r.status}`)
  const list: unknown = JSON.parse(r.body)
  const n = Array.isArray(list) ? list.length : -1
  if (n < 1) throw new BenchError(`${server.label}: ${prefix}/api/requests has no records after the run`)
  return n
}

/* ------------------------------------------------------------ measuring */

let cpuSeq = 0

/** The server process's CPU time so far (user + system, µs) and its counters, asked over IPC. */
async function serverCpu (server: Server): Promise<CpuReply> {
  const seq = ++cpuSeq
  return await new Promise<CpuReply>((resolve, reject) => {
    const timer = setTimeout(() => {
      server.child.off('message', onMessage)
      reject(new BenchError(`${server.label}: no answer to a CPU-time request in 10 s`))
    }, 10_000)
    function onMessage (msg: CpuReply): void {
      if (msg?.type !== 'cpu' || msg.seq !== seq) return
      clearTimeout(timer)
      server.child.off('message', onMessage)
      resolve(msg)
    }
    server.child.on('message', onMessage)
    const ask: CpuRequest = { type: 'cpu', seq }
    server.child.send(ask)
  })
}

interface Measured {
  /** Completed requests a second. */
  rps: number
  /** Server CPU time (user + system) a completed request, µs. */
  cpuMicros: number
  requests: number
}

/** Drive one route of one server for `seconds`; any error, timeout or non-2xx fails the bench. */
async function load (server: Server, path: string, seconds: number, headers: Record<string, string>): Promise<Measured> {
  const url = server.url + path
  const before = await serverCpu(server)
  const result = await autocannon({ url, connections: CONNECTIONS, pipelining: PIPELINING, duration: seconds, headers, timeout: 10 })
  const after = await serverCpu(server)
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new BenchError(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`)
  }
  if (result.requests.total === 0) throw new BenchError(`${url}: no request completed`)
  return { rps: result.requests.total / result.duration, cpuMicros: (after.micros - before.micros) / result.requests.total, requests: result.requests.total }
}

/** One scenario on one route: req/s and server CPU µs a request by round, on and off (off: the mean of the runs around it). */
interface Row {
  scenario: Scenario
  route: BenchRoute
  off: number[]
  on: number[]
  offCpu: number[]
  onCpu: number[]
}

/** The off server on one route, by run (two a round). */
interface OffRow {
  route: BenchRoute
  retainMb: number
  rps: number[]
  cpu: number[]
}

interface Group {
  retainMb: number
  off: Server
  members: Array<{ scenario: Scenario, server: Server, options: DebugToolbarOptions }>
}

/* ------------------------------------------------------------ output */

function log (line: string): void {
  process.stderr.write(line + '\n')
}

function fmt (n: number): string {
  return Math.round(n).toLocaleString('en-US')
}

function signed (n: number): string {
  return (n >= 0 ? '+' : '−') + Math.abs(n).toFixed(1)
}

function mib (bytes: number): string {
  return `${(bytes / 1048576).toFixed(0)} MiB`
}

function extraCpu (row: Row): number {
  return medianPairedDifference(row.onCpu, row.offCpu)
}

function pairedRatio (row: Row): number {
  return medianPairedRatio(row.on, row.off)
}

/** The headline: extra server CPU µs a request (and the throughput ratio), one line a scenario, one column a route. */
function headline (rows: Row[], scenarios: Scenario[], routes: BenchRoute[], offRows: OffRow[]): string {
  const lines = [
    `| server | ${routes.map((r) => r.name).join(' | ')} |`,
    `| --- | ${routes.map(() => '---:').join(' | ')} |`
  ]
  const off = routes.map((route) => offRows.find((o) => o.route === route && o.retainMb === 0))
  if (off.every((o) => o !== undefined)) lines.push(`| off (no plugin): CPU µs/request, req/s | ${off.map((o) => `${median(o?.cpu ?? []).toFixed(1)} µs, ${fmt(median(o?.rps ?? []))}/s`).join(' | ')} |`)
  for (const scenario of scenarios) {
    const cells = routes.map((route) => {
      const row = rows.find((r) => r.scenario === scenario && r.route === route)
      return row === undefined ? '' : `${signed(extraCpu(row))} (${pairedRatio(row).toFixed(2)}x)`
    })
    lines.push(`| ${scenario.name} | ${cells.join(' | ')} |`)
  }
  return lines.join('\n')
}

/** The targets (docs/performance.md), read off the headline for each toolbar scenario that ran beside the rows they compare with. */
function targets (rows: Row[], scenarios: Scenario[], routes: BenchRoute[]): string | undefined {
  const find = (name: string, route: BenchRoute): Row | undefined => rows.find((r) => r.scenario.name === name && r.route === route)
  const toolbarRows = scenarios.filter((s) => kindOf(s) === 'toolbar' && (s.retainMb ?? 0) === 0 && s.headers === undefined)
  const lines: string[] = []
  for (const s of toolbarRows) {
    for (const route of routes) {
      const row = find(s.name, route)
      if (row === undefined) continue
      const extra = extraCpu(row)
      const checks: string[] = []
      const metrics = find('peer-metrics', route)
      if (metrics !== undefined) checks.push(`${extra <= extraCpu(metrics) ? 'at most' : 'MORE than'} fastify-metrics (${signed(extraCpu(metrics))})`)
      const otel = find('peer-otel', route)
      if (otel !== undefined) checks.push(`${extra < extraCpu(otel) ? 'below' : 'NOT below'} @fastify/otel (${signed(extraCpu(otel))})`)
      for (const name of ['floor-contract', 'floor-record']) {
        const floor = find(name, route)
        if (floor === undefined) continue
        const times = extra / extraCpu(floor)
        checks.push(`${Number.isFinite(times) && times >= 0 ? `${times.toFixed(1)}x` : 'n/a'} ${name} (${signed(extraCpu(floor))})${times <= 2 && times >= 0 ? '' : ' — over 2x'}`)
      }
      const control = find('control', route)
      if (control !== undefined) checks.push(`control (a second plain server) ${signed(extraCpu(control))}`)
      if (checks.length > 0) lines.push(`- ${s.name}, ${route.name}: ${signed(extra)} µs; ${checks.join('; ')}`)
    }
  }
  if (lines.length === 0) return undefined
  return ['Targets (extra server CPU a request, median of round pairs):', ...lines].join('\n')
}

function table (rows: Row[]): string {
  const lines = [
    '| route | server | off req/s | on req/s | ratio on/off (medians) | ratio (median of round pairs) | server CPU µs/request off → on (medians) | extra CPU µs (median of round pairs) | extra CPU by round, min … max |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |'
  ]
  for (const row of rows) {
    const off = median(row.off)
    const on = median(row.on)
    const diffs = pairedDifferences(row.onCpu, row.offCpu)
    lines.push(`| ${row.route.name} | ${row.scenario.name} | ${fmt(off)} | ${fmt(on)} | ${(on / off).toFixed(3)} | ${pairedRatio(row).toFixed(3)} | ${median(row.offCpu).toFixed(1)} → ${median(row.onCpu).toFixed(1)} | ${signed(extraCpu(row))} | ${signed(Math.min(...diffs))} … ${signed(Math.max(...diffs))} |`)
  }
  return lines.join('\n')
}

/**
 * Does a sampler's per-request cost grow with the heap? The extra server CPU a request costs
 * (on − off) with ~300 MiB retained, over the same without, per sampler and route.
 */
function heapGrowth (rows: Row[], routes: BenchRoute[]): string | undefined {
  const pairs = [['native-all', 'native-all-300mb', 'native'], ['inspector-all', 'inspector-all-300mb', 'inspector']] as const
  const lines: string[] = []
  for (const [small, big, sampler] of pairs) {
    for (const route of routes) {
      const a = rows.find((r) => r.scenario.name === small && r.route === route)
      const b = rows.find((r) => r.scenario.name === big && r.route === route)
      if (a === undefined || b === undefined) continue
      const extraSmall = extraCpu(a)
      const extraBig = extraCpu(b)
      lines.push(`| ${sampler} | ${route.name} | ${extraSmall.toFixed(1)} | ${extraBig.toFixed(1)} | ${(extraBig / extraSmall).toFixed(2)} |`)
    }
  }
  if (lines.length === 0) return undefined
  return ['Per-request overhead by heap size (server CPU µs a request, on − off, median of round pairs):', '', '| sampler | route | ~10 MiB heap | ~300 MiB heap | 300 MiB / 10 MiB |', '| --- | --- | ---: | ---: | ---: |', ...lines].join('\n')
}

function roundsTable (rows: Row[], offRows: OffRow[]): string {
  const lines = ['| route | server | req/s by round | spread | server CPU µs/request by round | spread |', '| --- | --- | --- | ---: | --- | ---: |']
  for (const o of offRows) {
    lines.push(`| ${o.route.name} | off${o.retainMb > 0 ? ` (${o.retainMb} MiB)` : ''}, two runs a round | ${o.rps.map(fmt).join(', ')} | ${spreadPercent(o.rps).toFixed(0)}% | ${o.cpu.map((c) => c.toFixed(1)).join(', ')} | ${spreadPercent(o.cpu).toFixed(0)}% |`)
  }
  for (const row of rows) {
    lines.push(`| ${row.route.name} | ${row.scenario.name} | ${row.on.map(fmt).join(', ')} | ${spreadPercent(row.on).toFixed(0)}% | ${row.onCpu.map((c) => c.toFixed(1)).join(', ')} | ${spreadPercent(row.onCpu).toFixed(0)}% |`)
  }
  return lines.join('\n')
}

/** One line on how noisy the run was: how much the off server's own rounds disagree, route by route. */
function noiseSummary (rows: Row[], offRows: OffRow[]): string {
  const offSpreads = offRows.map((o) => `${o.route.name} ${spreadPercent(o.rps).toFixed(0)}% req/s, ${spreadPercent(o.cpu).toFixed(0)}% CPU`)
  const all = [...rows.map((r) => spreadPercent(r.on)), ...offRows.map((o) => spreadPercent(o.rps))]
  const cpuAll = [...rows.map((r) => spreadPercent(r.onCpu)), ...offRows.map((o) => spreadPercent(o.cpu))]
  const verdict = median(cpuAll) <= 10 ? 'calm' : median(cpuAll) <= 25 ? 'noisy' : 'very noisy'
  return [
    `Noise: ${verdict}. Round spread ((max − min) / median) of the off server: ${offSpreads.join('; ')}.`,
    `Across all rows: req/s spread median ${median(all).toFixed(0)}% (worst ${Math.max(...all).toFixed(0)}%), CPU µs/request spread median ${median(cpuAll).toFixed(0)}% (worst ${Math.max(...cpuAll).toFixed(0)}%).`,
    'An extra-CPU figure is only as good as the spread of its rounds in the table above; differences smaller than that range are noise.'
  ].join('\n')
}

/* ------------------------------------------------------------ main */

async function main (): Promise<void> {
  const rounds = envInt('BENCH_ROUNDS', QUICK ? 3 : 5, 3, 50)
  const duration = envInt('BENCH_DURATION', QUICK ? 1 : 3, 1, 60)
  const warmup = envInt('BENCH_WARMUP', 1, 0, 30)
  const scenarios = pickScenarios()
  const routes = pickRoutes()
  const base = basePluginOptions()
  // Counted before pinning: a pinned process sees one core.
  const cores = os.availableParallelism()
  let mode: Placement
  try {
    mode = placeLoadGenerator(PIN)
  } catch (err) {
    throw new BenchError((err as Error).message)
  }

  const retainSizes = [...new Set(scenarios.map((s) => s.retainMb ?? 0))]
  const runsPerRound = routes.length * (scenarios.length + 2 * retainSizes.length)
  const serverCount = scenarios.length + retainSizes.length
  const planned = runsPerRound * rounds * duration + serverCount * routes.length * warmup
  // Slack for a busy machine: the warm-up may repeat, start-ups and checks take longer.
  const limit = Math.ceil(planned * 1.5 + serverCount * routes.length * warmup * (WARMUP_MAX_CHUNKS - 1) + 60 * serverCount + 120)
  const watchdog = setTimeout(() => {
    console.error(`bench: still running after ${limit} s (planned ${planned} s of load): giving up`)
    shutdown(1)
  }, limit * 1000)
  watchdog.unref()

  const cpus = os.cpus()
  const [loadBefore = 0] = os.loadavg()
  const header = [
    '# fastify-debug-toolbar overhead',
    '',
    `- Node ${process.version} (${process.platform} ${process.arch}); CPU: ${cpus[0]?.model.trim() ?? 'unknown'}, ${cores} cores`,
    `- mode: ${placementLine(mode)}`,
    `- autocannon: ${CONNECTIONS} connections, pipelining ${PIPELINING}, ${duration} s a run, ${rounds} rounds${QUICK ? ' (--quick: a smoke run, not figures to quote)' : ''}, warm-up ${warmup} s a route and server (repeated, up to ${WARMUP_MAX_CHUNKS} times, until ${WARMUP_REQUESTS} requests)`,
    '- each round: every route on the off server, then on each scenario\'s server (order rotating by round), then on the off server again; a scenario is paired with the mean of those two off runs',
    `- routes: ${routes.map((r) => `${r.name} (${r.path})`).join(', ')}`,
    `- scenarios: ${scenarios.map((s) => s.name).join(', ')}`,
    `- load average (1 min) at the start: ${loadBefore.toFixed(2)}`
  ].join('\n')
  log(header)
  log(`planned load time about ${planned} s (time limit ${limit} s)`)

  // Start every server: one off server per heap size, one server per scenario.
  const groups: Group[] = []
  for (const retainMb of retainSizes) {
    const off = await startServer(`[off${retainMb > 0 ? `-${retainMb}mb` : ''}]`, 'off', {}, retainMb, 'bench', mode)
    groups.push({ retainMb, off, members: [] })
  }
  const started = await eachLimited(scenarios, 2, async (scenario) => {
    const options = optionsOf(scenario, base)
    const app = scenario.floor ?? scenario.peer ?? 'bench'
    const server = await startServer(`[${scenario.name}]`, kindOf(scenario) === 'control' ? 'off' : 'on', options, scenario.retainMb ?? 0, app, mode, scenario.checkout)
    return { scenario, server, options }
  })
  for (const m of started) groups.find((g) => g.retainMb === (m.scenario.retainMb ?? 0))?.members.push(m)
  for (const g of groups) {
    log(`servers: off ${g.off.url} (pid ${g.off.ready.pid}, heap ${mib(g.off.ready.heapUsed)}); ${g.members.map((m) => `${m.scenario.name} pid ${m.server.ready.pid}`).join(', ')}`)
    await verify(g.off, undefined, {}, routes)
    for (const m of g.members) await verify(m.server, m.scenario, m.options, routes)
  }
  log('verified: the off servers add nothing; each toolbar server profiles and injects, each floor writes what its level claims, each peer does its job')

  if (warmup > 0) {
    let longest = 0
    for (const g of groups) {
      for (const [server, headers] of [[g.off, {}], ...g.members.map((m) => [m.server, m.scenario.headers ?? {}] as const)] as const) {
        for (const route of routes) {
          // Enough requests for V8 to optimise the route's code, however slow the machine is.
          let served = 0
          let chunks = 0
          while (chunks < WARMUP_MAX_CHUNKS && (chunks === 0 || served < WARMUP_REQUESTS)) {
            served += (await load(server, route.path, warmup, headers)).requests
            chunks++
          }
          longest = Math.max(longest, chunks * warmup)
        }
      }
    }
    log(`warmed up (${warmup} s a route and server, up to ${WARMUP_MAX_CHUNKS * warmup} s until ${WARMUP_REQUESTS} requests; the longest took ${longest} s)`)
  }

  const rows: Row[] = []
  const offRows: OffRow[] = []
  for (const g of groups) {
    for (const route of routes) {
      offRows.push({ route, retainMb: g.retainMb, rps: [], cpu: [] })
      for (const m of g.members) rows.push({ scenario: m.scenario, route, off: [], on: [], offCpu: [], onCpu: [] })
    }
  }
  for (let round = 1; round <= rounds; round++) {
    for (const g of groups) {
      for (const route of routes) {
        // Rotate the order, so no scenario always runs right after (or long after) the off server.
        const shift = (round - 1) % Math.max(1, g.members.length)
        const order = [...g.members.slice(shift), ...g.members.slice(0, shift)]
        const first = await load(g.off, route.path, duration, {})
        const measured: Array<[Scenario, Measured]> = []
        for (const m of order) measured.push([m.scenario, await load(m.server, route.path, duration, m.scenario.headers ?? {})])
        const last = await load(g.off, route.path, duration, {})
        const offRow = offRows.find((o) => o.route === route && o.retainMb === g.retainMb)
        offRow?.rps.push(first.rps, last.rps)
        offRow?.cpu.push(first.cpuMicros, last.cpuMicros)
        const offRps = bracketMean(first.rps, last.rps)
        const offCpu = bracketMean(first.cpuMicros, last.cpuMicros)
        for (const [scenario, m] of measured) {
          const row = rows.find((r) => r.scenario === scenario && r.route === route)
          row?.off.push(offRps)
          row?.offCpu.push(offCpu)
          row?.on.push(m.rps)
          row?.onCpu.push(m.cpuMicros)
        }
        log(`round ${round}/${rounds} ${route.name.padEnd(14)} off ${fmt(offRps)} req/s ${offCpu.toFixed(1)} µs; ${measured.map(([s, m]) => `${s.name} ${signed(m.cpuMicros - offCpu)}`).join(', ')}`)
      }
    }
  }

  const notes: string[] = []
  for (const g of groups) {
    for (const m of g.members) {
      const counters = (await serverCpu(m.server)).counters
      if (kindOf(m.scenario) === 'toolbar') notes.push(`${m.scenario.name}: the store holds ${await verifyRecorded(m.server, m.options)} records`)
      if (m.scenario.peer === 'peer-otel') {
        if (counters.spansExported === 0) throw new BenchError(`${m.server.label}: the BatchSpanProcessor exported no span`)
        notes.push(`peer-otel: ${fmt(counters.spansExported)} spans went through the BatchSpanProcessor to the no-op exporter`)
      }
      if (m.scenario.floor === 'floor-read') notes.push(`floor-read: ${fmt(counters.profilesRead)} profiles read`)
    }
  }
  clearTimeout(watchdog)
  const [loadAfter = 0] = os.loadavg()

  const out = [
    header,
    `- load average (1 min) at the end: ${loadAfter.toFixed(2)}`,
    '',
    'Extra server CPU µs a request (the scenario\'s server minus the off server, median of round pairs; each server process\'s own CPU time, user + system, over the requests it completed), and throughput on/off (median of round pairs) in brackets:',
    '',
    headline(rows, scenarios, routes, offRows),
    ''
  ]
  const t = targets(rows, scenarios, routes)
  if (t !== undefined) out.push(t, '')
  out.push(table(rows), '')
  const growth = heapGrowth(rows, routes)
  if (growth !== undefined) out.push(growth, '')
  out.push('Rounds (the off server runs twice a round, before and after the scenarios):', '', roundsTable(rows, offRows), '', noiseSummary(rows, offRows))
  if (notes.length > 0) out.push('', ...notes.map((n) => `- ${n}`))
  console.log(out.join('\n'))
}

process.on('SIGINT', () => { shutdown(130) })
process.on('SIGTERM', () => { shutdown(143) })

try {
  await main()
  await shutdown(0)
} catch (err) {
  console.error(err instanceof BenchError ? `bench failed: ${err.message}` : err)
  await shutdown(1)
}
