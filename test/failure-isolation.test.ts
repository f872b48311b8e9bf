// Failure isolation: when a part of the toolbar fails (a memory backend that throws, a heap
// profiler someone else owns, a sampler that throws, GC tracking that cannot start), the host's
// request completes exactly as it would without the toolbar, the record and the Memory panel say
// what is missing, and the log says it once.
import { test, mock } from 'node:test'
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { createRequire } from 'node:module'
import { Session } from 'node:inspector'
import v8 from 'node:v8'
import { setTimeout } from 'node:timers/promises'
import Fastify, { type FastifyInstance } from 'fastify'
import debugToolbar, { type DebugToolbarOptions } from '../src/index.ts'
import { recordOf } from './helpers.ts'

const pprofHeap = (createRequire(import.meta.url)('@datadog/pprof') as { heap: { start (i: number, d: number): void, stop (): void, v8Profile (): unknown } }).heap

/** An app with the toolbar whose warn-and-above log lines are collected. */
async function loggedApp (options: DebugToolbarOptions): Promise<{ app: FastifyInstance, warnings: string[] }> {
  const warnings: string[] = []
  const stream = new Writable({
    write (chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line !== '') warnings.push((JSON.parse(line) as { msg: string }).msg)
      cb()
    }
  })
  const app = Fastify({ logger: { level: 'warn', stream } })
  await app.register(debugToolbar, { enabled: true, ...options })
  app.get('/work', async () => ({ items: Array.from({ length: 2000 }, (_, i) => ({ i })).length }))
  await app.ready()
  return { app, warnings }
}

async function threeRequests (app: FastifyInstance): Promise<string[]> {
  const ids: string[] = []
  for (let i = 0; i < 3; i++) {
    const res = await app.inject('/work')
    assert.equal(res.statusCode, 200)
    assert.deepEqual(res.json(), { items: 2000 })
    ids.push(String(res.headers['x-debug-toolbar-id']))
  }
  return ids
}

async function memoryPanel (app: FastifyInstance, id: string): Promise<string> {
  const res = await app.inject(`/__debug/requests/${id}/panels/memory`)
  assert.equal(res.statusCode, 200)
  return res.body
}

function once (warnings: string[], fragment: string): void {
  assert.equal(warnings.filter((w) => w.includes(fragment)).length, 1, `one log line with "${fragment}" in ${JSON.stringify(warnings)}`)
}

test('a memory backend that throws: requests complete, records say the figures are missing, the log says it once', async (t) => {
  const { app, warnings } = await loggedApp({ allocations: false })
  t.after(async () => { mock.restoreAll(); await app.close() })
  mock.method(v8, 'getHeapStatistics', () => { throw new Error('heap statistics exploded') })
  const ids = await threeRequests(app)
  mock.restoreAll()
  once(warnings, 'memory backend "heap-statistics" failed')
  const r = await recordOf(app, ids[2])
  assert.equal(r.memory.heapUsedBefore, 0)
  assert.ok(r.memory.notes.some((n) => n.includes('failed for this request')), JSON.stringify(r.memory.notes))
  assert.match(await memoryPanel(app, ids[2] as string), /failed for this request/)
})

test('a memory backend that throws when a request ends: the request completes and the record says so', async (t) => {
  const { app, warnings } = await loggedApp({ allocations: false })
  t.after(async () => { mock.restoreAll(); await app.close() })
  const real = v8.getHeapStatistics.bind(v8)
  let calls = 0
  // The first reading of each request (onRequest) works, the second (onSend) throws.
  mock.method(v8, 'getHeapStatistics', () => {
    if (++calls % 2 === 0) throw new Error('stop exploded')
    return real()
  })
  const ids = await threeRequests(app)
  mock.restoreAll()
  once(warnings, 'memory backend failed to stop')
  const r = await recordOf(app, ids[0])
  assert.ok(r.memory.notes.some((n) => n.includes('failed for this request')))
})

