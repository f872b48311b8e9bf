/** The toolbar's per-route option, set in a route's `config` and read from `request.routeOptions.config`. */
export interface DebugToolbarRouteConfig {
  /** `false` leaves the route's requests out of the toolbar. @default true */
  debugToolbar?: boolean
}

declare module 'fastify' {
  // Declaration merging: `config: { debugToolbar: 'nope' }` on a route fails to typecheck.
  interface FastifyContextConfig extends DebugToolbarRouteConfig {}
}
