import Fastify, { type FastifyInstance } from 'fastify'
import debugToolbar, { type DebugToolbarOptions } from '../src/index.ts'
import { benchPage } from './page.ts'

export interface BenchAppOptions {
  /** Register the toolbar. When false the plugin is not registered at all (the baseline). */
  plugin: boolean
  /** Extra plugin options (merged over `{ enabled: true }`). */
  pluginOptions?: DebugToolbarOptions
  /** Hooks of another kind in place of the toolbar, added before the routes (bench/floor.ts). */
  hooks?: (app: FastifyInstance) => void
}

/** The routes every bench row measures, by path. */
export const BENCH_ROUTES = {
  hello: '/hello',
  html: '/page'
} as const

/** A minimal app: a hello-world JSON route and a ~20 KB HTML page. */
export async function buildBenchApp (opts: BenchAppOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  if (opts.plugin) await app.register(debugToolbar, { enabled: true, ...opts.pluginOptions })
  opts.hooks?.(app)
  const page = benchPage()
  app.get(BENCH_ROUTES.hello, async () => ({ hello: 'world' }))
  app.get(BENCH_ROUTES.html, async (_request, reply) => reply.type('text/html; charset=utf-8').send(page))
  return app
}
