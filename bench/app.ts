import { fileURLToPath } from 'node:url'
import fastifyView from '@fastify/view'
import { Eta } from 'eta'
import Fastify, { type FastifyInstance } from 'fastify'
import debugToolbar, { type DebugToolbarOptions } from '../src/index.ts'
import { apiListing, makeCatalogue, pageData, renderPageLiteral } from './catalogue.ts'
import { benchPage } from './page.ts'

export interface BenchAppOptions {
  /** Register the toolbar. When false the plugin is not registered at all (the baseline). */
  plugin: boolean
  /** Extra plugin options (merged over `{ enabled: true }`). */
  pluginOptions?: DebugToolbarOptions
  /** Another plugin or hand-written hooks in place of the toolbar, set up before the routes (bench/floor.ts, bench/peers.ts). */
  setup?: (app: FastifyInstance) => void | Promise<void>
}

/** The routes the bench can measure, by path. */
export const BENCH_ROUTES = {
  hello: '/hello',
  api: '/api/products',
  page: '/page',
  pageLiteral: '/page-literal',
  prebuilt: '/prebuilt'
} as const

const VIEWS_DIR = fileURLToPath(new URL('./views/', import.meta.url))

/**
 * The bench app: hello-world JSON; an API route that filters, maps and serialises ~300 of 2,000
 * products; a ~20 KB product page rendered on every request by eta through @fastify/view (templates
 * compiled once, as in production), the same page from a template literal, and one ~20 KB string
 * built once at start-up.
 */
export async function buildBenchApp (opts: BenchAppOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  if (opts.plugin) await app.register(debugToolbar, { enabled: true, ...opts.pluginOptions })
  await opts.setup?.(app)
  await app.register(fastifyView, { engine: { eta: new Eta({ autoEscape: true }) }, root: VIEWS_DIR, production: true })
  const catalogue = makeCatalogue()
  const prebuilt = benchPage()
  app.get(BENCH_ROUTES.hello, async () => ({ hello: 'world' }))
  app.get(BENCH_ROUTES.api, async () => apiListing(catalogue))
  app.get(BENCH_ROUTES.page, async (_request, reply) => reply.type('text/html; charset=utf-8').view('page.eta', pageData(catalogue)))
  app.get(BENCH_ROUTES.pageLiteral, async (_request, reply) => reply.type('text/html; charset=utf-8').send(renderPageLiteral(pageData(catalogue))))
  app.get(BENCH_ROUTES.prebuilt, async (_request, reply) => reply.type('text/html; charset=utf-8').send(prebuilt))
  return app
}
