import type { FastifyInstance } from 'fastify'
import { cacheByFreshId, churn, keepInModuleArray, listenOnBus, readLookupTable, startForgottenTimer } from '../lib/leaks.ts'

/** One leak scenario: its route and what a leak test of it should read. */
export interface LeakScenario {
  path: string
  title: string
  does: string
  reads: string
  run: () => number
}

/** The leak scenarios, in the order the home page lists them. */
export const LEAK_SCENARIOS: LeakScenario[] = [
  { path: '/leaks/module-array', title: 'Module-level array', does: 'Pushes a 4 KiB array onto a module-level array.', reads: 'leaks ≈ 4.1 kB a call; Array grows once a call, held by the module variable.', run: keepInModuleArray },
  { path: '/leaks/map-by-id', title: 'Map keyed by a fresh id', does: 'Caches 4 KiB under a new session id every call; nothing reads it back.', reads: 'leaks ≈ 4.2 kB a call (the entry, its key and the Map growing).', run: cacheByFreshId },
  { path: '/leaks/listeners', title: 'Listeners on a long-lived emitter', does: 'Adds a listener closing over 4 KiB to a module-level EventEmitter.', reads: 'leaks ≈ 4.2 kB a call; the closures are held by the emitter\'s listener array.', run: listenOnBus },
  { path: '/leaks/timer', title: 'A timer never cleared', does: 'Starts an hourly interval whose callback closes over 4 KiB, and never clears it.', reads: 'leaks ≈ 4.3 kB a call; Timeout grows once a call.', run: startForgottenTimer },
  { path: '/leaks/first-call-cache', title: 'First-call cache (not a leak)', does: 'Builds a 2,000-entry lookup table on the first call, then only reads it.', reads: 'no leak: warm-up absorbs the first call.', run: readLookupTable },
  { path: '/leaks/churn', title: 'Churn (not a leak)', does: 'Allocates about 8 MiB of short-lived arrays a call and keeps none.', reads: 'no leak, however much it allocates.', run: churn }
]

/** The leak scenarios' routes: each answers JSON with the count it reached. */
export async function leakRoutes (app: FastifyInstance): Promise<void> {
  for (const s of LEAK_SCENARIOS) {
    app.get(s.path, async () => ({ scenario: s.title, count: s.run() }))
  }
}
