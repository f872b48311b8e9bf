/**
 * `npm run bench`: how much the toolbar costs per request. A benchmark, not a test.
 *
 * Every server runs in a child process of its own (bench/server.ts), so it does not share an event
 * loop with autocannon, which runs here. For each scenario (bench/scenarios.ts) one server runs
 * without the toolbar and one with it; after a warm-up, rounds alternate off and on for each route
 * and the table shows medians. Everything listens on 127.0.0.1 and every step has a time limit.
 *
 * Env: BENCH_ROUNDS (5, min 3), BENCH_DURATION seconds a run (5), BENCH_WARMUP seconds a route
 * and server (2), BENCH_SCENARIOS (comma list, or "all"; default: the default scenarios),
 * BENCH_PLUGIN_OPTIONS (JSON, extra toolbar options for every "on" server). `--floor` runs the
 * hand-written floor of bench/floor.ts (what the contract costs without the toolbar) beside the
 * toolbar without sampling and with native sampling on every request.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import os from 'node:os'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import type { DebugToolbarOptions } from '../src/index.ts'
import { FLOOR_LEVELS } from './floor.ts'
import { ROUTES, SCENARIOS, type BenchRoute, type Scenario } from './scenarios.ts'
import type { CpuReply, CpuRequest, ReadyMessage } from './server.ts'

const CONNECTIONS = 10
const PIPELINING = 1
const HOST = '127.0.0.1'
const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SERVER_SCRIPT = fileURLToPath(new URL('./server.ts', import.meta.url))
const ID_HEADER = 'x-debug-toolbar-id'

class BenchError extends Error {}

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

function pickScenarios (): Scenario[] {
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

/* ------------------------------------------------------------ child servers */

interface Server {
  label: string
  child: ChildProcess
  url: string
  ready: ReadyMessage
}

const children = new Set<ChildProcess>()

/** Start bench/server.ts in a new Node process and wait (at most 60 s) until it listens. */
async function startServer (label: string, plugin: 'on' | 'off', pluginOptions: DebugToolbarOptions, retainMb: number, app = 'bench'): Promise<Server> {
  const child = spawn(process.execPath, [
    '--import', 'tsx', SERVER_SCRIPT,
    '--plugin', plugin, '--app', app, '--retain-mb', String(retainMb)
  ], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, BENCH_PLUGIN_OPTIONS: JSON.stringify(pluginOptions) }
  })
  children.add(child)
  child.once('exit', () => children.delete(child))
  const ready = await new Promise<ReadyMessage>((resolve, reject) => {
    const timer = setTimeout(() => reject(new BenchError(`${label}: server not ready after 60 s`)), 60_000)
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

/* ------------------------------------------------------------ checks */

async function get (url: string, headers: Record<string, string>): Promise<{ status: number, headers: Headers, body: string }> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) })
  return { status: res.status, headers: res.headers, body: await res.text() }
}

/**
 * Make sure each server is what the row claims: the "off" one adds nothing, the "on" one really
 * profiles (id header, Server-Timing, the script injected before </body> in HTML). Throws otherwise.
 */
