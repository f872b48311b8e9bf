/**
 * `npm run bench:instructions`: instructions a request, counted by callgrind, for the server without
 * a plugin and for each scenario, on each route. Counts do not move with the machine's load, so on a
 * shared machine they settle what wall-clock rounds cannot; they do not see cache misses or waits.
 *
 * Each server runs under `valgrind --tool=callgrind --separate-threads=yes`, with V8's GC on the main
 * thread (`--single-threaded-gc`), so the main thread's count holds the request's code and its
 * garbage collection, and leaves out the optimising compiler's threads. V8 shrinks its young
 * generation when a process allocates slowly, as every process does under valgrind, so the semi-space
 * is held at the size a loaded server reaches (16 MiB here: a scavenge every ~62 requests on the API
 * route, as without valgrind). For each route: warm-up requests, two full GCs (so that no garbage
 * of start-up or of the route before is collected in the count), counters zeroed, the counted
 * requests, a dump; 10 connections throughout. Every route is counted over several scavenges: a
 * route that allocates little gets more requests.
 *
 * Env: INSTR_SCENARIOS (comma list of bench scenarios; default no-sampling, the floors floor-contract
 * and floor-record, and the three peers), INSTR_ROUTES (paths; default /hello,/api/products,/page),
 * INSTR_WARMUP (3000 requests a route), INSTR_COUNT (requests counted on every route; default
 * 10,000 on hello JSON, 2,000 on the API route, 4,000 on the pages), INSTR_SEMI_SPACE_MB
 * (16), INSTR_DIR (where the dumps go; default a temporary directory, removed at the end). Needs
 * valgrind (Debian: valgrind).
 *
 * The toolbar's default options are not in the default list: its budget samples 20 requests a
 * second, and under callgrind a server serves a few dozen to a few hundred a second, so far more of
 * them would be sampled than at full speed. `native-all` counts what one sampled request costs.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import autocannon from 'autocannon'
import { ROUTES, SCENARIOS, type BenchRoute, type Scenario } from './scenarios.ts'
import type { GcReply, GcRequest, ReadyMessage } from './server.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SERVER_SCRIPT = fileURLToPath(new URL('./server.ts', import.meta.url))
const run = promisify(execFile)

const DEFAULT_SCENARIOS = 'no-sampling,floor-contract,floor-record,peer-metrics,peer-otel,peer-memory'
const warmup = Number(process.env.INSTR_WARMUP ?? 3000)
/** Requests counted a route by default: about six scavenges or more at a 16 MiB semi-space. */
const DEFAULT_COUNTS: Record<string, number> = { '/hello': 10_000, '/api/products': 2000 }
function countFor (route: BenchRoute): number {
  return Number(process.env.INSTR_COUNT ?? DEFAULT_COUNTS[route.path] ?? 4000)
}
const semiSpaceMb = Number(process.env.INSTR_SEMI_SPACE_MB ?? 16)
const keepDir = process.env.INSTR_DIR
const dir = keepDir ?? mkdtempSync(path.join(os.tmpdir(), 'fdt-instructions-'))

function log (line: string): void {
  process.stderr.write(line + '\n')
}

function pick<T extends { name: string }> (list: readonly T[], names: string, what: string, key: (t: T) => string = (t) => t.name): T[] {
  return names.split(',').map((s) => s.trim()).filter(Boolean).map((n) => {
    const found = list.find((t) => key(t) === n)
    if (found === undefined) throw new Error(`unknown ${what} ${JSON.stringify(n)}; known: ${list.map(key).join(', ')}`)
    return found
  })
}

interface Counted { child: ChildProcess, pid: number, url: string, label: string }

async function start (label: string, scenario: Scenario | undefined): Promise<Counted> {
  const app = scenario?.floor ?? scenario?.peer ?? 'bench'
  const child = spawn('valgrind', [
    '--tool=callgrind', '--smc-check=all-non-file', '--separate-threads=yes', '--quiet',
    `--callgrind-out-file=${path.join(dir, label)}.%p`,
    process.execPath, '--expose-gc', '--single-threaded-gc', `--min-semi-space-size=${semiSpaceMb}`, `--max-semi-space-size=${semiSpaceMb}`, '--import', 'tsx', SERVER_SCRIPT,
    '--plugin', scenario === undefined || scenario.control === true ? 'off' : 'on', '--app', app
  ], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    env: { ...process.env, BENCH_PLUGIN_OPTIONS: JSON.stringify(scenario?.pluginOptions ?? {}) }
  })
  const ready = await new Promise<ReadyMessage>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`${label}: not listening after 10 minutes`)) }, 600_000)
    child.once('error', reject)
    child.once('exit', (code) => { reject(new Error(`${label}: the server exited (code ${code}); is valgrind installed?`)) })
    child.on('message', (m: ReadyMessage) => {
      if (m?.type !== 'ready') return
      clearTimeout(timer)
      resolve(m)
    })
  })
  return { child, pid: ready.pid, url: `http://127.0.0.1:${ready.port}`, label }
}

