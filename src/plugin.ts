import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { resolveOptions, type DebugToolbarOptions } from './options.ts'
import { createRedisLeakTestStore } from './redis-leak-test-store.ts'
import { redisStoreFactory } from './redis-store.ts'
import { routes } from './routes/index.ts'
import { kProfile } from './toolbar/request-profile.ts'
import { Toolbar } from './toolbar/toolbar.ts'

/**
 * The plugin shell: resolve the options, build the registration's Toolbar, add its three hooks
 * (onRequest starts measuring, onSend stops, stores and heads the response, onClose cleans up) and
 * register the toolbar's routes as an encapsulated child under the prefix.
 */
async function debugToolbarPlugin (app: FastifyInstance, input: DebugToolbarOptions): Promise<void> {
  const options = resolveOptions(input)
  if (!options.enabled) return
  if (process.env.NODE_ENV === 'production') {
    app.log.warn('fastify-debug-toolbar is enabled with NODE_ENV=production: it exposes request details to allowed clients and costs time on every request')
  }

  // Loads the optional Redis client now, so a missing package fails registration with a coded error.
  const makeStore = await redisStoreFactory(options, app.log)
  const toolbar = new Toolbar(options, app.log, makeStore)
  // One RequestProfile per request, in a decorator initialised to null.
  app.decorateRequest(kProfile, null)
  app.addHook('onRequest', toolbar.onRequest)
  app.addHook('onSend', toolbar.onSend)
  app.addHook('onClose', toolbar.onClose)

  const { prefix, allow, maxRequests, maxStoreBytes, live, store } = options
  const maxSites = options.allocations === false ? undefined : options.allocations.maxSites
  // With the Redis store, leak tests are shared on the same connection and prefix.
  const leakTests = makeStore === undefined || store.kind !== 'redis' ? undefined : createRedisLeakTestStore({ client: makeStore.client, keyPrefix: store.keyPrefix, ttlMs: store.ttlMs, log: app.log })
  await app.register(routes, { prefix, allow, maxRequests, maxStoreBytes, live, maxSites, store: toolbar.store, recordListeners: toolbar.recordListeners, leakTicket: toolbar.leakTicket, inFlight: () => toolbar.inFlightCount(), redis: makeStore?.redis, ...(leakTests === undefined ? {} : { leakTests }) })
}

/** The plugin: register it with `app.register(debugToolbar, options)`. Also reachable as `.default` and `.debugToolbar` for CommonJS callers. */
export const debugToolbar = fp(debugToolbarPlugin, {
  fastify: '5.x',
  name: 'fastify-debug-toolbar'
})
Object.assign(debugToolbar, { debugToolbar })
