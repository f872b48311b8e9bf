import { findSourceMap, type SourceMap } from 'node:module'
import { isBuiltin } from './builtins.ts'
import type { AllocationFrame, AllocationProfile, AllocationSite, AllocationsRecord, BuiltinsView, ProfileNode } from './types.ts'

/** The sites a record lists, and what the rest add up to. */
export interface SiteSummary {
  sites: AllocationSite[]
  sampledBytes: number
  samples: number
  otherSites: number
  otherBytes: number
}

interface SiteAccumulator {
  frame: AllocationFrame
  bytes: number
  samples: number
  /** Self bytes of the site's heaviest node (builtins counted in when folded), and its path from the root. */
  heaviestBytes: number
  heaviestPath: ProfileNode[]
}

/** V8's synthetic nodes: `(root)`, `(V8 API)`, `(program)`... have no script. */
function isSynthetic (n: ProfileNode): boolean {
  return n.frame.url === '' && n.frame.functionName.startsWith('(')
}

/** A site's identity: the function V8 attributes it to (name and where it is defined). */
export function siteKey (f: Pick<AllocationFrame, 'functionName' | 'url' | 'line' | 'column'>): string {
  return `${f.functionName}\u0000${f.url}\u0000${f.line}\u0000${f.column}`
}

/**
 * Top allocation sites of a profile: self bytes per function (name and definition site), heaviest
 * first, each with the call path of its heaviest node. Frames get source-mapped locations when the
 * script has a source map (Node keeps them when source maps are enabled, as tsx does).
 *
 * With `builtins: 'folded'` (the default) the sites are those of `foldBuiltins(profile.root)`,
 * computed in the same walk without copying the tree: a builtin's bytes go to its nearest caller
 * that is not one, and the builtin leaves the stacks.
 */
export function summarizeSites (profile: AllocationProfile, maxSites: number, resolve: SourceResolver = defaultResolver, builtins: BuiltinsView = 'folded'): SiteSummary {
  const fold = builtins === 'folded'
  const bySite = new Map<string, SiteAccumulator>()
  let sampledBytes = 0
  let samples = 0
  const path: ProfileNode[] = []
  // The builtins under the node being walked, summed by absorb().
  let absorbedBytes = 0
  let absorbedSamples = 0
  function absorb (n: ProfileNode): void {
    for (const c of n.children) {
      if (!isBuiltin(c)) continue
      absorbedBytes += c.selfBytes
      absorbedSamples += c.selfSamples
      absorb(c)
    }
  }
  /** Walk n's children; a builtin's own children are walked as if they were n's. */
  function walkChildren (n: ProfileNode, through: boolean): void {
    for (const c of n.children) {
      if (through && isBuiltin(c)) walkChildren(c, true)
      else walk(c)
    }
  }
  function walk (n: ProfileNode): void {
    path.push(n)
    const absorbs = fold && !isBuiltin(n) && !isSynthetic(n)
    let selfBytes = n.selfBytes
    let selfSamples = n.selfSamples
    if (absorbs) {
      absorbedBytes = 0
      absorbedSamples = 0
      absorb(n)
      selfBytes += absorbedBytes
      selfSamples += absorbedSamples
    }
    if (selfBytes > 0) {
      sampledBytes += selfBytes
      samples += selfSamples
      const key = siteKey(n.frame)
      const acc = bySite.get(key)
      if (acc === undefined) {
        bySite.set(key, { frame: n.frame, bytes: selfBytes, samples: selfSamples, heaviestBytes: selfBytes, heaviestPath: [...path] })
      } else {
        acc.bytes += selfBytes
        acc.samples += selfSamples
        if (selfBytes > acc.heaviestBytes) {
          acc.heaviestBytes = selfBytes
          acc.heaviestPath = [...path]
        }
      }
    }
    walkChildren(n, absorbs)
    path.pop()
  }
  walk(profile.root)

  const all = [...bySite.values()].sort((a, b) => b.bytes - a.bytes)
  const listed = all.slice(0, maxSites)
  const sites = listed.map((acc): AllocationSite => ({
    ...resolve(acc.frame),
    bytes: acc.bytes,
    samples: acc.samples,
    stack: acc.heaviestPath.filter((n) => !isSynthetic(n)).map((n) => resolve(n.frame))
  }))
  let otherBytes = 0
  for (const acc of all.slice(maxSites)) otherBytes += acc.bytes
  return { sites, sampledBytes, samples, otherSites: all.length - listed.length, otherBytes }
}

/** A record's allocations with the sites counted again from its call tree, builtins folded or apart as asked. */
export function recountSites (a: AllocationsRecord, profile: AllocationProfile, maxSites: number, builtins: BuiltinsView, resolve: SourceResolver = defaultResolver): AllocationsRecord {
  const s = summarizeSites(profile, maxSites, resolve, builtins)
  return { ...a, builtins, sites: s.sites, sampledBytes: s.sampledBytes, samples: s.samples, otherSites: s.otherSites, otherBytes: s.otherBytes }
}

/** Adds `source` to a frame whose script has a source map; returns a copy, never the profile's object. */
export type SourceResolver = (f: AllocationFrame) => AllocationFrame

const maps = new Map<string, SourceMap | null>()
/** Bounded: a long-running dev server loads a finite set of scripts, but never let the cache grow without limit. */
const MAX_CACHED_MAPS = 2000

function mapFor (url: string): SourceMap | null {
  let m = maps.get(url)
  if (m !== undefined) return m
  try {
    m = findSourceMap(url) ?? null
  } catch {
    m = null
  }
  if (maps.size >= MAX_CACHED_MAPS) maps.clear()
  maps.set(url, m)
  return m
}

/** Source maps Node has loaded (process.sourceMapsEnabled, e.g. under tsx or --enable-source-maps). */
export function defaultResolver (f: AllocationFrame): AllocationFrame {
  const out: AllocationFrame = { functionName: f.functionName, url: f.url, line: f.line, column: f.column }
  if (f.line === 0 || !f.url.startsWith('file:')) return out
  const map = mapFor(f.url)
  if (map === null) return out
  const entry = map.findEntry(f.line - 1, Math.max(0, f.column - 1)) as { originalSource?: string, originalLine?: number, originalColumn?: number }
  if (entry.originalSource === undefined || entry.originalLine === undefined) return out
  out.source = { url: entry.originalSource, line: entry.originalLine + 1, column: (entry.originalColumn ?? 0) + 1 }
  return out
}
