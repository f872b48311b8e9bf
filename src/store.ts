import type { AllocationProfile, ProfileNode } from './allocations/types.ts'
import type { RequestRecord } from './record/types.ts'

/**
 * Where records live: bounded by count and by estimated bytes, newest first. Saving is synchronous
 * and cheap (every request); reads are asynchronous, so a shared store fits the same interface, and
 * return records whose memory figures are final.
 */
export interface RequestStore {
  /** Keep a record, and the allocation call tree it was sampled with (if any). */
  save (r: RequestRecord, profile?: AllocationProfile): void
  /** A stored record, its figures final. */
  get (id: string): Promise<RequestRecord | undefined>
  /** The allocation call tree of a stored record, if it was sampled. */
  getProfile (id: string): Promise<AllocationProfile | undefined>
  /** Newest first, every figure final. */
  list (): Promise<readonly RequestRecord[]>
  /** A stored record's figures changed after it was saved (GCs reported later): count its bytes again. */
  revise (id: string): void
  /** Forget every record (for a shared store: every process's). */
  clear (): Promise<void>
  /** How many records are held and their estimated bytes, across every process sharing the store. */
  figures (): Promise<StoreFigures>
  /** On app close: the ring forgets its records; a shared store writes what is queued and lets its connection go. */
  close (): Promise<void>
  /** True for a store every process of the app shares (Redis). */
  readonly shared: boolean
  /** Estimated bytes held, as counted against maxStoreBytes (a shared store: as of its last write). */
  readonly sizeBytes: number
  readonly size: number
}

/** A store's size, as counted against its caps. */
export interface StoreFigures {
  size: number
  sizeBytes: number
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
    r.request.headers.bytes + stringMapBytes(r.request.query) + r.response.headers.bytes +
    r.memory.gc.events.length * GC_EVENT_BYTES +
    r.memory.notes.reduce((n, s) => n + 2 * s.length + 32, 0) +
    allocationsBytes(r)
}

/** Listed sites and their stacks: about 400 bytes a frame with its strings, erring high. */
function allocationsBytes (r: RequestRecord): number {
  const a = r.memory.allocations
  if (a === undefined) return 0
  if (!('sites' in a)) return 256
  let frames = 0
  for (const s of a.sites) frames += 1 + s.stack.length
  return 512 + frames * 400
}

/** Bytes a stored profile costs, estimated per node (the node, its frame and its two strings), erring high. */
export function estimateProfileBytes (profile: AllocationProfile | undefined): number {
  if (profile === undefined) return 0
  let nodes = 0
  const stack: ProfileNode[] = [profile.root]
  while (stack.length > 0) {
    const n = stack.pop() as ProfileNode
    nodes++
    for (const c of n.children) stack.push(c)
  }
  return 256 + nodes * 320
}

/**
 * Makes a stored record's memory figures final, and every older record's (the finalizer's settle):
 * true once they are. With `pair` false it never swaps the GC profiler, and may answer false.
 */
export type Settle = (id: string, pair?: boolean) => Promise<boolean>

const SETTLED: Settle = async () => true

/**
 * A ring of the newest records, capped at maxRequests records and maxStoreBytes estimated bytes.
 * Saving is the hot path (every request): one slot write, no Map and no per-save allocation.
 * Reads are rare (a developer opening the toolbar) and scan the ring, newest first. Records leave
 * oldest first; reading one never reorders the history.
 */
export function createStore (maxRequests: number, maxStoreBytes: number, settle: Settle = SETTLED): RequestStore {
  const records: Array<RequestRecord | undefined> = new Array(maxRequests).fill(undefined)
  const profiles: Array<AllocationProfile | undefined> = new Array(maxRequests).fill(undefined)
  const sizes = new Float64Array(maxRequests)
  /** The profile's share of each slot's size. */
  const profileSizes = new Float64Array(maxRequests)
  /** Slot of the oldest record, and how many there are. */
  let head = 0
  let count = 0
  let bytes = 0

  function dropOldest (): void {
    records[head] = undefined
    profiles[head] = undefined
    bytes -= sizes[head] as number
    head = (head + 1) % maxRequests
    count--
  }

  function clear (): void {
    records.fill(undefined)
    profiles.fill(undefined)
    head = 0
    count = 0
    bytes = 0
  }

  function slotOf (id: string): number {
    for (let i = count - 1; i >= 0; i--) {
      const slot = (head + i) % maxRequests
      if ((records[slot] as RequestRecord).id === id) return slot
    }
    return -1
  }

  return {
    save (r, profile) {
      const profileBytes = estimateProfileBytes(profile)
      const size = estimateRecordBytes(r) + profileBytes
      // A record larger than the whole cap is dropped rather than stored.
      if (size > maxStoreBytes) return
      if (count === maxRequests) dropOldest()
      while (count > 0 && bytes + size > maxStoreBytes) dropOldest()
      const slot = (head + count) % maxRequests
      records[slot] = r
      profiles[slot] = profile
      sizes[slot] = size
      profileSizes[slot] = profileBytes
      bytes += size
      count++
    },
    async get (id) {
      const slot = slotOf(id)
      if (slot === -1) return undefined
      const r = records[slot] as RequestRecord
      if (!r.memory.final) await settle(id)
      return r
    },
    async getProfile (id) {
      const slot = slotOf(id)
      return slot === -1 ? undefined : profiles[slot]
    },
    async list () {
      const out: RequestRecord[] = new Array(count)
      let open: RequestRecord | undefined
      for (let i = 0; i < count; i++) {
        const r = records[(head + count - 1 - i) % maxRequests] as RequestRecord
        out[i] = r
        if (open === undefined && !r.memory.final) open = r
      }
      // Settling the newest open record completes every older one too.
      if (open !== undefined) await settle(open.id)
      return out
    },
    revise (id) {
      const slot = slotOf(id)
      if (slot === -1) return
      const size = estimateRecordBytes(records[slot] as RequestRecord) + (profileSizes[slot] as number)
      bytes += size - (sizes[slot] as number)
      sizes[slot] = size
      // Grown past the cap: the oldest records leave, as on save.
      while (count > 0 && bytes > maxStoreBytes) dropOldest()
    },
    async clear () { clear() },
    async figures () { return { size: count, sizeBytes: bytes } },
    async close () { clear() },
    shared: false,
    get sizeBytes () { return bytes },
    get size () { return count }
  }
}
