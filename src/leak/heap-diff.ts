/**
 * What grew between two heap snapshots: the object types whose count rose with the number of calls,
 * largest first, and for the top few one retainer path from a GC root. Parsing uses
 * heap-snapshot-toolkit (Chrome DevTools' own snapshot parser, packaged), in a worker thread so that
 * seconds of parsing never block the app's event loop.
 */
import { createReadStream } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { Worker } from 'node:worker_threads'

/** An object type that grew with the number of calls. */
export interface GrownType {
  /** Constructor name as DevTools shows it (`UserCache`, `Array`, `(string)`, `(closure)`). */
  name: string
  /** Net objects added between the snapshots, and per call. */
  count: number
  countPerCall: number
  /** Net self bytes added between the snapshots, and per call. */
  bytes: number
  bytesPerCall: number
  /**
   * One path that keeps an added object alive, the object first and a GC root last, as names:
   * `['Widget', '[12] (array)', 'table (Map)', 'entries (UserCache)', 'cache (global)']`; empty
   * when none was traced (types below the first few).
   */
  retainers: string[]
}

/** What to diff and how much to keep. */
export interface HeapDiffInput {
  beforePath: string
  afterPath: string
  /** Calls made between the two snapshots. */
  calls: number
  /** Most types listed. */
  maxTypes: number
  /** Types (from the top) that get a retainer path. */
  maxPaths: number
}

/** The diff, and the time spent parsing and comparing. */
export interface HeapDiffResult {
  types: GrownType[]
  /** Types that grew but less than once every two calls, left out. */
  omittedTypes: number
  /** Net self bytes added per call by every type, and by V8's own bookkeeping among them (compiled code, object shapes, system objects). */
  netBytesPerCall: number
  internalBytesPerCall: number
  durationMs: number
}

/** V8's own bookkeeping, not the app's objects: grows while code is compiled. */
const V8_INTERNAL = new Set(['(compiled code)', '(object shape)', '(system)'])

interface DiffRow { name: string, countDelta: number, sizeDelta: number, addedIndexes: number[] }
interface SnapshotNode {
  distance (): number
  className (): string
  isRoot (): boolean
  retainers (): { hasNext (): boolean, next (): void, item (): { name (): string, type (): string, node (): SnapshotNode } }
}
interface Snapshot { createNode (index: number): SnapshotNode }

/** The diff, computed in this thread (see diffInWorker). */
export async function diffSnapshots (input: HeapDiffInput): Promise<HeapDiffResult> {
  const t0 = performance.now()
  const toolkit = await import('heap-snapshot-toolkit')
  let before: Awaited<ReturnType<typeof toolkit.parse>> | undefined = await toolkit.parse(createReadStream(input.beforePath, 'utf-8'))
  const beforeId = (before as unknown as { uid: string }).uid
  const aggregates = before.aggregatesForDiff(before.interfaceDefinitions())
  before = undefined
  const after = await toolkit.parse(createReadStream(input.afterPath, 'utf-8'))
  const rows = Object.values(after.calculateSnapshotDiff(beforeId, aggregates)) as unknown as DiffRow[]
  const grownEnough = Math.max(1, input.calls / 2)
  const grown = rows.filter((r) => r.countDelta > 0 && r.sizeDelta > 0 && !V8_INTERNAL.has(r.name))
  const kept = grown.filter((r) => r.countDelta >= grownEnough).sort((a, b) => b.sizeDelta - a.sizeDelta || b.countDelta - a.countDelta)
  const types = kept.slice(0, input.maxTypes).map((r, i): GrownType => ({
    name: r.name,
    count: r.countDelta,
    countPerCall: r.countDelta / input.calls,
    bytes: r.sizeDelta,
    bytesPerCall: r.sizeDelta / input.calls,
    retainers: i < input.maxPaths ? retainerPath(after as unknown as Snapshot, r) : []
  }))
  let net = 0
  let internal = 0
  for (const r of rows) {
    net += r.sizeDelta
    if (V8_INTERNAL.has(r.name)) internal += r.sizeDelta
  }
  return { types, omittedTypes: grown.length - kept.length, netBytesPerCall: net / input.calls, internalBytesPerCall: internal / input.calls, durationMs: performance.now() - t0 }
}

