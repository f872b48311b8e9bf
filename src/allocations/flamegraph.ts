/**
 * A request's allocation call tree in the shape the flame graph widget (d3-flame-graph) reads:
 * `{ name, value, children }` with `value` the node's self bytes (the widget adds callees up).
 * Pure: profile and project root in, JSON-ready data out.
 */
import { siteKey } from './sites.ts'
import { placeFrame, type CodeCategory } from './location.ts'
import type { AllocationFrame, AllocationProfile, AllocationsRecord, ProfileNode, SampleMeaning, SamplerKind } from './types.ts'

/** One frame of the flame graph. */
export interface FlameNode {
  /** The function's name ('(anonymous)' when it has none). */
  name: string
  /** Self bytes (estimated): allocated in this function itself. */
  value: number
  /** Bytes of this frame and everything it called. */
  total: number
  /** Samples taken in this function itself. */
  samples: number
  /** `file:line`, relative to the project root, source-mapped when possible. */
  location: string
  category: CodeCategory
  children: FlameNode[]
}

/** What `GET .../flamegraph.json` answers. */
export interface FlameGraphData {
  sampler: SamplerKind
  meaning: SampleMeaning
  intervalBytes: number
  /** Bytes under the root: every sample's estimated bytes. */
  totalBytes: number
  /** Frames in the tree (after dropping those with no bytes under them). */
  frames: number
  root: FlameNode
}

/** The root frame's label. */
export const ROOT_NAME = 'all sampled allocations'

/** Source-mapped locations a record knows (its sites and their stacks), by frame. */
export type SourceIndex = ReadonlyMap<string, NonNullable<AllocationFrame['source']>>

/**
 * The source-mapped locations of a record's sites and stack frames, for call tree frames that
 * were kept without one.
 */
export function sourceIndex (record: Pick<AllocationsRecord, 'sites'> | undefined): SourceIndex {
  const index = new Map<string, NonNullable<AllocationFrame['source']>>()
  for (const site of record?.sites ?? []) {
    for (const f of [site, ...site.stack]) {
      if (f.source !== undefined) index.set(siteKey(f), f.source)
    }
  }
  return index
}

/**
 * The flame graph of a profile: frames with no bytes under them are dropped, callees heaviest
 * first, so the widest frames start on the left. Frames without a source-mapped location take the
 * one `sources` has for them.
 */
export function flameGraph (profile: AllocationProfile, root: string, sources: SourceIndex = new Map(), resolve?: (f: AllocationFrame) => AllocationFrame): FlameGraphData {
  let frames = 0
  function convert (node: ProfileNode, isRoot: boolean): FlameNode | undefined {
    const children: FlameNode[] = []
    for (const c of node.children) {
      const f = convert(c, false)
      if (f !== undefined) children.push(f)
    }
    const total = node.selfBytes + children.reduce((n, c) => n + c.total, 0)
    if (total <= 0 && !isRoot) return undefined
    children.sort((a, b) => b.total - a.total || a.name.localeCompare(b.name))
    // Sites carry their mapped locations; other frames are mapped on reading, when a resolver is given.
    const source = node.frame.source ?? sources.get(siteKey(node.frame)) ?? resolve?.(node.frame).source
    const placed = placeFrame(source === undefined ? node.frame : { ...node.frame, source }, root)
    frames++
    return {
      name: isRoot ? ROOT_NAME : placed.functionName,
      value: node.selfBytes,
      total,
      samples: node.selfSamples,
      location: isRoot ? '' : placed.location,
      category: placed.category,
      children
    }
  }
  const tree = convert(profile.root, true) as FlameNode
  return {
    sampler: profile.sampler,
    meaning: profile.meaning,
    intervalBytes: profile.intervalBytes,
    totalBytes: tree.total,
    frames,
    root: tree
  }
}