async function verify (server: Server, on: boolean, options: DebugToolbarOptions, scenario: Scenario): Promise<void> {
  const problems: string[] = []
  for (const route of ROUTES) {
    const r = await get(server.url + route.path, scenario.headers ?? {})
    const where = `${server.label} ${route.path}`
    if (r.status !== 200) problems.push(`${where}: status ${r.status}`)
    if (route.html) {
      if (!r.body.includes('</body>')) problems.push(`${where}: the page has no </body>`)
    } else if (r.body !== JSON.stringify({ hello: 'world' })) {
      problems.push(`${where}: unexpected body ${r.body.slice(0, 80)}`)
    }
    const id = r.headers.get(ID_HEADER)
    const timing = r.headers.get('server-timing') ?? ''
    const injectedAt = r.body.indexOf('data-debug-toolbar=')
    if (!on) {
      if (id !== null) problems.push(`${where}: has ${ID_HEADER} although the toolbar is off`)
      if (injectedAt !== -1) problems.push(`${where}: has the toolbar script although the toolbar is off`)
      continue
    }
    if (id === null || !/^[0-9a-f]{32}$/.test(id)) problems.push(`${where}: no valid ${ID_HEADER} header (got ${JSON.stringify(id)})`)
    if (options.serverTiming !== false && !timing.includes('memory-profiling')) problems.push(`${where}: no toolbar Server-Timing entry (got ${JSON.stringify(timing)})`)
    if (scenario.headers?.['x-debug-toolbar-precise'] === '1' && options.serverTiming !== false && !timing.includes('precise')) {
      problems.push(`${where}: precise mode was asked for but Server-Timing does not say "precise"`)
    }
    const sampler = options.allocations === false ? undefined : (typeof options.allocations === 'object' && options.allocations.sampler === 'inspector' ? 'inspector' : 'native')
    if (sampler !== undefined && options.serverTiming !== false && !timing.includes('memory-sampling;dur=')) problems.push(`${where}: allocation sampling is on but Server-Timing has no memory-sampling entry (got ${JSON.stringify(timing)})`)
    if (sampler === 'inspector' && options.serverTiming !== false && !timing.includes('inspector')) problems.push(`${where}: the inspector sampler was asked for but Server-Timing does not name it`)
    if (route.html && options.inject !== false) {
      const tag = r.body.lastIndexOf('<script type="module"', injectedAt)
      if (injectedAt === -1 || tag === -1) problems.push(`${where}: the toolbar <script type="module"> was not injected`)
      else if (!r.body.includes(`data-debug-toolbar="${id ?? ''}"`)) problems.push(`${where}: the injected script does not carry this response's id`)
      else if (injectedAt > r.body.lastIndexOf('</body>')) problems.push(`${where}: the toolbar script is not before </body>`)
    }
    if (route.html && options.inject === false && injectedAt !== -1) problems.push(`${where}: injected although inject is false`)
  }
  if (problems.length > 0) throw new BenchError(`verification failed:\n  ${problems.join('\n  ')}`)
}

/** After measuring: the "on" server's store has records. */
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

/** The server process's CPU time so far (user + system), in µs, asked over IPC. */
async function serverCpu (server: Server): Promise<number> {
  const seq = ++cpuSeq
  return await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      server.child.off('message', onMessage)
      reject(new BenchError(`${server.label}: no answer to a CPU-time request in 10 s`))
    }, 10_000)
    function onMessage (msg: CpuReply): void {
      if (msg?.type !== 'cpu' || msg.seq !== seq) return
      clearTimeout(timer)
      server.child.off('message', onMessage)
      resolve(msg.micros)
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
}

