/**
 * Fastify's own floor under a registration: what an app instance pays for the shapes the toolbar's
 * registration takes (an fp() shell, an encapsulated child under a prefix, a 404 handler for the
 * prefix, N trivial routes, @fastify/static, @fastify/view; and all of them as the toolbar has
 * them), with no toolbar code at all. Levels
 * alternate in one run; each is reported as its median and its median minus the bare app's.
 *
 *   REGISTRATIONS=200 npx tsx bench/registration-floor.ts
 */
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import Fastify, { type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import fastifyStatic from '@fastify/static'
import fastifyView from '@fastify/view'
import fastifySseModule from '@fastify/sse'
import { Eta } from 'eta'

const rounds = Number(process.env.REGISTRATIONS ?? 200)
const STATIC_DIR = fileURLToPath(new URL('../static/', import.meta.url))
const eta = new Eta({ views: fileURLToPath(new URL('../templates/', import.meta.url)), cache: true })

function trivialRoutes (app: FastifyInstance, n: number): void {
  for (let i = 0; i < n; i++) app.get(`/r${i}/:id`, async () => 'ok')
}

type Level = { name: string, add?: (app: FastifyInstance) => Promise<void> }

const fastifySse = fastifySseModule as unknown as (app: FastifyInstance, opts: object) => Promise<void>
const ok = async (): Promise<string> => 'ok'
/** The toolbar's routes by method and path, with trivial handlers and no schemas. */
const TOOLBAR_GETS = ['/', '/api/requests', '/api/sparkline', '/api/store', '/api/requests/:id', '/requests/:id/toolbar', '/requests/:id/panels/:panel', '/requests/:id',
  '/requests/:id/record.json', '/requests/:id/profile.heapprofile', '/requests/:id/flamegraph.json', '/requests/:id/compare/:other',
  '/api/leak-tests', '/api/leak-tests/:id', '/api/leak-tests/:id/report.json', '/api/leak-tests/:id/:which', '/leak-tests/:id', '/api/process', '/api/process/events']
const TOOLBAR_POSTS = ['/api/requests/clear', '/api/leak-tests', '/api/leak-tests/:id/cancel', '/api/leak-tests/:id/step', '/api/process/gc', '/api/process/heap-snapshot']

/** The 404 handler, the three static folders and the event-stream plugin the toolbar registers. */
async function toolbarFrame (c: FastifyInstance): Promise<void> {
  c.setNotFoundHandler(async (_q, r) => await r.code(404).send())
  for (const prefix of ['/static/', '/vendor/d3-flame-graph/', '/vendor/uplot/']) {
    await c.register(fastifyStatic, { root: STATIC_DIR, prefix, decorateReply: false, index: false })
  }
  await c.register(fastifySse, {})
}

/** As the toolbar registers its routes: each GET answering HEAD in the same route, the event stream with a generated HEAD. */
async function toolbarShape (c: FastifyInstance): Promise<void> {
  await toolbarFrame(c)
  for (const url of TOOLBAR_GETS) {
    if (url === '/api/process/events') c.get(url, ok)
    else c.route({ method: ['GET', 'HEAD'], url, handler: ok })
  }
  for (const url of TOOLBAR_POSTS) c.post(url, ok)
}

/** The least a toolbar of the same features could register: one wildcard route for every page and API call. */
async function oneDispatchingRoute (c: FastifyInstance): Promise<void> {
  await toolbarFrame(c)
  c.route({ method: ['GET', 'HEAD', 'POST'], url: '/*', handler: ok })
}

const shell = (inner?: (child: FastifyInstance) => Promise<void>) => async (app: FastifyInstance): Promise<void> => {
  await app.register(fp(async (a: FastifyInstance) => {
    if (inner !== undefined) await a.register(inner, { prefix: '/__debug' })
  }, { name: 'floor-shell' }))
}

const levels: Level[] = [
  { name: 'bare app (one route)' },
  { name: 'fp() shell, empty', add: shell() },
  { name: 'fp() shell + empty child under a prefix', add: shell(async () => {}) },
  { name: '+ setNotFoundHandler in the child', add: shell(async (c) => { c.setNotFoundHandler(async (_q, r) => await r.code(404).send()) }) },
  { name: '+ 1 GET route in the child', add: shell(async (c) => { trivialRoutes(c, 1) }) },
  { name: '+ 10 GET routes in the child', add: shell(async (c) => { trivialRoutes(c, 10) }) },
  { name: '+ 30 GET routes in the child', add: shell(async (c) => { trivialRoutes(c, 30) }) },
  { name: '+ one /* GET wildcard route in the child', add: shell(async (c) => { c.get('/*', async () => 'ok') }) },
  { name: '+ @fastify/static in the child', add: shell(async (c) => { await c.register(fastifyStatic, { root: STATIC_DIR, prefix: '/static/', decorateReply: false, index: false }) }) },
  { name: '+ @fastify/view in the child', add: shell(async (c) => { await c.register(fastifyView, { engine: { eta }, propertyName: 'floorView', production: true }) }) },
  { name: "the toolbar's shape: + 404 handler, 3 @fastify/static, @fastify/sse, its 19 GET (with HEAD) and 6 POST routes", add: shell(toolbarShape) },
  { name: 'the same frame with one GET/HEAD/POST wildcard route instead of the 25', add: shell(oneDispatchingRoute) }
]

/** Wall time and this process's CPU time (user + system) of one registration, in ms. */
async function registration (level: Level): Promise<{ wallMs: number, cpuMs: number }> {
  const t0 = performance.now()
  const c0 = process.cpuUsage()
  const app = Fastify()
  if (level.add !== undefined) await level.add(app)
  app.get('/', async () => ({ hello: 'world' }))
  await app.ready()
  await app.close()
  const c = process.cpuUsage(c0)
  return { wallMs: performance.now() - t0, cpuMs: (c.user + c.system) / 1000 }
}

const times = levels.map(() => [] as number[])
const cpuTimes = levels.map(() => [] as number[])
for (const level of levels) await registration(level)
for (let i = 0; i < rounds; i++) {
  // Rotate the order, so no level always follows the same one's garbage.
  for (let j = 0; j < levels.length; j++) {
    const k = (i + j) % levels.length
    const { wallMs, cpuMs } = await registration(levels[k] as Level)
    ;(times[k] as number[]).push(wallMs)
    ;(cpuTimes[k] as number[]).push(cpuMs)
  }
}

const median = (list: number[]): number => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)] as number
const bare = median(times[0] as number[])
const bareCpu = median(cpuTimes[0] as number[])
console.log(`Node ${process.version}, ${rounds} registrations of each level (build + register + ready + close), rotating`)
console.log('')
console.log('| level | median ms | added to the bare app (median) | median CPU ms | CPU added |')
console.log('| --- | ---: | ---: | ---: | ---: |')
levels.forEach((level, k) => {
  const m = median(times[k] as number[])
  const c = median(cpuTimes[k] as number[])
  console.log(`| ${level.name} | ${m.toFixed(2)} | ${k === 0 ? '' : (m - bare).toFixed(2)} | ${c.toFixed(2)} | ${k === 0 ? '' : (c - bareCpu).toFixed(2)} |`)
})
