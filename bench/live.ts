/**
 * What the live page costs the app, side by side in one run:
 *
 *   npm run bench:live [-- --rounds 6 --seconds 5 --route /hello --idle-seconds 5]
 *
 * Two bench servers (bench/server.ts, each its own process): one with `live: false`, one with the
 * live page on (`keepRunningMs: 0`, so the sampler stops as soon as the page leaves). Each round
 * loads a route with autocannon in three states, in an order that alternates from round to round:
 *  - live: false            the live feature is not registered;
 *  - live page closed       registered, no page open: the sampler is stopped;
 *  - live page open         a real server-sent event client is connected to /api/process/events and
 *                           reads every event (readings four a second, each stored request's summary).
 * Throughput and server CPU a request are compared within each round (paired), and the medians of
 * those per-round comparisons are printed. Then, with no load, the server's CPU a second with the page
 * open and closed (the sampler and its stream alone), and the cost of one reading in this process.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { request, type ClientRequest } from 'node:http'
import os from 'node:os'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { gcTracker } from '../src/capture/gc-tracker.ts'
import { ProcessSampler } from '../src/capture/process-sampler.ts'
import type { DebugToolbarOptions } from '../src/index.ts'
import type { CpuReply, CpuRequest, ReadyMessage } from './server.ts'
import { median, medianPairedDifference, medianPairedRatio, spreadPercent } from './stats.ts'

const HOST = '127.0.0.1'
const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SERVER_SCRIPT = fileURLToPath(new URL('./server.ts', import.meta.url))
const PREFIX = '/__debug'
const CONNECTIONS = 10
/** Seconds of load on each server before the rounds (JIT, store filled). */
const WARMUP_SECONDS = 5

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '6' },
    seconds: { type: 'string', default: '5' },
    route: { type: 'string', default: '/hello' },
    'idle-seconds': { type: 'string', default: '5' }
  },
  strict: true
})

const ROUNDS = intArg(values.rounds, '--rounds', 2, 50)
const SECONDS = intArg(values.seconds, '--seconds', 1, 120)
const IDLE_SECONDS = intArg(values['idle-seconds'], '--idle-seconds', 1, 120)
const ROUTE = values.route
if (!/^\/[\w/-]*$/.test(ROUTE)) fail(`--route must be a path such as /hello, got ${JSON.stringify(ROUTE)}`)

function intArg (v: string, name: string, min: number, max: number): number {
  const n = Number(v)
  if (!Number.isInteger(n) || n < min || n > max) fail(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`)
  return n
}

function fail (message: string): never {
  console.error(`bench/live: ${message}`)
  return process.exit(2)
}

/* ------------------------------------------------------------ servers */

interface Server { label: string, child: ChildProcess, url: string }
const children = new Set<ChildProcess>()

async function startServer (label: string, options: DebugToolbarOptions): Promise<Server> {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER_SCRIPT, '--plugin', 'on', '--app', 'bench'], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, BENCH_PLUGIN_OPTIONS: JSON.stringify(options) }
  })
  children.add(child)
  const ready = await new Promise<ReadyMessage>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label}: not listening after 90 s`)), 90_000)
    child.once('message', (msg: ReadyMessage) => { clearTimeout(timer); resolve(msg) })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${label}: exited before listening (code ${code})`)) })
  })
  child.removeAllListeners('exit')
  return { label, child, url: `http://${HOST}:${ready.port}` }
}

async function stopAll (): Promise<void> {
  await Promise.all([...children].map(async (child) => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    const force = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(force)
  }))
}

let cpuSeq = 0
/** The server's CPU time so far (user + system), µs. */
async function serverCpu (server: Server): Promise<number> {
  const seq = ++cpuSeq
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { server.child.off('message', onMessage); reject(new Error(`${server.label}: no CPU answer in 10 s`)) }, 10_000)
    function onMessage (msg: CpuReply): void {
      if (msg?.type !== 'cpu' || msg.seq !== seq) return
      clearTimeout(timer)
      server.child.off('message', onMessage)
      resolve(msg.micros)
    }
    server.child.on('message', onMessage)
    server.child.send({ type: 'cpu', seq } satisfies CpuRequest)
  })
}

/* ------------------------------------------------------------ the live page's stream */

/** A connected event-stream client that reads and counts everything it is sent. */
interface StreamClient { events: Record<string, number>, bytes: number, close: () => Promise<void> }

