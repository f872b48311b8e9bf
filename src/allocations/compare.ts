/**
 * Two requests of one route compared site by site, like pytracemalloc's `Snapshot.compare_to`: for
 * each function (or file, or package), its bytes in the earlier request, in the later one, and the
 * difference, largest change first. Pure: records in, rows out.
 */
import { bytes } from '../format.ts'
import { groupSites, percent, type GroupedSites, type SiteQuery } from './group.ts'
import type { CodeCategory } from './location.ts'
import type { AllocationsRecord } from './types.ts'

/** What happened to a site from the base request to the target. */
export type SiteChangeKind = 'grew' | 'shrank' | 'appeared' | 'disappeared' | 'same'

/** One row of a comparison. */
export interface SiteChange {
  key: string
  label: string
  detail: string
  category: CodeCategory
  change: SiteChangeKind
  /** Bytes and samples in the base (earlier) request and the target (later) one; 0 when not listed there. */
  baseBytes: number
  targetBytes: number
  /** target − base, in bytes. */
  deltaBytes: number
  baseSamples: number
  targetSamples: number
}

/** A whole comparison: rows, totals and what the reader must know to trust it. */
export interface AllocationsComparison {
  query: SiteQuery
  changes: SiteChange[]
  counts: Record<SiteChangeKind, number>
  /** Sampled bytes of each request, and target − base. */
  baseSampledBytes: number
  targetSampledBytes: number
  deltaBytes: number
  /** Percent change of the sampled bytes (one decimal); undefined when the base sampled nothing. */
  deltaPercent: number | undefined
  notes: string[]
}

function changeOf (base: number, target: number, inBase: boolean, inTarget: boolean): SiteChangeKind {
  if (!inBase) return 'appeared'
  if (!inTarget) return 'disappeared'
  if (target > base) return 'grew'
  if (target < base) return 'shrank'
  return 'same'
}

/** Compare the base (earlier) request's sites with the target's, grouped and filtered alike. */
export function compareAllocations (base: AllocationsRecord, target: AllocationsRecord, query: SiteQuery, root: string): AllocationsComparison {
  const a = groupSites(base, query, root)
  const b = groupSites(target, query, root)
  const byKey = new Map<string, { a?: GroupedSites['groups'][number], b?: GroupedSites['groups'][number] }>()
  for (const g of a.groups) byKey.set(g.key, { a: g })
  for (const g of b.groups) byKey.set(g.key, { ...byKey.get(g.key), b: g })

  const counts: Record<SiteChangeKind, number> = { grew: 0, shrank: 0, appeared: 0, disappeared: 0, same: 0 }
  const changes: SiteChange[] = []
  for (const [key, pair] of byKey) {
    const g = (pair.b ?? pair.a) as GroupedSites['groups'][number]
    const baseBytes = pair.a?.bytes ?? 0
    const targetBytes = pair.b?.bytes ?? 0
    const change = changeOf(baseBytes, targetBytes, pair.a !== undefined, pair.b !== undefined)
    counts[change]++
    changes.push({
      key,
      label: g.label,
      detail: g.detail,
      category: g.category,
      change,
      baseBytes,
      targetBytes,
      deltaBytes: targetBytes - baseBytes,
      baseSamples: pair.a?.samples ?? 0,
      targetSamples: pair.b?.samples ?? 0
    })
  }
  // pytracemalloc's order: largest absolute difference first, then largest size, then a stable label.
  changes.sort((x, y) => Math.abs(y.deltaBytes) - Math.abs(x.deltaBytes) || y.targetBytes - x.targetBytes || x.label.localeCompare(y.label))

  return {
    query,
    changes,
    counts,
    baseSampledBytes: base.sampledBytes,
    targetSampledBytes: target.sampledBytes,
    deltaBytes: target.sampledBytes - base.sampledBytes,
    deltaPercent: base.sampledBytes > 0 ? percent(target.sampledBytes - base.sampledBytes, base.sampledBytes) : undefined,
    notes: comparisonNotes(base, target)
  }
}

/** Why two records may not compare like for like. */
function comparisonNotes (base: AllocationsRecord, target: AllocationsRecord): string[] {
  const notes: string[] = []
  if (base.meaning !== target.meaning || base.sampler !== target.sampler) {
    notes.push(`The two requests were sampled differently (${base.sampler}, ${base.meaning} against ${target.sampler}, ${target.meaning}): one counts what was allocated and not yet freed, the other what was retained, so differences mix the two.`)
  }
  if (base.intervalBytes !== target.intervalBytes) {
    notes.push(`The sampling intervals differ (${bytes(base.intervalBytes)} and ${bytes(target.intervalBytes)}): the estimates have different precision.`)
  }
  if (base.otherSites > 0 || target.otherSites > 0) {
    notes.push(`Only each request's top sites are listed (${base.otherSites} and ${target.otherSites} more were not): a site that "appeared" or "disappeared" may be among the other's unlisted ones.`)
  }
  notes.push(`Bytes are estimates from samples taken about every ${bytes(Math.min(base.intervalBytes, target.intervalBytes))} allocated: a difference of a sample or two is noise.`)
  return notes
}