async function drive (url: string, amount: number, headers: Record<string, string> | undefined): Promise<void> {
  const r = await autocannon({ url, connections: 10, amount, headers, timeout: 60 })
  if (r.non2xx > 0 || r.errors > 0 || r.timeouts > 0) throw new Error(`${url}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`)
}

/** The main thread's instruction count in the dump callgrind_control just asked for. */
async function dumpedInstructions (server: Counted, before: ReadonlySet<string>): Promise<number> {
  const prefix = `${server.label}.${server.pid}.`
  for (let tries = 0; tries < 100; tries++) {
    const fresh = readdirSync(dir).filter((f) => f.startsWith(prefix) && f.endsWith('-01') && !before.has(f))
    if (fresh.length === 1) {
      const text = await readFile(path.join(dir, fresh[0] as string), 'utf8')
      const line = /^(?:summary|totals): (\d+)/m.exec(text)
      if (line !== null) return Number(line[1])
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`${server.label}: no callgrind dump appeared in ${dir}`)
}

/** Two full GCs in the server, answered once done. */
async function collect (server: Counted): Promise<void> {
  const done = new Promise<GcReply>((resolve) => {
    const onMessage = (m: GcReply): void => {
      if (m?.type !== 'gc') return
      server.child.off('message', onMessage)
      resolve(m)
    }
    server.child.on('message', onMessage)
  })
  server.child.send({ type: 'gc' } satisfies GcRequest)
  if (!(await done).done) throw new Error(`${server.label}: the server has no gc() (--expose-gc)`)
}

async function countRoute (server: Counted, route: BenchRoute, headers: Record<string, string> | undefined): Promise<number> {
  const url = server.url + route.path
  const counted = countFor(route)
  await drive(url, warmup, headers)
  await collect(server)
  await run('callgrind_control', ['-z', String(server.pid)])
  await drive(url, counted, headers)
  const before = new Set(readdirSync(dir))
  await run('callgrind_control', ['-d', String(server.pid)])
  return (await dumpedInstructions(server, before)) / counted
}

async function stop (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  await exited
}

function thousands (n: number): string {
  return `${Math.round(n / 1000).toLocaleString('en-US')}k`
}

async function main (): Promise<void> {
  const scenarios = pick(SCENARIOS, process.env.INSTR_SCENARIOS ?? DEFAULT_SCENARIOS, 'scenario')
  const routes = pick(ROUTES, process.env.INSTR_ROUTES ?? '/hello,/api/products,/page', 'route', (r) => r.path)
  log(`callgrind, main thread, semi-space ${semiSpaceMb} MiB; ${warmup} requests to warm up a route, then ${routes.map((r) => `${countFor(r)} counted on ${r.path}`).join(', ')}; 10 connections; dumps in ${dir}`)
  const rows: Array<{ name: string, perRequest: number[] }> = []
  for (const scenario of [undefined, ...scenarios]) {
    const name = scenario?.name ?? 'off'
    log(`${name}: starting under valgrind`)
    const server = await start(name, scenario)
    try {
      const perRequest: number[] = []
      for (const route of routes) {
        perRequest.push(await countRoute(server, route, scenario?.headers))
        log(`${name} ${route.path}: ${thousands(perRequest[perRequest.length - 1] as number)} instructions a request`)
      }
      rows.push({ name, perRequest })
    } finally {
      await stop(server.child)
    }
  }
  const off = rows[0] as { perRequest: number[] }
  const lines = [
    `| server | ${routes.map((r) => r.name).join(' | ')} |`,
    `| --- | ${routes.map(() => '---:').join(' | ')} |`,
    `| off: instructions a request | ${off.perRequest.map(thousands).join(' | ')} |`,
    ...rows.slice(1).map((r) => `| ${r.name} | ${r.perRequest.map((n, i) => {
      const d = n - (off.perRequest[i] as number)
      return `${d >= 0 ? '+' : '−'}${thousands(Math.abs(d))}`
    }).join(' | ')} |`)
  ]
  console.log(lines.join('\n'))
}

try {
  await main()
} finally {
  if (keepDir === undefined) rmSync(dir, { recursive: true, force: true })
}
