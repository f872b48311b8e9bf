/**
 * Allocation sites grouped for reading: by function (the sites as sampled), by file, or by package
 * (`node_modules/<pkg>` collapsed to the package, Node's internals and native code apart), after
 * include/exclude filters. Pure: record and project root in, plain rows out.
 */
import { placeFrame, type CodeCategory, type PlacedFrame } from './location.ts'
import { siteKey } from './sites.ts'
import type { AllocationsRecord } from './types.ts'

/** How sites are grouped. */
export const GROUP_BY = ['function', 'file', 'package'] as const
export type GroupBy = typeof GROUP_BY[number]

/** Longest include or exclude filter accepted, in characters. */
export const MAX_FILTER_LENGTH = 200
/** Most terms one filter may hold (comma-separated). */
export const MAX_FILTER_TERMS = 10

/** How to group and filter; filters are comma-separated, case-insensitive substrings. */
export interface SiteQuery {
  by: GroupBy
  /** Keep only sites whose function name or path contains one of these. '' keeps all. */
  include: string
  /** Drop sites whose function name or path contains one of these. */
  exclude: string
}

/** One site, placed for display. */
export interface PlacedSite extends PlacedFrame {
  /** Identifies the function across requests of one process: name, runtime URL, line and column. */
  key: string
  bytes: number
  samples: number
  /** Percent of the sampled bytes, one decimal. */
  share: number
  /** Its heaviest stack, outermost caller first, the site last. */
  stack: PlacedFrame[]
}

/** A row of the grouped table. */
export interface SiteGroup {
  /** Stable across requests: what compare matches on. */
  key: string
  /** The function name, the file, or the package. */
  label: string
  /** Under the label: the function's file:line, the file's package, or what the package group holds. */
  detail: string
  category: CodeCategory
  bytes: number
  samples: number
  /** Percent of the sampled bytes, one decimal. */
  share: number
  /** The sites in the group, heaviest first (one for `function`). */
  sites: PlacedSite[]
}

/** Grouped sites and what the filters and the top-N cut left out. */
export interface GroupedSites {
  query: SiteQuery
  groups: SiteGroup[]
  /** Every sample's estimated bytes, listed or not. */
  sampledBytes: number
  /** Bytes in the groups shown (after filters). */
  shownBytes: number
  /** Listed sites the filters removed, and their bytes. */
  filteredSites: number
  filteredBytes: number
  /** Sites the record did not list (beyond its top N), and their bytes. */
  otherSites: number
  otherBytes: number
}

/** The query with defaults: by function, no filters. */
export const DEFAULT_QUERY: SiteQuery = { by: 'function', include: '', exclude: '' }

/** Comma-separated filter text as lower-case terms, empty ones dropped, at most MAX_FILTER_TERMS. */
export function filterTerms (text: string): string[] {
  return text.split(',').map((t) => t.trim().toLowerCase()).filter((t) => t !== '').slice(0, MAX_FILTER_TERMS)
}

/** Percent with one decimal; 0 when the whole is 0. */
export function percent (part: number, whole: number): number {
  return whole <= 0 ? 0 : Math.round((part / whole) * 1000) / 10
}

/** Every site of a record, placed under `root`, heaviest first. */
export function placeSites (record: Pick<AllocationsRecord, 'sites' | 'sampledBytes'>, root: string): PlacedSite[] {
  return record.sites.map((s) => ({
    ...placeFrame(s, root),
    key: siteKey(s),
    bytes: s.bytes,
    samples: s.samples,
    share: percent(s.bytes, record.sampledBytes),
    stack: s.stack.map((f) => placeFrame(f, root))
  })).sort((a, b) => b.bytes - a.bytes)
}

/** True when the site passes the filters (matched on function name, shown path and runtime URL). */
export function keepSite (site: Pick<PlacedSite, 'functionName' | 'file' | 'location' | 'key'>, include: readonly string[], exclude: readonly string[]): boolean {
  const haystacks = [site.functionName.toLowerCase(), site.location.toLowerCase(), site.key.toLowerCase()]
  const hit = (term: string): boolean => haystacks.some((h) => h.includes(term))
  if (include.length > 0 && !include.some(hit)) return false
  return !exclude.some(hit)
}

function groupKey (site: PlacedSite, by: GroupBy): string {
  if (by === 'function') return `f:${site.key}`
  if (by === 'file') return `file:${site.file}`
  return `pkg:${site.packageName}`
}

const PACKAGE_DETAILS: Readonly<Record<CodeCategory, string>> = {
  app: 'your code: everything outside node_modules',
  dependency: 'an npm package under node_modules',
  node: 'Node.js built-in modules (node:…)',
  native: 'V8 and native code with no script'
}

function describeGroup (site: PlacedSite, by: GroupBy): { label: string, detail: string } {
  if (by === 'function') return { label: site.functionName, detail: site.location }
  if (by === 'file') return { label: site.file, detail: site.category === 'dependency' ? `package ${site.packageName}` : PACKAGE_DETAILS[site.category] }
  return { label: site.packageName, detail: PACKAGE_DETAILS[site.category] }
}

/** Group and filter a record's listed sites; groups heaviest first (ties by label). */
export function groupSites (record: Pick<AllocationsRecord, 'sites' | 'sampledBytes' | 'otherSites' | 'otherBytes'>, query: SiteQuery, root: string): GroupedSites {
  const include = filterTerms(query.include)
  const exclude = filterTerms(query.exclude)
  const groups = new Map<string, SiteGroup>()
  let filteredSites = 0
  let filteredBytes = 0
  let shownBytes = 0
  for (const site of placeSites(record, root)) {
    if (!keepSite(site, include, exclude)) {
      filteredSites++
      filteredBytes += site.bytes
      continue
    }
    shownBytes += site.bytes
    const key = groupKey(site, query.by)
    let group = groups.get(key)
    if (group === undefined) {
      group = { key, ...describeGroup(site, query.by), category: site.category, bytes: 0, samples: 0, share: 0, sites: [] }
      groups.set(key, group)
    }
    group.bytes += site.bytes
    group.samples += site.samples
    group.sites.push(site)
  }
  const list = [...groups.values()]
  for (const g of list) g.share = percent(g.bytes, record.sampledBytes)
  list.sort((a, b) => b.bytes - a.bytes || a.label.localeCompare(b.label))
  return {
    query,
    groups: list,
    sampledBytes: record.sampledBytes,
    shownBytes,
    filteredSites,
    filteredBytes,
    otherSites: record.otherSites,
    otherBytes: record.otherBytes
  }
}
