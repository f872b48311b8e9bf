/** The toolbar's per-route option, set in a route's `config` and read from `request.routeOptions.config`. */
export interface DebugToolbarRouteConfig {
  /** `false` leaves the route's requests out of the toolbar. @default true */
  debugToolbar?: boolean
}

/**
 * Set in the route config of every one of the toolbar's own routes (its 404 handler included), so
 * the hooks know them as the router matched them, whatever its slash and case options.
 */
export const kToolbarRoute = Symbol('fastify-debug-toolbar.route')

declare module 'fastify' {
  // Declaration merging: `config: { debugToolbar: 'nope' }` on a route fails to typecheck.
  interface FastifyContextConfig extends DebugToolbarRouteConfig {}
}