test('the heap profiler already started through @datadog/pprof by someone else: no samples of theirs, a reason, one log line; sampling resumes once they stop', async (t) => {
  const { app, warnings } = await loggedApp({ allocations: { sampler: 'native', requests: 'all' } })
  t.after(async () => { await app.close() })
  pprofHeap.start(8192, 32)
  let ids: string[]
  try {
    ids = await threeRequests(app)
  } finally {
    pprofHeap.stop()
  }
  once(warnings, 'in use by someone else')
  const r = await recordOf(app, ids[1])
  assert.equal(r.memory.allocations !== undefined && 'skipped' in r.memory.allocations ? r.memory.allocations.skipped : '', 'owned-elsewhere')
  assert.match(await memoryPanel(app, ids[1] as string), /in use by someone else/)
  // They stopped: the next request is sampled again.
  const [next] = await threeRequests(app)
  const n = await recordOf(app, next)
  assert.ok(n.memory.allocations !== undefined && 'sites' in n.memory.allocations, JSON.stringify(n.memory.allocations))
})

test('a sampler that throws while reading: requests complete without allocation sites, with a reason and one log line', async (t) => {
  const { app, warnings } = await loggedApp({ allocations: { sampler: 'native', requests: 'all' } })
  t.after(async () => { mock.restoreAll(); await app.close() })
  await threeRequests(app) // past the first-window probe
  mock.method(pprofHeap, 'v8Profile', () => { throw new Error('profile exploded') })
  const ids = await threeRequests(app)
  mock.restoreAll()
  once(warnings, 'allocation sampler failed')
  const r = await recordOf(app, ids[2])
  assert.equal(r.memory.allocations !== undefined && 'skipped' in r.memory.allocations ? r.memory.allocations.skipped : '', 'failed')
  // The profiler was given back: sampling works again.
  const [next] = await threeRequests(app)
  const n = await recordOf(app, next)
  assert.ok(n.memory.allocations !== undefined && 'sites' in n.memory.allocations)
})

test('GC tracking unavailable: requests complete, every record and the panel say peak and allocated only see the ends, logged once', async (t) => {
  const real = v8.GCProfiler
  ;(v8 as { GCProfiler: unknown }).GCProfiler = class { constructor () { throw new Error('no GC profiler here') } }
  const apps: FastifyInstance[] = []
  t.after(async () => {
    (v8 as { GCProfiler: unknown }).GCProfiler = real
    for (const a of apps) await a.close()
  })
  const logged = await loggedApp({ allocations: false })
  const app = logged.app
  apps.push(app)
  const ids = await threeRequests(app)
  once(logged.warnings, 'GC tracking unavailable')
  const r = await recordOf(app, ids[2])
  assert.ok(r.memory.notes.some((n) => n.includes('GC tracking unavailable (no GC profiler here)')), JSON.stringify(r.memory.notes))
  assert.equal(r.memory.final, true)
  assert.match(await memoryPanel(app, ids[2] as string), /GC tracking unavailable/)
})

test('the heap profiler already sampling for an inspector client: their sampler keeps running, ours stands aside with a reason, and comes back once they stop', async (t) => {
  const other = new Session()
  other.connect()
  const post = (method: string, params?: object): Promise<unknown> => new Promise((resolve, reject) => { other.post(method, params, (err, res) => { if (err) reject(err); else resolve(res) }) })
  await post('HeapProfiler.enable')
  await post('HeapProfiler.startSampling', { samplingInterval: 1024 })
  const theirs: unknown[] = []
  for (let i = 0; i < 2000; i++) theirs.push({ i, s: `x${i}` })
  const { app, warnings } = await loggedApp({ allocations: { sampler: 'native', requests: 'all' } })
  t.after(async () => { await app.close(); other.disconnect() })
  const ids = await threeRequests(app)
  once(warnings, 'in use by someone else')
  const r = await recordOf(app, ids[0])
  assert.equal(r.memory.allocations !== undefined && 'skipped' in r.memory.allocations ? r.memory.allocations.skipped : '', 'owned-elsewhere')
  // Still theirs a little later: the toolbar looks again (at most once a second) and stands aside.
  await setTimeout(1100)
  const later = await threeRequests(app)
  const l = await recordOf(app, later[0])
  assert.equal(l.memory.allocations !== undefined && 'skipped' in l.memory.allocations ? l.memory.allocations.skipped : '', 'owned-elsewhere')
  const { profile } = await post('HeapProfiler.stopSampling') as { profile: { samples: unknown[] } }
  assert.ok(profile.samples.length > 0, 'their profile survived our requests')
  // They stopped: within a second the toolbar samples again.
  await setTimeout(1100)
  const [next] = await threeRequests(app)
  const n = await recordOf(app, next)
  assert.ok(n.memory.allocations !== undefined && 'sites' in n.memory.allocations, JSON.stringify(n.memory.allocations))
})
