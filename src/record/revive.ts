import type { AllocationProfile } from '../allocations/types.ts'
import { headersFromJSON } from '../headers.ts'
import type { RequestRecord } from './types.ts'

/**
 * A record read back from its JSON text (a shared store), or undefined when the text is not one:
 * headers become StoredHeaders again, everything else is plain data already.
 */
export function reviveRecord (text: string): RequestRecord | undefined {
  let r: unknown
  try {
    r = JSON.parse(text)
  } catch {
    return undefined
  }
  if (!isObject(r) || typeof r.id !== 'string' || typeof r.method !== 'string' || typeof r.url !== 'string' ||
    typeof r.route !== 'string' || typeof r.statusCode !== 'number' || typeof r.startedAt !== 'number' ||
    !isObject(r.cpu) || !isObject(r.request) || !isObject(r.response) || !isObject(r.process) || typeof r.process.pid !== 'number') return undefined
  const m = r.memory
  if (!isObject(m) || !isObject(m.gc) || !Array.isArray(m.gc.events) || !Array.isArray(m.notes) || typeof m.heapUsedDelta !== 'number') return undefined
  if (!isObject(r.request.headers) || !isObject(r.response.headers) || !isObject(r.request.query)) return undefined
  r.request.headers = headersFromJSON(r.request.headers as Record<string, string>)
  r.response.headers = headersFromJSON(r.response.headers as Record<string, string>)
  return r as unknown as RequestRecord
}

/** An allocation call tree read back from its JSON text, or undefined when the text is not one. */
export function reviveProfile (text: string): AllocationProfile | undefined {
  try {
    const p: unknown = JSON.parse(text)
    if (isObject(p) && isObject(p.root) && Array.isArray(p.root.children) && typeof p.intervalBytes === 'number') return p as unknown as AllocationProfile
  } catch {}
  return undefined
}

function isObject (v: unknown): v is Record<string, unknown> & { [k: string]: any } {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