/** Connect to /api/process/events, resolve once the `hello` and a first `samples` event arrived. */
async function openStream (server: Server): Promise<StreamClient> {
  const client: StreamClient = { events: {}, bytes: 0, close: async () => {} }
  let req: ClientRequest | undefined
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${server.label}: no samples event within 20 s`)), 20_000)
    req = request(`${server.url}${PREFIX}/api/process/events`, { headers: { accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) {
        clearTimeout(timer)
        reject(new Error(`${server.label}: the event stream answered ${res.statusCode}`))
        return
      }
      res.setEncoding('utf8')
      let rest = ''
      res.on('data', (chunk: string) => {
        client.bytes += Buffer.byteLength(chunk)
        rest += chunk
        const lines = rest.split('\n')
        rest = lines.pop() ?? ''
        for (const line of lines) {
          if (!line.startsWith('event: ')) continue
          const name = line.slice(7).trim()
          client.events[name] = (client.events[name] ?? 0) + 1
          if (name === 'samples' && (client.events.hello ?? 0) > 0) {
            clearTimeout(timer)
            resolve()
          }
        }
      })
      res.on('error', () => {})
    })
    req.on('error', (err) => { clearTimeout(timer); reject(err) })
    req.end()
  })
  client.close = async () => {
    req?.destroy()
    await waitForNoStream(server)
  }
  return client
}

/** Poll until the server counts no connected live page (its release is asynchronous). */
async function waitForNoStream (server: Server): Promise<void> {
  const deadline = Date.now() + 20_000
  while (Date.now() < deadline) {
    const res = await fetch(`${server.url}${PREFIX}/api/process`)
    const body = await res.json() as { streams: number, holders: number }
    if (body.streams === 0 && body.holders === 0) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`${server.label}: a live page is still counted 20 s after its client left`)
}

/* ------------------------------------------------------------ measuring */

interface Run { rps: number, cpuMicros: number, requests: number }

async function load (server: Server, seconds: number): Promise<Run> {
  const before = await serverCpu(server)
  const result = await autocannon({ url: server.url + ROUTE, connections: CONNECTIONS, duration: seconds, timeout: 10 })
  const after = await serverCpu(server)
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) throw new Error(`${server.url}${ROUTE}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`)
  if (result.requests.total === 0) throw new Error(`${server.url}${ROUTE}: no request completed`)
  return { rps: result.requests.total / result.duration, cpuMicros: (after - before) / result.requests.total, requests: result.requests.total }
}

const STATES = ['live: false', 'live page closed', 'live page open, streaming'] as const
type State = typeof STATES[number]

async function main (): Promise<void> {
  const [off, on] = await Promise.all([startServer('live: false', { live: false }), startServer('live on', { live: { keepRunningMs: 0 } })])
  // The live: false server has no live routes at all.
  if ((await fetch(`${off.url}${PREFIX}/api/process`)).status !== 404) throw new Error('the live: false server answers /api/process')

  console.log(`bench:live  ${ROUTE}, ${CONNECTIONS} connections, ${ROUNDS} rounds of ${SECONDS} s per state, order alternating by round`)
  console.log(`node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`)
  process.stdout.write('warming up…')
  await load(off, WARMUP_SECONDS)
  await load(on, WARMUP_SECONDS)
  const warm = await openStream(on)
  await load(on, WARMUP_SECONDS)
  await warm.close()
  console.log(' done')

  const runs: Record<State, Run[]> = { 'live: false': [], 'live page closed': [], 'live page open, streaming': [] }
  const streamed: Array<{ seconds: number, events: Record<string, number>, bytes: number }> = []
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? STATES : [...STATES].reverse()
    const line: string[] = []
    for (const state of order) {
      let run: Run
      if (state === 'live: false') {
        run = await load(off, SECONDS)
      } else if (state === 'live page closed') {
        run = await load(on, SECONDS)
      } else {
        const stream = await openStream(on)
        const t0 = Date.now()
        const e0 = { ...stream.events }
        const b0 = stream.bytes
        run = await load(on, SECONDS)
        const events: Record<string, number> = {}
        for (const [k, n] of Object.entries(stream.events)) events[k] = n - (e0[k] ?? 0)
        streamed.push({ seconds: (Date.now() - t0) / 1000, events, bytes: stream.bytes - b0 })
        await stream.close()
      }
      runs[state].push(run)
      line.push(`${state} ${Math.round(run.rps)} req/s ${run.cpuMicros.toFixed(1)} µs`)
    }
    console.log(`round ${round + 1}/${ROUNDS}: ${line.join(' | ')}`)
  }

  // With no load: the server's CPU a second with the page open and with it closed.
  const idle: { open: number[], closed: number[] } = { open: [], closed: [] }
  for (let round = 0; round < ROUNDS; round++) {
    for (const open of round % 2 === 0 ? [false, true] : [true, false]) {
      const stream = open ? await openStream(on) : undefined
      const before = await serverCpu(on)
      const t0 = process.hrtime.bigint()
      await new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000))
      const perSecond = (await serverCpu(on) - before) / (Number(process.hrtime.bigint() - t0) / 1e9)
      await stream?.close()
      idle[open ? 'open' : 'closed'].push(perSecond)
    }
  }
  await stopAll()

  // One reading as the sampler takes it (process.memoryUsage(), the loop-delay histogram, the GC check), here.
  const sampler = new ProcessSampler(gcTracker, { sampleIntervalMs: 60_000, keepRunningMs: 0, maxSamples: 3600, maxHistoryBytes: 1024 * 1024 })
  gcTracker.acquire()
  sampler.acquire()
  for (let i = 0; i < 500; i++) sampler.sampleNow()
  const readings = 5000
  const r0 = process.hrtime.bigint()
  for (let i = 0; i < readings; i++) sampler.sampleNow()
  const readingMicros = Number(process.hrtime.bigint() - r0) / readings / 1000
  sampler.close()
  gcTracker.release()

  const base = runs['live: false']
  const closed = runs['live page closed']
  const open = runs['live page open, streaming']
  const fmtRatio = (r: number): string => `${r >= 1 ? '+' : ''}${((r - 1) * 100).toFixed(1)}%`
  const fmtUs = (d: number): string => `${d >= 0 ? '+' : ''}${d.toFixed(1)} µs`
  const rps = (xs: Run[]): number[] => xs.map((r) => r.rps)
  const cpu = (xs: Run[]): number[] => xs.map((r) => r.cpuMicros)

  console.log('')
  console.log(`Request throughput and server CPU per request, ${ROUTE} (medians over ${ROUNDS} rounds; "vs" columns are medians of each round's pair)`)
  console.log('')
  console.log('| state | req/s | round spread | vs live: false | CPU µs per request | vs live: false | vs page closed |')
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |')
  console.log(`| live: false | ${Math.round(median(rps(base)))} | ${spreadPercent(rps(base)).toFixed(0)}% | | ${median(cpu(base)).toFixed(1)} | | |`)
  console.log(`| live page closed (sampler stopped) | ${Math.round(median(rps(closed)))} | ${spreadPercent(rps(closed)).toFixed(0)}% | ${fmtRatio(medianPairedRatio(rps(closed), rps(base)))} | ${median(cpu(closed)).toFixed(1)} | ${fmtUs(medianPairedDifference(cpu(closed), cpu(base)))} | |`)
  console.log(`| live page open, streaming | ${Math.round(median(rps(open)))} | ${spreadPercent(rps(open)).toFixed(0)}% | ${fmtRatio(medianPairedRatio(rps(open), rps(base)))} | ${median(cpu(open)).toFixed(1)} | ${fmtUs(medianPairedDifference(cpu(open), cpu(base)))} | ${fmtUs(medianPairedDifference(cpu(open), cpu(closed)))} |`)
  const totalSeconds = streamed.reduce((s, x) => s + x.seconds, 0)
  const count = (name: string): number => streamed.reduce((s, x) => s + (x.events[name] ?? 0), 0)
  console.log('')
  console.log(`While open under load, the page's stream carried ${(count('samples') / totalSeconds).toFixed(1)} sample events/s, ${(count('requests') / totalSeconds).toFixed(1)} request-batch events/s, ${(streamed.reduce((s, x) => s + x.bytes, 0) / totalSeconds / 1024).toFixed(0)} KiB/s.`)
  console.log('')
  console.log(`The sampler and its stream alone (no load; server CPU a second, medians over ${ROUNDS} rounds of ${IDLE_SECONDS} s)`)
  console.log('')
  console.log('| state | server CPU µs per second | share of one core |')
  console.log('| --- | ---: | ---: |')
  console.log(`| live page closed | ${median(idle.closed).toFixed(0)} | ${(median(idle.closed) / 1e4).toFixed(3)}% |`)
  console.log(`| live page open | ${median(idle.open).toFixed(0)} | ${(median(idle.open) / 1e4).toFixed(3)}% |`)
  console.log(`| difference (median of pairs) | ${medianPairedDifference(idle.open, idle.closed).toFixed(0)} | ${(medianPairedDifference(idle.open, idle.closed) / 1e4).toFixed(3)}% |`)
  console.log('')
  console.log(`One sampler reading (process.memoryUsage(), loop-delay histogram, GC check), measured in this process: ${readingMicros.toFixed(1)} µs; at the default 4 a second, ${(readingMicros * 4).toFixed(0)} µs of CPU a second.`)
}

let exiting = false
async function exit (code: number): Promise<never> {
  if (!exiting) {
    exiting = true
    await stopAll()
  }
  return process.exit(code)
}
process.on('SIGINT', () => { exit(130) })
process.on('SIGTERM', () => { exit(143) })

main().then(() => exit(0), (err: Error) => {
  console.error(`bench/live: ${err.message}`)
  exit(1)
})
