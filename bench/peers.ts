/**
 * Per-request plugins an app may already run, each registered the way its documentation shows, so
 * the bench can put the toolbar's cost beside theirs on the same routes:
 *
 * - `peer-metrics`: fastify-metrics (prom-client; a histogram and a summary per route, plus the
 *   default process metrics), `{ endpoint: '/metrics' }`.
 * - `peer-otel`: @fastify/otel, OpenTelemetry's Fastify instrumentation, on a NodeTracerProvider
 *   with a BatchSpanProcessor (its default batch and queue sizes) and an exporter that drops what it
 *   is given: every span is made, ended and batched, and nothing leaves the process.
 * - `peer-memory`: a hand-written middleware that reads `process.memoryUsage()` when a request
 *   arrives and before its response is sent, and reports the difference in a response header, as
 *   the memory middlewares of Python web frameworks do.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import { buildBenchApp } from './app.ts'

export const PEERS = ['peer-metrics', 'peer-otel', 'peer-memory'] as const
export type Peer = typeof PEERS[number]

export function isPeer (s: string): s is Peer {
  return (PEERS as readonly string[]).includes(s)
}

/** What each peer is, for the bench's scenario list. */
export const PEER_DESCRIPTIONS: Record<Peer, string> = {
  'peer-metrics': 'no toolbar: fastify-metrics with its documented registration (route histograms and summaries, default process metrics, /metrics)',
  'peer-otel': 'no toolbar: @fastify/otel on a NodeTracerProvider with a BatchSpanProcessor (default sizes) and a no-op exporter',
  'peer-memory': 'no toolbar: a hand-written process.memoryUsage() middleware (read on arrival and before sending; the delta in a header)'
}

/** The response header the memory middleware writes. */
export const MEMORY_DELTA_HEADER = 'x-memory-delta'

/** Figures a peer server reports to the bench (over IPC, with its CPU time). */
export const peerCounters = { spansExported: 0 }

/** The bench app's routes behind `peer` instead of the toolbar. */
export async function buildPeerApp (peer: Peer): Promise<FastifyInstance> {
  const setup = peer === 'peer-metrics' ? setupMetrics : peer === 'peer-otel' ? await otelSetup() : setupMemoryMiddleware
  return await buildBenchApp({ plugin: false, setup })
}

async function setupMetrics (app: FastifyInstance): Promise<void> {
  // A CommonJS module with `exports.default`: Node's ESM loader hands over the exports object.
  const { default: metricsModule } = await import('fastify-metrics')
  const metricsPlugin = metricsModule.default
  await app.register(metricsPlugin, { endpoint: '/metrics' })
}

/** Set up the tracer provider once (as an app's OpenTelemetry setup file does), then register the plugin. */
async function otelSetup (): Promise<(app: FastifyInstance) => Promise<void>> {
  const { NodeTracerProvider, BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-node')
  const { FastifyOtelInstrumentation } = await import('@fastify/otel')
  type SpanExporter = import('@opentelemetry/sdk-trace-node').SpanExporter
  const exporter: SpanExporter = {
    export (spans, resultCallback) {
      peerCounters.spansExported += spans.length
      resultCallback({ code: 0 }) // ExportResultCode.SUCCESS
    },
    async shutdown () {}
  }
  const provider = new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] })
  provider.register()
  const instrumentation = new FastifyOtelInstrumentation()
  instrumentation.setTracerProvider(provider)
  return async (app) => {
    await app.register(instrumentation.plugin())
  }
}

interface MemoryAtStart { rssBytes: number, heapUsedBytes: number, externalBytes: number }
const kMemory = Symbol('bench memory middleware')
type MemoryRequest = FastifyRequest & { [kMemory]: MemoryAtStart | null }

function setupMemoryMiddleware (app: FastifyInstance): void {
  app.decorateRequest(kMemory, null)
  app.addHook('onRequest', function memoryAtStart (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) {
    const m = process.memoryUsage()
    ;(request as MemoryRequest)[kMemory] = { rssBytes: m.rss, heapUsedBytes: m.heapUsed, externalBytes: m.external }
    done()
  })
  app.addHook('onSend', function memoryDelta (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: null, payload: unknown) => void) {
    const start = (request as MemoryRequest)[kMemory]
    if (start !== null) {
      const m = process.memoryUsage()
      reply.header(MEMORY_DELTA_HEADER, `rss=${m.rss - start.rssBytes}; heapUsed=${m.heapUsed - start.heapUsedBytes}; external=${m.external - start.externalBytes}`)
    }
    done(null, payload)
  })
}
