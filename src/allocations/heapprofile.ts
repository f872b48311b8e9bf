/**
 * A request's allocation profile as a Chrome DevTools `.heapprofile` file (the protocol's
 * `HeapProfiler.SamplingHeapProfile`), which DevTools' Memory tab ("Load profile") and speedscope
 * open. Pure: our call tree in, the protocol's JSON shape out.
 */
import type { AllocationFrame, AllocationProfile, ProfileNode } from './types.ts'

/** `Runtime.CallFrame`: line and column are 0-based (-1 when unknown). */
export interface HeapProfileCallFrame {
  functionName: string
  scriptId: string
  url: string
  lineNumber: number
  columnNumber: number
}

/** `HeapProfiler.SamplingHeapProfileNode`: `selfSize` in bytes. */
export interface HeapProfileNode {
  callFrame: HeapProfileCallFrame
  selfSize: number
  id: number
  children: HeapProfileNode[]
}

/** `HeapProfiler.SamplingHeapProfileSample`: `size` in bytes. */
export interface HeapProfileSample {
  size: number
  nodeId: number
  ordinal: number
}

/** `HeapProfiler.SamplingHeapProfile`: what DevTools saves as `.heapprofile`. */
export interface HeapProfile {
  head: HeapProfileNode
  samples: HeapProfileSample[]
}

/** Options of `toHeapProfile`. */
export interface HeapProfileOptions {
  /**
   * Write source-mapped locations (e.g. the .ts file) instead of the locations V8 reported, for
   * frames that have one. @default false
   */
  sourceMapped?: boolean
}

/**
 * The `.heapprofile` of a profile. Node sizes are the estimated self bytes. The protocol lists one
 * sample per allocation; we kept counts, not each sample, so a node's `selfSamples` samples share
 * its bytes (summing exactly to `selfSize`) and ordinals follow the tree, not allocation order.
 * Node ids are kept when they are unique, renumbered depth-first otherwise.
 */
export function toHeapProfile (profile: AllocationProfile, options: HeapProfileOptions = {}): HeapProfile {
  const scriptIds = new Map<string, string>([['', '0']])
  const seen = new Set<number>()
  let unique = true
  walk(profile.root, (n) => {
    if (seen.has(n.id)) unique = false
    seen.add(n.id)
  })
  let nextId = 1
  const idOf = new Map<ProfileNode, number>()
  walk(profile.root, (n) => { idOf.set(n, unique ? n.id : nextId++) })

  const samples: HeapProfileSample[] = []
  function convert (node: ProfileNode): HeapProfileNode {
    const id = idOf.get(node) as number
    pushSamples(samples, id, node.selfBytes, node.selfSamples)
    return {
      callFrame: callFrame(node.frame, scriptIds, options.sourceMapped === true),
      selfSize: node.selfBytes,
      id,
      children: node.children.map(convert)
    }
  }
  const head = convert(profile.root)
  return { head, samples }
}

/** The protocol's call frame: 0-based positions, a script id per distinct URL ('0' for none). */
function callFrame (frame: AllocationFrame, scriptIds: Map<string, string>, sourceMapped: boolean): HeapProfileCallFrame {
  const where = sourceMapped && frame.source !== undefined && frame.source.url !== '' ? frame.source : frame
  let scriptId = scriptIds.get(where.url)
  if (scriptId === undefined) {
    scriptId = String(scriptIds.size)
    scriptIds.set(where.url, scriptId)
  }
  return {
    functionName: frame.functionName,
    scriptId,
    url: where.url,
    lineNumber: where.line > 0 ? where.line - 1 : -1,
    columnNumber: where.column > 0 ? where.column - 1 : -1
  }
}

/** `count` samples of node `nodeId` whose sizes add up to `bytes` exactly (one sample when count is 0 and bytes are not). */
function pushSamples (samples: HeapProfileSample[], nodeId: number, bytes: number, count: number): void {
  if (bytes <= 0) return
  const n = Math.max(1, count)
  const total = Math.round(bytes)
  const each = Math.floor(total / n)
  let extra = total - each * n
  for (let i = 0; i < n; i++) {
    samples.push({ size: each + (extra > 0 ? 1 : 0), nodeId, ordinal: samples.length + 1 })
    if (extra > 0) extra--
  }
}

function walk (node: ProfileNode, visit: (n: ProfileNode) => void): void {
  const stack = [node]
  while (stack.length > 0) {
    const n = stack.pop() as ProfileNode
    visit(n)
    for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i] as ProfileNode)
  }
}
