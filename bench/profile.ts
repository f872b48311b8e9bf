/**
 * `npm run bench:profile`: where a route's extra server time goes with the toolbar. A profile, not
 * a benchmark: V8's sampling CPU profiler runs in each server while autocannon drives one route, and
 * the main thread's sampled time is split by where the code lives (the toolbar's src/, Fastify, the
 * view engine, Node's http and streams, the garbage collector) per completed request, side by side
 * with the server without the toolbar. For the toolbar's servers, the time under the toolbar's own
 * frames is split again by hook (the outermost src/ frame) and by function.
 *
 * Env: PROFILE_ROUTE (/page), PROFILE_SCENARIOS (comma list of bench scenarios; default
 * "no-sampling,default"), PROFILE_SECONDS (10) a server, PROFILE_INTERVAL_US (100), PROFILE_DIR
 * (where the .cpuprofile files go; default a temporary directory). Sampling costs time itself: read
 * the shares and the differences, not the absolute µs, as the figures of a profile.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { message } from './child-message.ts'
import type { CpuProfile } from './cpu-profile.ts'
import { SCENARIOS, type Scenario } from './scenarios.ts'
import type { CpuReply, CpuRequest, ProfileReply, ProfileRequest, ReadyMessage } from './server.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SERVER_SCRIPT = fileURLToPath(new URL('./server.ts', import.meta.url))
const route = process.env.PROFILE_ROUTE ?? '/page'
const seconds = Number(process.env.PROFILE_SECONDS ?? 10)
const intervalMicros = Number(process.env.PROFILE_INTERVAL_US ?? 100)
const dir = process.env.PROFILE_DIR ?? mkdtempSync(path.join(os.tmpdir(), 'fdt-profile-'))
const names = (process.env.PROFILE_SCENARIOS ?? 'no-sampling,default').split(',').map((s) => s.trim()).filter(Boolean)

function log (line: string): void {
  process.stderr.write(line + '\n')
}

interface Running { child: ChildProcess, url: string }

async function start (scenario: Scenario | undefined): Promise<Running> {
  const app = scenario?.floor ?? scenario?.peer ?? 'bench'
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER_SCRIPT, '--plugin', scenario === undefined ? 'off' : 'on', '--app', app, '--retain-mb', String(scenario?.retainMb ?? 0)], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, BENCH_PLUGIN_OPTIONS: JSON.stringify(scenario?.pluginOptions ?? {}) }
  })
  const ready = await message<ReadyMessage>(child, (m) => m.type === 'ready')
  return { child, url: `http://127.0.0.1:${ready.port}` }
}

async function ask (child: ChildProcess, request: ProfileRequest): Promise<void> {
  const answer = message<ProfileReply>(child, (m) => m.type === 'profile')
  child.send(request)
  await answer
}

/** The server process's CPU time so far (user + system), µs. */
async function cpuMicros (child: ChildProcess): Promise<number> {
  const answer = message<CpuReply>(child, (m) => m.type === 'cpu')
  child.send({ type: 'cpu', seq: 0 } satisfies CpuRequest)
  return (await answer).micros
}

/** Drive the route for `s` seconds; the count of completed requests. */
async function drive (url: string, s: number, headers: Record<string, string>): Promise<number> {
  const r = await autocannon({ url, connections: 10, duration: s, headers, timeout: 10 })
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`${url}: ${r.non2xx} non-2xx, ${r.errors} errors`)
  return r.requests.total
}

/* ------------------------------------------------------------ reading a profile */

type Node = CpuProfile['nodes'][number]

