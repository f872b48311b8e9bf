/**
 * `npm run bench:redis`: the Redis store beside the in-memory ring, in one run.
 *
 *   1. store.save() per call, in this process: ring, then Redis store, by rounds.
 *   2. Server CPU per request and req/s: bench servers (bench/server.ts, toolbar on), one on the
 *      ring, one on Redis and a second one on the ring (the control: two processes of the same
 *      build differ by several µs a request, so every difference is read against that one).
 *   3. The same with Redis stopped (the Redis store then queues and retries in the background).
 *
 * Every round starts fresh server processes, warms them up, then loads them in turn, the first one
 * rotating from round to round; the differences are medians of the rounds' pairs. Starts its own
 * redis-server (Debian's, no persistence) on a free port. `--pin`: the servers on core 0, autocannon
 * and redis-server on core 1 (taskset). Env: BENCH_ROUNDS (default 3), BENCH_SECONDS per load
 * (default 5), BENCH_SAVE_ROUNDS (default 20), BENCH_BASELINE (another checkout with its
 * node_modules: its Redis store runs as one more server, for a before/after in one run). On a
 * shared machine, read the figures with the spread printed beside them.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import Fastify from 'fastify'
import { Redis } from 'ioredis'
import debugToolbar from '../src/index.ts'
import { reviveRecord } from '../src/record/revive.ts'
import { createRedisStore } from '../src/redis-store.ts'
import { createStore, type RequestStore } from '../src/store.ts'
import { RedisServer } from '../playground/lib/redis-server.ts'
import type { CpuReply, ReadyMessage } from './server.ts'
import { onServerCore, placeLoadGenerator, placementLine, type Placement } from './placement.ts'
import { median, spreadPercent } from './stats.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SERVER_SCRIPT = fileURLToPath(new URL('./server.ts', import.meta.url))
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5)
const SAVE_ROUNDS = Number(process.env.BENCH_SAVE_ROUNDS ?? 20)
/** Another checkout (with its node_modules) whose Redis store runs beside this one's, for a before/after in one run. */
const BASELINE = process.env.BENCH_BASELINE === undefined || process.env.BENCH_BASELINE === '' ? undefined : path.resolve(process.env.BENCH_BASELINE)
const SAVES_PER_ROUND = 2000
/** Load on each fresh server before a round is measured (V8 compiles the hot path), in s. */
const WARMUP_SECONDS = 1
const CONNECTIONS = 10
const PATH = '/hello'

interface Server { child: ChildProcess, url: string }

/** A bench server with the toolbar on this store; from another checkout (with its node_modules) when `checkout` is given. */
async function startServer (storeOption: unknown, placement: Placement, checkout = ROOT): Promise<Server> {
  const script = checkout === ROOT ? SERVER_SCRIPT : path.join(checkout, 'bench', 'server.ts')
  const [command, args] = onServerCore(placement, [process.execPath, '--import', 'tsx', script, '--plugin', 'on', '--app', 'bench'])
  const child = spawn(command, args, {
    cwd: checkout,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, BENCH_PLUGIN_OPTIONS: JSON.stringify({ live: false, allocations: false, store: storeOption }) }
  })
  const ready = await new Promise<ReadyMessage>((resolve, reject) => {
    child.once('message', (m: ReadyMessage) => { resolve(m) })
    child.once('exit', (code) => { reject(new Error(`bench server exited (${String(code)})`)) })
  })
  return { child, url: `http://127.0.0.1:${ready.port}` }
}

let seq = 0
async function cpuMicros (s: Server): Promise<number> {
  const mine = ++seq
  return await new Promise((resolve) => {
    const on = (m: CpuReply): void => {
      if (m?.type !== 'cpu' || m.seq !== mine) return
      s.child.off('message', on)
      resolve(m.micros)
    }
    s.child.on('message', on)
    s.child.send({ type: 'cpu', seq: mine })
  })
}

async function load (s: Server, seconds = SECONDS): Promise<{ rps: number, cpu: number }> {
  const before = await cpuMicros(s)
  const r = await autocannon({ url: s.url + PATH, connections: CONNECTIONS, duration: seconds, timeout: 10 })
  const after = await cpuMicros(s)
  if (r.non2xx > 0 || r.errors > 0 || r.timeouts > 0) throw new Error(`${s.url}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`)
  return { rps: r.requests.total / r.duration, cpu: (after - before) / r.requests.total }
}

/** A realistic record: one the toolbar stored for a real request, read back from its JSON API. */
async function sampleRecord (): Promise<ReturnType<typeof reviveRecord>> {
  const app = Fastify()
  await app.register(debugToolbar, { enabled: true, live: false, allocations: false })
  app.get('/hello', async () => ({ hello: 'world' }))
  const id = (await app.inject('/hello')).headers['x-debug-toolbar-id']
  const text = (await app.inject(`/__debug/api/requests/${String(id)}`)).body
  await app.close()
  return reviveRecord(text)
}

function saveNs (store: RequestStore, template: NonNullable<Awaited<ReturnType<typeof sampleRecord>>>): number {
  // Distinct records (ids), made before the clock starts.
  const records = Array.from({ length: SAVES_PER_ROUND }, (_, i) => ({ ...template, id: `${template.id.slice(0, 24)}${String(i).padStart(8, '0')}` }))
  const t0 = process.hrtime.bigint()
  for (const r of records) store.save(r)
  return Number(process.hrtime.bigint() - t0) / SAVES_PER_ROUND
}

