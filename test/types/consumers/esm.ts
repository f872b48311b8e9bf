// Compiled only by test/types/packed.test.ts in scratch ES module projects that install the packed tarball.
import Fastify, { type FastifyContextConfig, type FastifyPluginAsync } from 'fastify'
import { measureLeak, type LeakReport } from 'fastify-debug-toolbar/testing'
import debugToolbar, {
  debugToolbar as named,
  ID_HEADER,
  PRECISE_HEADER,
  PRECISE_COOKIE,
  FST_DEBUG_TOOLBAR_INVALID_OPTION,
  FST_DEBUG_TOOLBAR_NOT_FOUND,
  FST_DEBUG_TOOLBAR_UNKNOWN_PANEL,
  FST_DEBUG_TOOLBAR_FORBIDDEN,
  FST_DEBUG_TOOLBAR_REDIS_UNAVAILABLE,
  type AllocationsOptions,
  type DebugToolbarOptions,
  type GcEventRecord,
  type MemoryRecord,
  type RecordSummary,
  type RequestRecord
} from 'fastify-debug-toolbar'

/** Compiles only when A and B are the same type. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
function expectTrue<T extends true> (_proof?: T): void {}

const app = Fastify()

// The plugin, its named export and every option.
expectTrue<Equal<typeof debugToolbar, typeof named>>()
export const plugin: FastifyPluginAsync<DebugToolbarOptions> = debugToolbar
await app.register(debugToolbar)
await app.register(debugToolbar, {})
await app.register(debugToolbar, {
  enabled: true,
  prefix: '/__debug',
  allow: (request) => request.ip === '127.0.0.1',
  maxRequests: 50,
  maxStoreBytes: 16 * 1024 * 1024,
  redact: ['x-api-key'],
  serverTiming: true,
  inject: true,
  cpuTime: false,
  allocations: { sampler: 'auto', intervalBytes: 16384, stackDepth: 64, requests: 'budget', maxPerSecond: 20, maxSites: 50 }
})
await app.register(debugToolbar, { allocations: false })
await app.register(debugToolbar, { allocations: true })
const allocations: AllocationsOptions = { sampler: 'inspector', requests: 'marked' }
await app.register(debugToolbar, { allocations })

// The shared store: a URL, or a client with ioredis' call().
await app.register(debugToolbar, { store: 'memory' })
await app.register(debugToolbar, { store: { redis: 'redis://127.0.0.1:6379/0', keyPrefix: 'app:', ttlMs: 3_600_000 } })
await app.register(debugToolbar, { store: { redis: { call: async (command: string, ...args: Array<string | number>) => [command, ...args] } } })
// @ts-expect-error the Redis option names a URL or a client
await app.register(debugToolbar, { store: { redis: 6379 } })
// @ts-expect-error no such store
await app.register(debugToolbar, { store: 'file' })

// @ts-expect-error enabled is a boolean
await app.register(debugToolbar, { enabled: 'yes' })
// @ts-expect-error maxRequests is a number
await app.register(debugToolbar, { maxRequests: '50' })
// @ts-expect-error redact is a list of names
await app.register(debugToolbar, { redact: 'authorization' })
// @ts-expect-error allow takes the request and returns a boolean
await app.register(debugToolbar, { allow: () => 'yes' })
// @ts-expect-error no such sampler
await app.register(debugToolbar, { allocations: { sampler: 'perf' } })
// @ts-expect-error no such sampling mode
await app.register(debugToolbar, { allocations: { requests: 'some' } })
// @ts-expect-error no such option
await app.register(debugToolbar, { prefx: '/__debug' })
// @ts-expect-error no such allocation option
export const badAllocations: AllocationsOptions = { interval: 1024 }

// The route option, by declaration merging on FastifyContextConfig.
expectTrue<Equal<FastifyContextConfig['debugToolbar'], boolean | undefined>>()
app.get('/off', { config: { debugToolbar: false } }, async () => 'off')
app.route({ method: 'GET', url: '/on', config: { debugToolbar: true }, handler: async () => 'on' })
app.get('/read', async (request) => {
  const flag: boolean | undefined = request.routeOptions.config.debugToolbar
  return { flag: flag ?? null }
})
// @ts-expect-error the route option is a boolean
app.get('/bad', { config: { debugToolbar: 'nope' } }, async () => 'bad')
// @ts-expect-error the route option is a boolean
app.route({ method: 'GET', url: '/bad2', config: { debugToolbar: 1 }, handler: async () => 'bad' })

// Names of the protocol.
expectTrue<Equal<typeof ID_HEADER, 'x-debug-toolbar-id'>>()
expectTrue<Equal<typeof PRECISE_HEADER, 'x-debug-toolbar-precise'>>()
export const cookie: string = PRECISE_COOKIE

// Coded errors.
const invalid = new FST_DEBUG_TOOLBAR_INVALID_OPTION('maxRequests', 'expected a number')
expectTrue<Equal<typeof invalid.code, 'FST_DEBUG_TOOLBAR_INVALID_OPTION'>>()
expectTrue<Equal<typeof invalid.statusCode, 500>>()
export const message: string = invalid.message
expectTrue<Equal<InstanceType<typeof FST_DEBUG_TOOLBAR_NOT_FOUND>['statusCode'], 404>>()
expectTrue<Equal<InstanceType<typeof FST_DEBUG_TOOLBAR_UNKNOWN_PANEL>['code'], 'FST_DEBUG_TOOLBAR_UNKNOWN_PANEL'>>()
expectTrue<Equal<InstanceType<typeof FST_DEBUG_TOOLBAR_FORBIDDEN>['statusCode'], 403>>()
expectTrue<Equal<InstanceType<typeof FST_DEBUG_TOOLBAR_REDIS_UNAVAILABLE>['statusCode'], 500>>()
export const isError: Error = invalid

// Records, as the JSON API serves them.
export function readRecord (record: RequestRecord): unknown[] {
  const memory: MemoryRecord = record.memory
  const events: GcEventRecord[] = memory.gc.events
  const kind: 'minor' | 'major' | 'incremental' | 'weakcb' | undefined = events[0]?.kind
  const heapUsedDelta: number = memory.heapUsedDelta
  const loopBusyMs: number = record.cpu.loopBusyMs
  const userMs: number | null = record.cpu.userMs
  // @ts-expect-error durationMs is a number
  const durationMs: string = record.durationMs
  return [kind, heapUsedDelta, loopBusyMs, userMs, durationMs]
}
export function readSummary (summary: RecordSummary): number {
  return summary.heapUsedDelta + summary.gcCount
}

const leak: LeakReport = await measureLeak(app, { method: 'GET', url: '/' }, { calls: 10 })
const perCall: number = leak.retainedPerCall.high
// @ts-expect-error calls is a number
await measureLeak(app, { url: '/' }, { calls: '30' })
export const leakSummary = `${leak.summary} ${perCall}`

await app.close()
