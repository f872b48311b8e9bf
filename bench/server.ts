/**
 * One benchmark server, run in its own process by bench/overhead.ts (or by hand):
 *
 *   tsx bench/server.ts --plugin on|off [--app bench|playground|floor-*|peer-*] [--retain-mb N] [--port N]
 *
 * `--app floor-hooks` (and the other levels of bench/floor.ts) serves the bench routes behind
 * hand-written hooks instead of the toolbar, `--app peer-metrics` (and the other peers of
 * bench/peers.ts) behind another plugin; `--plugin` is then ignored.
 *
 * Env: BENCH_PLUGIN_OPTIONS = JSON object of extra toolbar options, e.g. '{"inject":false}'.
 * Listens on 127.0.0.1 only (port 0 = random). When started with an IPC channel it sends
 * `{ type: 'ready', port, pid, heapUsed }` to the parent; otherwise it prints the URL.
 * Exits on SIGTERM/SIGINT, and when the parent that started it goes away.
 */
import { writeFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import type { FastifyInstance } from 'fastify'
import type { DebugToolbarOptions } from '../src/index.ts'
import { buildBenchApp } from './app.ts'
import { FLOOR_LEVELS, buildFloorApp, floorProfilesRead, isFloorLevel } from './floor.ts'
import { PEERS, buildPeerApp, isPeer, peerCounters } from './peers.ts'
import { startCpuProfile, stopCpuProfile } from './cpu-profile.ts'
import { retainHeap } from './retain.ts'

/** The parent asks for the server's CPU time (to work out CPU per request) with `{ type: 'cpu', seq }`. */
export interface CpuRequest { type: 'cpu', seq: number }
/** The answer: process.cpuUsage() now, user + system, in microseconds, and the counters of a floor or peer. */
export interface CpuReply { type: 'cpu', seq: number, micros: number, counters: { spansExported: number, profilesRead: number } }

/** bench/instructions.ts asks a server started with --expose-gc for full GCs before counting, so none left over from start-up falls in the count. */
export interface GcRequest { type: 'gc' }
export interface GcReply { type: 'gc', done: boolean }

/** bench/profile.ts asks the server to start its CPU profiler, then to stop it and write the profile to `path`. */
export type ProfileRequest = { type: 'profile-start', intervalMicros: number } | { type: 'profile-stop', path: string }
/** The answer to a ProfileRequest, once done. */
export interface ProfileReply { type: 'profile', done: 'started' | 'written' }

/** What the parent receives once the server listens. */
export interface ReadyMessage {
  type: 'ready'
  port: number
  pid: number
  /** JS heap used once listening, bytes (after --retain-mb). */
  heapUsed: number
}

function fail (message: string): never {
  console.error(`bench/server: ${message}`)
  process.exit(2)
}

function intArg (value: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined || value === '') return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < min || n > max) fail(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`)
  return n
}

function pluginOptionsFromEnv (): DebugToolbarOptions {
  const text = process.env.BENCH_PLUGIN_OPTIONS
  if (text === undefined || text.trim() === '') return {}
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    fail(`BENCH_PLUGIN_OPTIONS is not valid JSON: ${(err as Error).message}`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) fail('BENCH_PLUGIN_OPTIONS must be a JSON object')
  return parsed as DebugToolbarOptions
}

const { values } = parseArgs({
  options: {
    plugin: { type: 'string' },
    app: { type: 'string' },
    'retain-mb': { type: 'string' },
    port: { type: 'string' }
  },
  strict: true
})

const plugin = values.plugin ?? process.env.BENCH_PLUGIN ?? 'on'
if (plugin !== 'on' && plugin !== 'off') fail(`--plugin must be "on" or "off", got ${JSON.stringify(plugin)}`)
const appName = values.app ?? process.env.BENCH_APP ?? 'bench'
if (appName !== 'bench' && appName !== 'playground' && !isFloorLevel(appName) && !isPeer(appName)) fail(`--app must be "bench", "playground" or one of ${[...FLOOR_LEVELS, ...PEERS].join(', ')}, got ${JSON.stringify(appName)}`)
const retainMb = intArg(values['retain-mb'] ?? process.env.BENCH_RETAIN_MB, '--retain-mb', 0, 0, 3000)
const port = intArg(values.port, '--port', 0, 0, 65535)
const pluginOptions = pluginOptionsFromEnv()

if (retainMb > 0) retainHeap(retainMb)

let app: FastifyInstance
if (isFloorLevel(appName)) {
  app = await buildFloorApp(appName)
} else if (isPeer(appName)) {
  app = await buildPeerApp(appName)
} else if (appName === 'playground') {
  const { buildPlayground } = await import('../playground/app.ts')
  app = await buildPlayground({ toolbar: { ...pluginOptions, enabled: plugin === 'on' } })
} else {
  app = await buildBenchApp({ plugin: plugin === 'on', pluginOptions })
}

await app.listen({ host: '127.0.0.1', port })
const address = app.server.address()
if (address === null || typeof address === 'string') fail('could not read the listening port')

const ready: ReadyMessage = { type: 'ready', port: address.port, pid: process.pid, heapUsed: process.memoryUsage().heapUsed }
if (process.send) {
  process.send(ready)
  process.on('message', (msg: ProfileRequest) => {
    if (msg?.type === 'profile-start') {
      startCpuProfile(msg.intervalMicros).then(() => { process.send?.({ type: 'profile', done: 'started' } satisfies ProfileReply) }, (err) => { fail(`profiler: ${String(err)}`) })
    } else if (msg?.type === 'profile-stop') {
      stopCpuProfile()
        .then(async (profile) => { await writeFile(msg.path, JSON.stringify(profile)) })
        .then(() => { process.send?.({ type: 'profile', done: 'written' } satisfies ProfileReply) }, (err) => { fail(`profiler: ${String(err)}`) })
    }
  })
  process.on('message', (msg: CpuRequest) => {
    if (msg?.type !== 'cpu') return
    const u = process.cpuUsage()
    const reply: CpuReply = { type: 'cpu', seq: msg.seq, micros: u.user + u.system, counters: { spansExported: peerCounters.spansExported, profilesRead: floorProfilesRead } }
    process.send?.(reply)
  })
  process.on('message', (msg: GcRequest) => {
    if (msg?.type !== 'gc') return
    const gc = (globalThis as { gc?: () => void }).gc
    gc?.()
    gc?.()
    process.send?.({ type: 'gc', done: gc !== undefined } satisfies GcReply)
  })
  // The parent died or closed the channel: do not outlive it.
  process.on('disconnect', () => { stop('disconnect') })
} else {
  console.log(`bench server (${appName}, plugin ${plugin}${retainMb > 0 ? `, ${retainMb} MiB retained` : ''}) on http://127.0.0.1:${address.port}/`)
}

let stopping = false
async function stop (reason: string): Promise<void> {
  if (stopping) return
  stopping = true
  const force = setTimeout(() => process.exit(1), 5000)
  force.unref()
  try {
    await app.close()
  } catch (err) {
    console.error(`bench/server: close after ${reason} failed`, err)
  }
  process.exit(0)
}
process.on('SIGTERM', () => { stop('SIGTERM') })
process.on('SIGINT', () => { stop('SIGINT') })
