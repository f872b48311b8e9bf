import { captureHeaderMap, createRedactor, type StoredHeaders } from '../src/headers.ts'
import Fastify, { type FastifyInstance } from 'fastify'
import { Session } from 'node:inspector/promises'
import debugToolbar, { type DebugToolbarOptions, type RequestRecord } from '../src/index.ts'

/** A Fastify app with the toolbar registered (enabled regardless of NODE_ENV). */
export async function appWithToolbar (options: DebugToolbarOptions = {}, routes?: (app: FastifyInstance) => void): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(debugToolbar, { enabled: true, ...options })
  routes?.(app)
  await app.ready()
  return app
}

/** The stored record of a response, through the JSON API. */
export async function recordOf (app: FastifyInstance, id: unknown, prefix = '/__debug'): Promise<RequestRecord> {
  const res = await app.inject(`${prefix}/api/requests/${String(id)}`)
  if (res.statusCode !== 200) throw new Error(`record ${String(id)}: ${res.statusCode} ${res.body}`)
  return res.json()
}

let session: Session | undefined

/** A full GC forced from inside a handler (the scenario: a GC runs inside the request). */
export async function forceGc (): Promise<void> {
  if (session === undefined) {
    session = new Session()
    session.connect()
  }
  await session.post('HeapProfiler.collectGarbage')
}

/** Build `mib` MiB of plain JS arrays (512 KiB each, fast SMI elements: 8 bytes an element). */
export function buildArrays (mib: number): number[][] {
  const chunks: number[][] = []
  for (let i = 0; i < mib * 2; i++) chunks.push(new Array(65536).fill(0))
  return chunks
}

export const MiB = 1024 * 1024

/** Headers for hand-made records, stored the way the plugin stores them (nothing redacted). */
export function plainHeaders (map: Record<string, string>): StoredHeaders {
  return captureHeaderMap(map, createRedactor(new Set()))
}
