/**
 * What the overhead bench measures. Each scenario × route is one row of the table: the same route
 * on the server without the toolbar ("off", one for every scenario of the same heap size) and on the
 * scenario's own server ("on": the toolbar with some options, a hand-written floor, or a peer plugin),
 * otherwise set up alike.
 *
 * To add a row, add a scenario here. Options must be JSON (they reach the server process through
 * BENCH_PLUGIN_OPTIONS); a future option such as a sampling profiler is one more `pluginOptions` key.
 */
import type { DebugToolbarOptions } from '../src/index.ts'
import { BENCH_ROUTES } from './app.ts'
import { FLOOR_DESCRIPTIONS, FLOOR_LEVELS, type FloorLevel } from './floor.ts'
import { PEER_DESCRIPTIONS, PEERS, type Peer } from './peers.ts'

export interface BenchRoute {
  /** Label in the table. */
  name: string
  path: string
  /** An HTML page the toolbar should inject into. */
  html: boolean
  /** Measured when BENCH_ROUTES is not set. */
  byDefault: boolean
  /** Why the body is not what the route serves, or undefined when it is. */
  checkBody (body: string): string | undefined
}

function jsonCheck (test: (value: unknown) => boolean, what: string): (body: string) => string | undefined {
  return (body) => {
    try {
      return test(JSON.parse(body)) ? undefined : `not ${what}: ${body.slice(0, 80)}`
    } catch {
      return `not JSON: ${body.slice(0, 80)}`
    }
  }
}

function pageCheck (body: string): string | undefined {
  if (!body.includes('</body>')) return 'the page has no </body>'
  return body.length < 15_000 ? `the page is ${body.length} characters, expected about 20 KB` : undefined
}

export const ROUTES: BenchRoute[] = [
  { name: 'hello JSON', path: BENCH_ROUTES.hello, html: false, byDefault: true, checkBody: jsonCheck((v) => JSON.stringify(v) === '{"hello":"world"}', '{"hello":"world"}') },
  { name: 'API', path: BENCH_ROUTES.api, html: false, byDefault: true, checkBody: jsonCheck((v) => typeof v === 'object' && v !== null && 'total' in v && typeof v.total === 'number' && v.total > 100, 'the product listing') },
  { name: 'page (eta)', path: BENCH_ROUTES.page, html: true, byDefault: true, checkBody: pageCheck },
  { name: 'page (literal)', path: BENCH_ROUTES.pageLiteral, html: true, byDefault: false, checkBody: pageCheck },
  { name: 'prebuilt 20 KB', path: BENCH_ROUTES.prebuilt, html: true, byDefault: false, checkBody: pageCheck }
]

export interface Scenario {
  /** Short id, used by BENCH_SCENARIOS and shown next to the route in the table. */
  name: string
  description: string
  /** Run when BENCH_SCENARIOS is not set. */
  byDefault: boolean
  /** Toolbar options for the "on" server, merged over BENCH_PLUGIN_OPTIONS. */
  pluginOptions?: DebugToolbarOptions
  /** MiB of live objects both servers retain before listening (`--retain-mb`). */
  retainMb?: number
  /** Request headers sent to both servers. */
  headers?: Record<string, string>
  /** The "on" server is not the toolbar but this hand-written floor (bench/floor.ts). */
  floor?: FloorLevel
  /** The "on" server is not the toolbar but this peer plugin (bench/peers.ts). */
  peer?: Peer
  /** The toolbar served from another checkout of this repository (its bench/server.ts and src/). */
  checkout?: string
  /** The "on" server is a second server without any plugin: what two processes of one build differ by. */
  control?: true
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'default',
    description: 'the toolbar with its default options: native allocation sampling within its budget (20 requests a second, bursts of 40)',
    byDefault: true
  },
  {
    name: 'no-sampling',
    description: 'the toolbar without allocation sampling (allocations: false): heap figures, GCs, headers, injection, store',
    byDefault: true,
    pluginOptions: { allocations: false }
  },
  {
    name: 'native-all',
    description: 'the native sampler on every request (allocations.requests: all), ~10 MiB of heap',
    byDefault: false,
    pluginOptions: { allocations: { sampler: 'native', requests: 'all' } }
  },
  {
    name: 'native-all-300mb',
    description: 'the native sampler on every request; both servers retain ~300 MiB of small objects before listening',
    byDefault: false,
    retainMb: 300,
    pluginOptions: { allocations: { sampler: 'native', requests: 'all' } }
  },
  {
    name: 'inspector-all',
    description: 'the inspector sampler on every request (its stop forces a full GC), ~10 MiB of heap',
    byDefault: false,
    pluginOptions: { allocations: { sampler: 'inspector', requests: 'all' } }
  },
  {
    name: 'inspector-all-300mb',
    description: 'the inspector sampler on every request with ~300 MiB retained: its forced GC grows with the heap',
    byDefault: false,
    retainMb: 300,
    pluginOptions: { allocations: { sampler: 'inspector', requests: 'all' } }
  },
  {
    name: 'precise',
    description: 'every request asks for precise mode (x-debug-toolbar-precise: 1) and gets it (preciseMaxPerSecond raised to 1000): three forced full GCs a request',
    byDefault: false,
    pluginOptions: { preciseMaxPerSecond: 1000 },
    headers: { 'x-debug-toolbar-precise': '1' }
  },
  {
    name: 'minimal',
    description: 'no sampling, no injection, no Server-Timing, no CPU time: the cost of measuring and storing alone',
    byDefault: false,
    pluginOptions: { allocations: false, inject: false, serverTiming: false, cpuTime: false }
  },
  // What the contract costs with no toolbar at all (bench/floor.ts). The default run has the floors
  // the targets are read against: the toolbar's own (floor-contract), the same with a history
  // (floor-record) and sampling every request natively (floor-read); `npm run bench:floor` runs every level.
  ...FLOOR_LEVELS.map((level): Scenario => ({ name: level, description: FLOOR_DESCRIPTIONS[level], byDefault: level === 'floor-contract' || level === 'floor-record' || level === 'floor-read', floor: level })),
  // Two processes of the same build differ by a few µs a request; every row is read against this one's.
  { name: 'control', description: 'a second server without any plugin, measured as a scenario: the difference between two processes of the same build in this run', byDefault: true, control: true },
  // What an app may already run on every request, registered as each one's docs show (bench/peers.ts).
  ...PEERS.map((peer): Scenario => ({ name: peer, description: PEER_DESCRIPTIONS[peer], byDefault: true, peer }))
]
