import { LRUCache } from 'lru-cache'
import type { RequestRecord } from './record.ts'

/** Where records live: bounded by count and by estimated bytes, newest first. */
export interface RequestStore {
  save (r: RequestRecord): void
  get (id: string): RequestRecord | undefined
  /** Newest first. */
  list (): RequestRecord[]
  clear (): void
  /** Estimated bytes held, as counted against maxStoreBytes. */
  readonly sizeBytes: number
  readonly size: number
}

/** Fixed cost of a record's objects and numbers, in bytes (measured with heap snapshots of stored records, rounded up). */
const RECORD_BASE_BYTES = 2048
/** Per GC event listed in a record, in bytes. */
const GC_EVENT_BYTES = 160

function stringMapBytes (m: Record<string, string>): number {
  let n = 0
  for (const k in m) n += 64 + 2 * (k.length + (m[k] as string).length)
  return n
}

/**
 * A record's size as the store counts it. Strings count two bytes a character (V8 may store them
 * in one), so the estimate errs high and the byte cap holds.
 */
export function estimateRecordBytes (r: RequestRecord): number {
  return RECORD_BASE_BYTES +
    2 * (r.url.length + r.route.length + r.method.length + r.id.length) +
    stringMapBytes(r.request.headers) + stringMapBytes(r.request.query) + stringMapBytes(r.response.headers) +
    r.memory.gc.events.length * GC_EVENT_BYTES +
    r.memory.notes.reduce((n, s) => n + 2 * s.length + 32, 0)
}

/** An LRU store (lru-cache) capped at maxRequests records and maxStoreBytes estimated bytes. */
export function createStore (maxRequests: number, maxStoreBytes: number): RequestStore {
  const cache = new LRUCache<string, RequestRecord>({
    max: maxRequests,
    maxSize: maxStoreBytes,
    // A record larger than the whole cap is dropped rather than stored.
    sizeCalculation: (r) => Math.min(estimateRecordBytes(r), maxStoreBytes + 1)
  })
  return {
    save (r) { cache.set(r.id, r) },
    // peek, not get: reading a record must not reorder the history.
    get (id) { return cache.peek(id) },
    list () { return [...cache.values()] },
    clear () { cache.clear() },
    get sizeBytes () { return cache.calculatedSize },
    get size () { return cache.size }
  }
}
