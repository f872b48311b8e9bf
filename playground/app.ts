import { STATUS_CODES } from 'node:http'
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify'
import debugToolbar, { type DebugToolbarOptions } from '../src/index.ts'
import { actions, html, layout, type LayoutContext } from './lib/html.ts'
import { releaseLeaks } from './lib/leaks.ts'
import { releaseAll } from './lib/memory.ts'
import { demoRoutes } from './routes/demo.ts'
import { homeRoutes } from './routes/home.ts'
import { leakRoutes } from './routes/leaks.ts'
import { memoryRoutes } from './routes/memory.ts'

export interface PlaygroundOptions {
  /** Options for the toolbar plugin. `enabled` defaults to true here, whatever NODE_ENV says. */
  toolbar?: DebugToolbarOptions
  /** Fastify's logger option. @default false */
  logger?: FastifyServerOptions['logger']
}

/**
 * The demo app: the toolbar plus routes that keep, spike and leak memory. Returns the instance
 * ready to `listen()` or `inject()`; it is not listening. Memory the routes kept is released when the
 * app closes (it is module-level, so shared by every instance in one process).
 */
export async function buildPlayground (opts: PlaygroundOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: opts.logger ?? false })
  const toolbar: DebugToolbarOptions = { enabled: true, ...opts.toolbar }
  await app.register(debugToolbar, toolbar)

  const ctx: LayoutContext = { prefix: toolbar.prefix ?? '/__debug' }

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.validation ? 400 : (error.statusCode ?? 500)
    if (status >= 500) request.log.error({ err: error }, 'playground route failed')
    else request.log.info({ err: error }, 'playground request rejected')
    return errorReply(ctx, request.headers.accept, reply, status, error.message)
  })
  app.setNotFoundHandler((request, reply) => {
    return errorReply(ctx, request.headers.accept, reply, 404, `No route ${request.method} ${request.url.split('?')[0] ?? ''}`)
  })

  await app.register(homeRoutes, { ctx })
  await app.register(memoryRoutes, { ctx })
  await app.register(demoRoutes, { ctx })
  await app.register(leakRoutes)

  app.addHook('onClose', async () => {
    releaseAll()
    releaseLeaks()
  })
  return app
}

/** HTML for browsers (Accept has text/html), Fastify's usual JSON error shape otherwise. */
function errorReply (ctx: LayoutContext, accept: string | undefined, reply: FastifyReply, status: number, message: string): FastifyReply {
  const error = STATUS_CODES[status] ?? 'Error'
  reply.code(status)
  if (accept?.includes('text/html')) {
    return reply.type('text/html; charset=utf-8').send(layout(ctx, {
      title: `${status} ${error}`,
      lead: status === 400
        ? html`The request was rejected by the route's JSON schema: <code>${message}</code>. Numbers in query strings are validated with a minimum and a maximum.`
        : html`<code>${message}</code>`,
      content: actions([['/', 'Back to scenarios']])
    }))
  }
  return reply.send({ statusCode: status, error, message })
}