function row (label: string, name: string, ring: number[], other: number[], unit: string, digits = 2): string {
  const diffs = ring.map((r, i) => (other[i] as number) - r)
  const d = median(diffs)
  return `${label.padEnd(34)} ring ${median(ring).toFixed(digits).padStart(9)} ${unit} (±${spreadPercent(ring).toFixed(0)}%)   ${name} ${median(other).toFixed(digits).padStart(9)} ${unit} (±${spreadPercent(other).toFixed(0)}%)   − ring ${d >= 0 ? '+' : ''}${d.toFixed(digits)} ${unit}`
}

async function main (): Promise<void> {
  // Pinned first: the redis-server started below inherits the load generator's core.
  const placement = placeLoadGenerator(process.argv.includes('--pin'))
  const redis = await RedisServer.start()
  const url = redis.url
  console.log(`bench:redis — redis-server on ${url}; ${ROUNDS} rounds of ${SECONDS} s per server, ${SAVE_ROUNDS} rounds of ${SAVES_PER_ROUND} saves`)
  console.log(placementLine(placement).replace('autocannon', 'autocannon and redis-server'))

  // 1. save() in this process.
  const template = await sampleRecord()
  if (template === undefined) throw new Error('could not read a sample record')
  const client = new Redis(url)
  const log = Fastify({ logger: false }).log
  const ring = createStore(50, 16 * 1024 * 1024)
  const shared = createRedisStore({ client, keyPrefix: 'bench:', ttlMs: 3_600_000, maxRequests: 50, maxStoreBytes: 16 * 1024 * 1024, log })
  const ringNs: number[] = []
  const redisNs: number[] = []
  // A warm-up round of each (compilation), not counted.
  saveNs(ring, template)
  saveNs(shared, template)
  await sleep(50)
  for (let i = 0; i < SAVE_ROUNDS; i++) {
    ringNs.push(saveNs(ring, template))
    redisNs.push(saveNs(shared, template))
    // Let the batch go out before the next round, as between requests.
    await sleep(50)
  }
  await shared.close()
  client.disconnect()

  // 2. and 3. Fresh server processes every round (two processes of one build differ by several µs a
  // request, more than what is measured here), loaded in turn; then the same with Redis stopped.
  const kinds: Array<{ name: string, start: () => Promise<Server> }> = [
    { name: 'ring', start: async () => await startServer('memory', placement) },
    { name: 'redis', start: async () => await startServer({ redis: url, keyPrefix: 'bench-server:' }, placement) },
    // The control: a second ring server, to read the other differences against.
    { name: 'control ring', start: async () => await startServer('memory', placement) }
  ]
  if (BASELINE !== undefined) kinds.push({ name: 'baseline redis', start: async () => await startServer({ redis: url, keyPrefix: 'bench-baseline:' }, placement, BASELINE) })
  const up = new Map(kinds.map((k) => [k.name, { rps: [] as number[], cpu: [] as number[] }]))
  const down = new Map(kinds.map((k) => [k.name, { rps: [] as number[], cpu: [] as number[] }]))
  for (const phase of [up, down]) {
    if (phase === down) await redis.stop()
    for (let i = 0; i < ROUNDS; i++) {
      const servers = await Promise.all(kinds.map(async (k) => ({ name: k.name, server: await k.start() })))
      for (const { server } of servers) await load(server, WARMUP_SECONDS)
      // Which server goes first rotates from round to round.
      for (let k = 0; k < servers.length; k++) {
        const { name, server } = servers[(k + i) % servers.length] as typeof servers[number]
        const m = await load(server)
        phase.get(name)?.rps.push(m.rps)
        phase.get(name)?.cpu.push(m.cpu)
      }
      for (const { server } of servers) server.child.kill('SIGTERM')
    }
  }
  await redis.restart()
  await redis.stop()

  console.log('')
  console.log(row('store.save() per call', 'redis', ringNs.map((n) => n / 1000), redisNs.map((n) => n / 1000), 'µs', 3))
  for (const { name } of kinds.slice(1)) {
    const label = name === 'redis' ? '' : ` [${name}]`
    const get = (phase: typeof up, which: string): { rps: number[], cpu: number[] } => phase.get(which) as { rps: number[], cpu: number[] }
    console.log(row(`server CPU per request (${PATH})${label}`, name, get(up, 'ring').cpu, get(up, name).cpu, 'µs', 1))
    console.log(row(`req/s (${PATH})${label}`, name, get(up, 'ring').rps, get(up, name).rps, 'req/s', 0))
    console.log(row(`server CPU per request, Redis down${label}`, name, get(down, 'ring').cpu, get(down, name).cpu, 'µs', 1))
    console.log(row(`req/s, Redis down${label}`, name, get(down, 'ring').rps, get(down, name).rps, 'req/s', 0))
  }
  console.log('\nServer CPU includes the Redis store\'s background writes (one script call per batch). ± is the spread of the rounds; redis − ring is the median of the rounds\' differences.')
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