/** Where a frame's code lives. */
function place (node: Node): string | undefined {
  const { functionName, url } = node.callFrame
  if (functionName === '(garbage collector)') return 'garbage collector'
  if (functionName === '(program)') return 'V8, unattributed (program)'
  if (functionName === '(idle)' || functionName === '(root)') return 'idle'
  if (url === '') return undefined // a builtin: counted where its caller lives
  if (url.startsWith('node:')) return 'Node core (http, net, streams, timers)'
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)
  if (m !== null) {
    const pkg = m[1] ?? ''
    if (pkg === '@fastify/view' || pkg === 'eta') return 'view engine (@fastify/view, eta)'
    if (pkg === 'fastify' || pkg === 'find-my-way' || pkg === 'avvio' || pkg === 'fast-json-stringify' || pkg === 'light-my-request' || pkg.startsWith('@fastify/') || pkg === 'fastify-plugin' || pkg === 'process-warning' || pkg === 'toad-cache' || pkg === 'fast-querystring' || pkg === 'abstract-logging' || pkg === 'pino') return 'Fastify'
    if (pkg === 'tsx' || pkg === 'esbuild' || pkg === 'get-tsconfig') return 'tsx loader'
    return `node_modules/${pkg}`
  }
  if (url.includes('/src/')) return 'toolbar (src/)'
  if (url.includes('/bench/')) return 'bench app (routes, catalogue)'
  return url
}

interface Summary {
  requests: number
  /** Sampled main-thread µs by place, per request. */
  byPlace: Map<string, number>
  /** µs a request spent in the toolbar's own code (and builtins it calls), by the outermost toolbar frame (the hook) and by the innermost. */
  byHook: Map<string, number>
  byToolbarFunction: Map<string, number>
  /** µs a request in other code with a toolbar frame on the stack, by place and the innermost toolbar frame. */
  calledFromToolbar: Map<string, number>
  /** µs a request on the main thread, idle excluded. */
  busy: number
}

function frameName (node: Node): string {
  const f = node.callFrame
  // Under tsx the line numbers are those of the transpiled module (often 1): the file name is kept instead.
  return `${f.functionName === '' ? '(anonymous)' : f.functionName} ${path.basename(f.url)}`
}

function summarize (profile: CpuProfile, requests: number): Summary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const stackOf = (id: number): Node[] => {
    const stack: Node[] = []
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const n = byId.get(at)
      if (n !== undefined) stack.push(n)
    }
    return stack // innermost first
  }
  const placeCache = new Map<number, string>()
  const placeOf = (id: number): string => {
    const cached = placeCache.get(id)
    if (cached !== undefined) return cached
    let result = 'native (no JavaScript caller)'
    for (const n of stackOf(id)) {
      const p = place(n)
      if (p !== undefined) { result = p; break }
    }
    placeCache.set(id, result)
    return result
  }
  const add = (m: Map<string, number>, k: string, v: number): void => { m.set(k, (m.get(k) ?? 0) + v) }
  const byPlace = new Map<string, number>()
  const byHook = new Map<string, number>()
  const byToolbarFunction = new Map<string, number>()
  const calledFromToolbar = new Map<string, number>()
  let busy = 0
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] ?? 0
    const dt = profile.timeDeltas[i + 1] ?? 0 // the time until the next sample
    const p = placeOf(id)
    if (p === 'idle') continue
    busy += dt
    add(byPlace, p, dt)
    const toolbarFrames = stackOf(id).filter((n) => place(n) === 'toolbar (src/)')
    const outer = toolbarFrames.at(-1)
    const inner = toolbarFrames[0]
    if (outer === undefined || inner === undefined) continue
    if (p === 'toolbar (src/)') {
      add(byHook, frameName(outer), dt)
      add(byToolbarFunction, frameName(inner), dt)
    } else {
      // Code the toolbar calls into: Fastify writing the response from the onSend callback, mostly.
      add(calledFromToolbar, `${p}, called from ${frameName(inner)}`, dt)
    }
  }
  const perRequest = (m: Map<string, number>): Map<string, number> => new Map([...m].map(([k, v]) => [k, v / requests]))
  return { requests, byPlace: perRequest(byPlace), byHook: perRequest(byHook), byToolbarFunction: perRequest(byToolbarFunction), calledFromToolbar: perRequest(calledFromToolbar), busy: busy / requests }
}

/**
 * The profiler's time deltas are wall-clock: on a busy machine a descheduled thread's time lands on
 * whatever ran last. Shares are kept and scaled to the process's own CPU time a request (which also
 * counts V8's and libuv's helper threads: read the figures as that process CPU, split by share).
 */
function scaled (s: Summary, cpuPerRequest: number): Summary {
  const k = cpuPerRequest / s.busy
  const m = (x: Map<string, number>): Map<string, number> => new Map([...x].map(([key, v]) => [key, v * k]))
  return { requests: s.requests, byPlace: m(s.byPlace), byHook: m(s.byHook), byToolbarFunction: m(s.byToolbarFunction), calledFromToolbar: m(s.calledFromToolbar), busy: cpuPerRequest }
}

