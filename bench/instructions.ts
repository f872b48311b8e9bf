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
 * route that allocates little gets more requests. Each figure is given whole and outside V8's
 * garbage collector: under valgrind, where V8's marking cycles fall is a matter of its clock-driven
 * heuristics, and one in a count moves a collecting route's total by 100k instructions a request
 * or more; the GC's real share is better read from `node --trace-gc-nvp` at full speed.
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
import { message } from './child-message.ts'
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
  // A spawn failure (no valgrind) is an 'error' without an 'exit'.
  const failed = new Promise<never>((_resolve, reject) => { child.once('error', reject) })
  failed.catch(() => {})
  const ready = await Promise.race([message<ReadyMessage>(child, (m) => m.type === 'ready', 600_000), failed]).catch((err: Error) => {
    throw new Error(`${label}: ${err.message}; is valgrind installed?`)
  })
  return { child, pid: ready.pid, url: `http://127.0.0.1:${ready.port}`, label }
}

async function drive (url: string, amount: number, headers: Record<string, string> | undefined): Promise<void> {
  const r = await autocannon({ url, connections: 10, amount, headers, timeout: 60 })
  if (r.non2xx > 0 || r.errors > 0 || r.timeouts > 0) throw new Error(`${url}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`)
}

/** A route's count: instructions a request, and of them those in V8's garbage collector. */
interface Count { all: number, gc: number }

/**
 * V8's garbage collector, by function name: scavenges, incremental and full marking, sweeping,
 * evacuation, remembered sets, the write barrier. Callgrind's self counts add up, so summing those
 * functions' (and the memcpy they call to move objects) gives the GC's part, each instruction once.
 */
const GC_FUNCTION = /v8::internal::(?:Scaveng|Mark|Sweep|Evacuat|Incremental|MinorMC|Remembered|SlotSet|TypedSlot|LiveObject|Concurrent|Heap::|HeapObject::SizeFromMap|BodyDescriptor|Pretenuring|RecordMigrated|ArrayBufferSweeper|FreeList|PagedSpace|SemiSpace|NewSpace|MemoryAllocator|Worklist)|heap::base::|Builtins_RecordWrite/
const MEMORY_COPY = /mem(?:cpy|move|set)/

/** The main thread's dump that callgrind_control just asked for. */
async function dumpedFile (server: Counted, before: ReadonlySet<string>): Promise<string> {
  const prefix = `${server.label}.${server.pid}.`
  for (let tries = 0; tries < 100; tries++) {
    const fresh = readdirSync(dir).filter((f) => f.startsWith(prefix) && f.endsWith('-01') && !before.has(f))
    if (fresh.length === 1) {
      const file = path.join(dir, fresh[0] as string)
      if (/^(?:summary|totals): \d+/m.test(await readFile(file, 'utf8'))) return file
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`${server.label}: no callgrind dump appeared in ${dir}`)
}

/**
 * A dump's instructions a request, all and the GC's, read from callgrind's format: `fn=`/`cfn=`
 * name a function or a callee (by number once named), a cost line after `calls=` is that call's
 * inclusive count, any other cost line the current function's own.
 */
function splitDump (text: string, requests: number): Count {
  const names = new Map<string, string>()
  const isGc = new Map<string, boolean>()
  const gcName = (n: string): boolean => {
    let v = isGc.get(n)
    if (v === undefined) isGc.set(n, v = GC_FUNCTION.test(n))
    return v
  }
  let fn = ''
  let callee = ''
  let call = false
  let all = 0
  let gc = 0
  for (const line of text.split('\n')) {
    const named = /^(c?fn)=\((\d+)\)(?: (.*))?$/.exec(line)
    if (named !== null) {
      if (named[3] !== undefined) names.set(named[2] as string, named[3])
      const name = names.get(named[2] as string) ?? ''
      if (named[1] === 'fn') fn = name
      else callee = name
    } else if (line.startsWith('calls=')) {
      call = true
    } else if (/^[+\-*\d]/.test(line)) {
      const n = Number(line.split(' ')[1])
      if (Number.isNaN(n)) continue
      if (call) {
        call = false
        if (gcName(fn) && MEMORY_COPY.test(callee)) gc += n
      } else {
        all += n
        if (gcName(fn)) gc += n
      }
    }
  }
  return { all: all / requests, gc: gc / requests }
}

/** Two full GCs in the server, answered once done. */
async function collect (server: Counted): Promise<void> {
  const done = message<GcReply>(server.child, (m) => m.type === 'gc', 600_000)
  server.child.send({ type: 'gc' } satisfies GcRequest)
  if (!(await done).done) throw new Error(`${server.label}: the server has no gc() (--expose-gc)`)
}

async function countRoute (server: Counted, route: BenchRoute, headers: Record<string, string> | undefined): Promise<Count> {
  const url = server.url + route.path
  const counted = countFor(route)
  await drive(url, warmup, headers)
  await collect(server)
  await run('callgrind_control', ['-z', String(server.pid)])
  await drive(url, counted, headers)
  const before = new Set(readdirSync(dir))
  await run('callgrind_control', ['-d', String(server.pid)])
  return splitDump(await readFile(await dumpedFile(server, before), 'utf8'), counted)
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
  const rows: Array<{ name: string, counts: Count[] }> = []
  for (const scenario of [undefined, ...scenarios]) {
    const name = scenario?.name ?? 'off'
    log(`${name}: starting under valgrind`)
    const server = await start(name, scenario)
    try {
      const counts: Count[] = []
      for (const route of routes) {
        const c = await countRoute(server, route, scenario?.headers)
        counts.push(c)
        log(`${name} ${route.path}: ${thousands(c.all)} instructions a request, ${thousands(c.gc)} of them in the GC`)
      }
      rows.push({ name, counts })
    } finally {
      await stop(server.child)
    }
  }
  const off = (rows[0] as { counts: Count[] }).counts
  const signed = (d: number): string => `${d >= 0 ? '+' : '−'}${thousands(Math.abs(d))}`
  const lines = [
    'Instructions a request: all, and in brackets outside the garbage collector (whose work in a count depends on where V8\'s marking cycles fall).',
    '',
    `| server | ${routes.map((r) => r.name).join(' | ')} |`,
    `| --- | ${routes.map(() => '---:').join(' | ')} |`,
    `| off | ${off.map((c) => `${thousands(c.all)} (${thousands(c.all - c.gc)})`).join(' | ')} |`,
    ...rows.slice(1).map((r) => `| ${r.name} | ${r.counts.map((c, i) => {
      const o = off[i] as Count
      return `${signed(c.all - o.all)} (${signed(c.all - c.gc - (o.all - o.gc))})`
    }).join(' | ')} |`)
  ]
  console.log(lines.join('\n'))
}

try {
  await main()
} finally {
  if (keepDir === undefined) rmSync(dir, { recursive: true, force: true })
}
