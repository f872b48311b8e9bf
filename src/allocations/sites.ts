import { findSourceMap, type SourceMap } from 'node:module'
import type { AllocationFrame, AllocationProfile, AllocationSite, ProfileNode } from './types.ts'

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
  /** The node with the most self bytes at this site, and its path from the root. */
  heaviest: ProfileNode
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
 */
export function summarizeSites (profile: AllocationProfile, maxSites: number, resolve: SourceResolver = defaultResolver): SiteSummary {
  const bySite = new Map<string, SiteAccumulator>()
  let sampledBytes = 0
  let samples = 0
  const path: ProfileNode[] = []
  function walk (n: ProfileNode): void {
    path.push(n)
    if (n.selfBytes > 0) {
      sampledBytes += n.selfBytes
      samples += n.selfSamples
      const key = siteKey(n.frame)
      const acc = bySite.get(key)
      if (acc === undefined) {
        bySite.set(key, { frame: n.frame, bytes: n.selfBytes, samples: n.selfSamples, heaviest: n, heaviestPath: [...path] })
      } else {
        acc.bytes += n.selfBytes
        acc.samples += n.selfSamples
        if (n.selfBytes > acc.heaviest.selfBytes) {
          acc.heaviest = n
          acc.heaviestPath = [...path]
        }
      }
    }
    for (const c of n.children) walk(c)
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