function topTable (title: string, m: Map<string, number>, n: number): string {
  const rows = [...m].sort((a, b) => b[1] - a[1]).slice(0, n)
  return [`${title}`, '', '| frame | µs/request |', '| --- | ---: |', ...rows.map(([k, v]) => `| \`${k}\` | ${v.toFixed(2)} |`)].join('\n')
}

/* ------------------------------------------------------------ main */

const runs: Array<[string, Summary]> = []
const targets: Array<[string, Scenario | undefined]> = [['off', undefined], ...names.map((name): [string, Scenario | undefined] => {
  const s = SCENARIOS.find((x) => x.name === name)
  if (s === undefined) throw new Error(`unknown scenario ${name}`)
  return [name, s]
})]
for (const [name, scenario] of targets) {
  const server = await start(scenario)
  try {
    await drive(server.url + route, 3, scenario?.headers ?? {})
    await ask(server.child, { type: 'profile-start', intervalMicros })
    const cpuBefore = await cpuMicros(server.child)
    const requests = await drive(server.url + route, seconds, scenario?.headers ?? {})
    const cpuPerRequest = (await cpuMicros(server.child) - cpuBefore) / requests
    const file = path.join(dir, `${name}.cpuprofile`)
    await ask(server.child, { type: 'profile-stop', path: file })
    const sampled = summarize(JSON.parse(await readFile(file, 'utf8')) as CpuProfile, requests)
    const summary = scaled(sampled, cpuPerRequest)
    runs.push([name, summary])
    log(`${name}: ${requests} requests in ${seconds} s; ${sampled.busy.toFixed(1)} µs of sampled main-thread time and ${cpuPerRequest.toFixed(1)} µs of process CPU time a request; profile in ${file}`)
  } finally {
    server.child.kill('SIGTERM')
  }
}

const places = [...new Set(runs.flatMap(([, s]) => [...s.byPlace.keys()]))]
const off = runs[0]?.[1]
const order = places.sort((a, b) => (runs.at(-1)?.[1].byPlace.get(b) ?? 0) - (runs.at(-1)?.[1].byPlace.get(a) ?? 0))
const out = [
  `# Where ${route}'s time goes (server CPU µs a completed request, split by the main thread's sampled shares; ${seconds} s of autocannon a server, 10 connections; sampling every ${intervalMicros} µs)`,
  '',
  `| where | ${runs.map(([n]) => n).join(' | ')} | ${runs.slice(1).map(([n]) => `${n} − off`).join(' | ')} |`,
  `| --- | ${runs.map(() => '---:').join(' | ')} | ${runs.slice(1).map(() => '---:').join(' | ')} |`,
  ...order.map((p) => `| ${p} | ${runs.map(([, s]) => (s.byPlace.get(p) ?? 0).toFixed(2)).join(' | ')} | ${runs.slice(1).map(([, s]) => { const d = (s.byPlace.get(p) ?? 0) - (off?.byPlace.get(p) ?? 0); return (d >= 0 ? '+' : '−') + Math.abs(d).toFixed(2) }).join(' | ')} |`),
  `| **all (process CPU time a request)** | ${runs.map(([, s]) => s.busy.toFixed(2)).join(' | ')} | ${runs.slice(1).map(([, s]) => { const d = s.busy - (off?.busy ?? 0); return (d >= 0 ? '+' : '−') + Math.abs(d).toFixed(2) }).join(' | ')} |`,
  ''
]
for (const [name, s] of runs.slice(1)) {
  out.push(topTable(`${name}: the toolbar's own time, by its outermost frame (the hook or callback V8 entered it by)`, s.byHook, 10), '')
  out.push(topTable(`${name}: the toolbar's own time, by its innermost frame (builtins it calls count here)`, s.byToolbarFunction, 20), '')
  out.push(topTable(`${name}: time in other code called from a toolbar frame (not the toolbar's own work: Fastify writes the response from the onSend callback)`, s.calledFromToolbar, 8), '')
}
console.log(out.join('\n'))
