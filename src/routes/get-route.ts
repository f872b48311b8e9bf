import type { FastifyInstance, RawServerDefault, RouteGenericInterface, RouteHandlerMethod, RouteShorthandOptions } from 'fastify'
import type { IncomingMessage, ServerResponse } from 'node:http'

type Handler<G extends RouteGenericInterface> = RouteHandlerMethod<RawServerDefault, IncomingMessage, ServerResponse, G>

/**
 * A toolbar GET route that answers HEAD as well, registered as one route: the HEAD route Fastify
 * generates for a GET is a second registration in every app (docs/performance.md#registration).
 * Node sends a HEAD answer's status and headers (Content-Length included) and never its body.
 */
export function getRoute<G extends RouteGenericInterface = RouteGenericInterface> (app: FastifyInstance, url: string, options: RouteShorthandOptions<RawServerDefault, IncomingMessage, ServerResponse, G>, handler: Handler<G>): void {
  app.route<G>({ ...options, method: ['GET', 'HEAD'], url, handler })
}
