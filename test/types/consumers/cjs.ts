// Compiled only by test/types/packed.test.ts in a scratch CommonJS project that installs the packed tarball:
// `require()` returns the plugin itself (Node >= 20.19 loads the ES module).
import Fastify = require('fastify')
import debugToolbar = require('fastify-debug-toolbar')
import viaInterop from 'fastify-debug-toolbar'

/** Compiles only when A and B are the same type. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
function expectTrue<T extends true> (_proof?: T): void {}

async function main (): Promise<void> {
  const app = Fastify()
  expectTrue<Equal<typeof debugToolbar.default, typeof debugToolbar.debugToolbar>>()
  const plugin: Fastify.FastifyPluginAsync<debugToolbar.DebugToolbarOptions> = debugToolbar
  await app.register(plugin, { prefix: '/_toolbar' })
  await app.register(debugToolbar, { enabled: true, prefix: '/__debug', allocations: { sampler: 'inspector' } })
  await app.register(debugToolbar.default, { maxRequests: 10 })
  await app.register(viaInterop, { inject: false })
  await app.register(debugToolbar.debugToolbar, { allow: (request) => request.ip === '::1' })
  const options: debugToolbar.DebugToolbarOptions = { serverTiming: false }
  const allocations: debugToolbar.AllocationsOptions = { requests: 'all' }
  await app.register(debugToolbar, { ...options, allocations })
  // @ts-expect-error maxRequests is a number
  await app.register(debugToolbar, { maxRequests: '50' })
  // @ts-expect-error no such option
  await app.register(debugToolbar, { prefx: '/__debug' })

  app.get('/off', { config: { debugToolbar: false } }, async () => 'off')
  // @ts-expect-error the route option is a boolean
  app.get('/bad', { config: { debugToolbar: 'nope' } }, async () => 'bad')

  await app.close()
}

function readRecord (record: debugToolbar.RequestRecord, summary: debugToolbar.RecordSummary): number {
  const memory: debugToolbar.MemoryRecord = record.memory
  const events: debugToolbar.GcEventRecord[] = memory.gc.events
  return memory.heapUsedDelta + events.length + summary.gcCount
}

export = { main, readRecord }