/** Drive one route of one server for `seconds`; any error, timeout or non-2xx fails the bench. */
async function load (server: Server, path: string, seconds: number, headers: Record<string, string>): Promise<Measured> {
  const url = server.url + path
  const cpuBefore = await serverCpu(server)
  const result = await autocannon({ url, connections: CONNECTIONS, pipelining: PIPELINING, duration: seconds, headers, timeout: 10 })
  const cpuAfter = await serverCpu(server)
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new BenchError(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`)
  }
  if (result.requests.total === 0) throw new BenchError(`${url}: no request completed`)
  return { rps: result.requests.total / result.duration, cpuMicros: (cpuAfter - cpuBefore) / result.requests.total }
}

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2
}

interface Row {
  scenario: Scenario
  route: BenchRoute
  /** req/s by round. */
  off: number[]
  on: number[]
  /** Server CPU µs a request, by round. */
  offCpu: number[]
  onCpu: number[]
}

async function runScenario (scenario: Scenario, base: DebugToolbarOptions, rounds: number, duration: number, warmup: number): Promise<Row[]> {
  const floorRank = scenario.floor === undefined ? -1 : FLOOR_LEVELS.indexOf(scenario.floor)
  // A floor server is checked for what its level writes, described as the toolbar options that
  // would write the same (no sampling; Server-Timing from floor-headers on; the tag from floor-contract on).
  const options: DebugToolbarOptions = floorRank === -1
    ? { ...base, ...scenario.pluginOptions }
    : { allocations: false, serverTiming: floorRank >= 1, inject: floorRank >= 2 }
  const retainMb = scenario.retainMb ?? 0
  const headers = scenario.headers ?? {}
  log(`\n## scenario ${scenario.name}: ${scenario.description}`)
  const off = await startServer(`[${scenario.name}/off]`, 'off', {}, retainMb)
  const on = await startServer(`[${scenario.name}/on]`, 'on', options, retainMb, scenario.floor)
  try {
    log(`servers: off ${off.url} (pid ${off.ready.pid}, heap ${mib(off.ready.heapUsed)}), on ${on.url} (pid ${on.ready.pid}, heap ${mib(on.ready.heapUsed)})`)
    await verify(off, false, options, scenario)
    await verify(on, floorRank !== 0, options, scenario)
    log(floorRank === -1 ? 'verified: the "on" server profiles and injects, the "off" server adds nothing' : `verified: the "on" server writes what ${scenario.floor ?? ''} claims, the "off" server adds nothing`)

    if (warmup > 0) {
      for (const server of [off, on]) {
        for (const route of ROUTES) await load(server, route.path, warmup, headers)
      }
      log(`warmed up (${warmup} s a route and server)`)
    }

    const rows: Row[] = ROUTES.map((route) => ({ scenario, route, off: [], on: [], offCpu: [], onCpu: [] }))
    for (let round = 1; round <= rounds; round++) {
      for (const row of rows) {
        // Alternate which goes first, so drift (thermal, page cache, GC) does not favour one side.
        const order: Array<['off' | 'on', Server]> = round % 2 === 1 ? [['off', off], ['on', on]] : [['on', on], ['off', off]]
        for (const [mode, server] of order) {
          const m = await load(server, row.route.path, duration, headers)
          row[mode].push(m.rps)
          row[mode === 'off' ? 'offCpu' : 'onCpu'].push(m.cpuMicros)
        }
        log(`round ${round}/${rounds} ${row.route.name.padEnd(10)} off ${fmt(row.off.at(-1) ?? NaN)} req/s (${(row.offCpu.at(-1) ?? NaN).toFixed(1)} µs CPU/req), on ${fmt(row.on.at(-1) ?? NaN)} req/s (${(row.onCpu.at(-1) ?? NaN).toFixed(1)} µs CPU/req)`)
      }
    }
    if (floorRank === -1) {
      const stored = await verifyRecorded(on, options)
      log(`the "on" server holds ${stored} records`)
    }
    return rows
  } finally {
    await Promise.all([stopChild(off.child), stopChild(on.child)])
  }
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

/**
 * Extra server CPU a request with the toolbar, µs: the median of each round's on − off. Each
 * round's two runs are back to back, so drift over the run (another process, the page cache, a
 * bigger heap's GCs) cancels out better than in the difference of the two medians.
 */
function extraCpu (row: Row): number {
  return median(row.onCpu.map((on, i) => on - (row.offCpu[i] ?? NaN)))
}

/**
 * Throughput ratio on/off of each round (an off run and the on run next to it), median over rounds:
 * a burst of load from elsewhere on the machine slows one round of both servers, not one server of
 * every round, so the pairs resist it better than the ratio of the two medians.
 */
function pairedRatio (row: Row): number {
  return median(row.on.map((on, i) => on / (row.off[i] ?? NaN)))
}

function table (rows: Row[]): string {
  const lines = [
    '| route | off req/s (median) | on req/s (median) | ratio on/off | ratio, median of round pairs | overhead µs/request (1e6/on − 1e6/off) | server CPU µs/request off → on (medians; extra: median of round pairs) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |'
  ]
  for (const row of rows) {
    const off = median(row.off)
    const on = median(row.on)
    const label = row.scenario.name === 'default' ? row.route.name : `${row.route.name} [${row.scenario.name}]`
    const offCpu = median(row.offCpu)
    const onCpu = median(row.onCpu)
    lines.push(`| ${label} | ${fmt(off)} | ${fmt(on)} | ${(on / off).toFixed(3)} | ${pairedRatio(row).toFixed(3)} | ${(1e6 / on - 1e6 / off).toFixed(1)} | ${offCpu.toFixed(1)} → ${onCpu.toFixed(1)} (${signed(extraCpu(row))}) |`)
  }
  return lines.join('\n')
}

/**
 * Does a sampler's per-request cost grow with the heap? The extra server CPU a request costs
 * (on − off) with ~300 MiB retained, over the same without, per sampler and route.
 */
function heapGrowth (rows: Row[]): string | undefined {
  const pairs = [['native-all', 'native-all-300mb', 'native'], ['inspector-all', 'inspector-all-300mb', 'inspector']] as const
  const lines: string[] = []
  for (const [small, big, sampler] of pairs) {
    for (const route of ROUTES) {
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

/** (max − min) / median, as a percentage. */
function spread (xs: number[]): number {
  return ((Math.max(...xs) - Math.min(...xs)) / median(xs)) * 100
}

function roundsTable (rows: Row[]): string {
  const lines = ['| route | off req/s by round | spread | on req/s by round | spread |', '| --- | --- | ---: | --- | ---: |']
  for (const row of rows) {
    const label = row.scenario.name === 'default' ? row.route.name : `${row.route.name} [${row.scenario.name}]`
    lines.push(`| ${label} | ${row.off.map(fmt).join(', ')} | ${spread(row.off).toFixed(0)}% | ${row.on.map(fmt).join(', ')} | ${spread(row.on).toFixed(0)}% |`)
  }
  return lines.join('\n')
}

/** A warning when rounds disagree a lot: the machine was busy, the medians are less trustworthy. */
function noiseWarning (rows: Row[]): string | undefined {
  const noisy = rows.filter((r) => spread(r.off) > 20 || spread(r.on) > 20)
  if (noisy.length === 0) return undefined
  return `Warning: rounds differ by more than 20% for ${noisy.map((r) => `${r.route.name} [${r.scenario.name}]`).join(', ')}; something else was probably using the CPU. Run again on an idle machine, or with more rounds.`
}

/* ------------------------------------------------------------ main */

async function main (): Promise<void> {
  const rounds = envInt('BENCH_ROUNDS', 5, 3, 50)
  const duration = envInt('BENCH_DURATION', 5, 1, 60)
  const warmup = envInt('BENCH_WARMUP', 2, 0, 30)
  const scenarios = pickScenarios()
  const base = basePluginOptions()

  // Bound the whole run: the planned load time, plus start-up, checks and slack.
  const planned = scenarios.length * ROUTES.length * (2 * warmup + 2 * rounds * duration)
  const limit = Math.ceil(planned * 1.5 + 60 * scenarios.length + 60)
  const watchdog = setTimeout(() => {
    console.error(`bench: still running after ${limit} s (planned ${planned} s of load): giving up`)
    shutdown(1)
  }, limit * 1000)
  watchdog.unref()

  const cpus = os.cpus()
  const header = [
    '# fastify-debug-toolbar overhead',
    '',
    `- Node ${process.version} (${process.platform} ${process.arch})`,
    `- CPU: ${cpus[0]?.model.trim() ?? 'unknown'}, ${os.availableParallelism()} cores`,
    `- autocannon: ${CONNECTIONS} connections, pipelining ${PIPELINING}, ${duration} s a run, ${rounds} rounds off and on alternately, ${warmup} s warm-up`,
    `- servers: one child process each, on ${HOST}; scenarios: ${scenarios.map((s) => s.name).join(', ')}`
  ].join('\n')
  log(header)
  log(`planned load time about ${planned} s (time limit ${limit} s)`)
  const [load1 = 0] = os.loadavg()
  if (load1 > 0.5) log(`note: load average is ${load1.toFixed(2)} before starting: other processes are using the CPU and will add noise`)

  const rows: Row[] = []
  for (const scenario of scenarios) rows.push(...await runScenario(scenario, base, rounds, duration, warmup))
  clearTimeout(watchdog)

  console.log(header)
  console.log('')
  console.log(table(rows))
  console.log('')
  console.log('Overhead is the extra server time a request costs, read off throughput while 10 connections keep the server busy. Server CPU µs/request is the server process\'s own CPU time (user + system) over the requests it completed: less sensitive to a busy machine or a saturated load generator. The rounds below show the noise.')
  const growth = heapGrowth(rows)
  if (growth !== undefined) {
    console.log('')
    console.log(growth)
  }
  console.log('')
  console.log(roundsTable(rows))
  const warning = noiseWarning(rows)
  if (warning !== undefined) console.log(`\n${warning}`)
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
