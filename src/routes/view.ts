import { fileURLToPath } from 'node:url'
import type { FastifyReply } from 'fastify'
import { Eta } from 'eta'

/** The package's templates/ folder (the same from src/routes/ and dist/routes/). */
export const TEMPLATES_DIR = fileURLToPath(new URL('../../templates/', import.meta.url))

let eta: Eta | undefined

/** One Eta for every registration in the process, so each template is compiled once (on first render). */
function sharedEta (): Eta {
  eta ??= new Eta({ views: TEMPLATES_DIR, autoEscape: true, cache: true })
  return eta
}

/**
 * Render a template into the reply as HTML, as @fastify/view's reply decorator did (any
 * `reply.locals` the app decorates go under the data; the type is set unless one already is),
 * without registering a plugin in every app (docs/performance.md#registration).
 */
export function renderView (reply: FastifyReply, page: string, data: object): FastifyReply {
  const locals = (reply as { locals?: object | null }).locals
  const html = sharedEta().render(page, locals === undefined || locals === null ? data : { ...locals, ...data })
  if (reply.getHeader('content-type') === undefined) reply.header('content-type', 'text/html; charset=utf-8')
  return reply.send(html)
}