/** Longest retainer path followed, in steps. */
const MAX_PATH_STEPS = 16
/** Added objects looked at for the one closest to a GC root. */
const MAX_CANDIDATES = 32

/**
 * One retainer path of an added object of the type: the path most of the added objects share (the
 * leak, rather than some one-off object of the same type), each step the retainer closest to a GC
 * root as DevTools' Retainers view orders them, weak edges skipped.
 */
function retainerPath (snapshot: Snapshot, row: DiffRow): string[] {
  const byShape = new Map<string, { path: string[], count: number }>()
  let best: { path: string[], count: number } | undefined
  for (const index of row.addedIndexes.slice(0, MAX_CANDIDATES)) {
    const path = pathFrom(snapshot.createNode(index))
    // Element indexes differ from object to object; the shape leaves them out.
    const shape = path.join('\u0000').replace(/\[\d+\]/g, '[]')
    const entry = byShape.get(shape) ?? { path, count: 0 }
    entry.count++
    byShape.set(shape, entry)
    if (best === undefined || entry.count > best.count) best = entry
  }
  return best?.path ?? []
}

function pathFrom (start: SnapshotNode): string[] {
  let node = start
  const path = [node.className()]
  for (let step = 0; step < MAX_PATH_STEPS && node.distance() > 1 && !node.isRoot(); step++) {
    let best: { node: SnapshotNode, edge: string, type: string, synthetic: boolean } | undefined
    for (const it = node.retainers(); it.hasNext(); it.next()) {
      const edge = it.item()
      const type = edge.type()
      if (type === 'weak') continue
      const retainer = edge.node()
      // V8's own links (allocation sites, feedback, descriptor arrays) are short cuts to a root no reader can act on.
      const kind = retainer.className()
      if (kind === '(system)' || (kind.startsWith('system / ') && kind !== 'system / Context')) continue
      // GC root categories last: a path through the app's own objects says more.
      const synthetic = kind === '(synthetic)' || retainer.isRoot()
      if (best === undefined || (best.synthetic && !synthetic) || (best.synthetic === synthetic && retainer.distance() < best.node.distance())) best = { node: retainer, edge: edge.name(), type, synthetic }
    }
    if (best === undefined) break
    const holder = best.node.className()
    // A scope (a module's or a closure's variables): past it lie the module loader's own objects.
    if (holder === 'system / Context') {
      path.push(`${best.edge} (variable)`)
      break
    }
    path.push(`${edgeLabel(best.edge, best.type)} ${holder.startsWith('(') ? holder : `(${holder})`}`)
    node = best.node
  }
  return path
}

function edgeLabel (name: string, type: string): string {
  if (type === 'element' || type === 'hidden') return `[${name}]`
  return name
}

/** The diff, computed in a worker thread (the app's event loop goes on meanwhile). */
export function diffInWorker (input: HeapDiffInput): Promise<HeapDiffResult> {
  return new Promise((resolve, reject) => {
    const worker = startWorker(input)
    let settled = false
    worker.once('message', (m: { ok: true, result: HeapDiffResult } | { ok: false, message: string }) => {
      settled = true
      if (m.ok) resolve(m.result)
      else reject(new Error(m.message))
    })
    worker.once('error', (err) => {
      settled = true
      reject(err)
    })
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`the heap snapshot parser stopped (exit code ${code})`))
    })
  })
}

/**
 * The worker: the built .js file, or under a TypeScript loader (tests, the playground) the .ts file
 * through tsx, whose `--import` hook does not reach worker threads by itself.
 */
function startWorker (input: HeapDiffInput): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./heap-diff-worker.js', import.meta.url), { workerData: input })
  const entry = JSON.stringify(new URL('./heap-diff-worker.ts', import.meta.url).href)
  const code = `import('tsx/esm/api').then((api) => { api.register(); return import(${entry}) }).catch((err) => { require('node:worker_threads').parentPort.postMessage({ ok: false, message: String(err) }) })`
  return new Worker(code, { eval: true, workerData: input })
}
