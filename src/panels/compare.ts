/**
 * The compare page: two sampled requests of one route, site by site. Pure: the two records and the
 * query in, template data out. The earlier request is the base, so "grew" means grew since then.
 */
import { compareAllocations, type SiteChangeKind } from '../allocations/compare.ts'
import type { SiteQuery } from '../allocations/group.ts'
import type { CodeCategory } from '../allocations/location.ts'
import type { AllocationsRecord, BuiltinsView } from '../allocations/types.ts'
import { bytes, signedBytes } from '../format.ts'
import type { RequestRecord } from '../record/types.ts'
import { builtinsSwitch, groupByForm, type BuiltinsSwitch, type GroupByForm } from './panel.ts'

/** One side of the comparison. */
export interface CompareSide {
  id: string
  href: string
  method: string
  url: string
  startedAt: string
  sampled: string
  sampler: string
}

/** What templates/page-compare.eta renders. */
export interface CompareContext extends GroupByForm {
  title: string
  base: CompareSide
  target: CompareSide
  /** The two requests matched different routes (allowed, but said). */
  sameRoute: boolean
  builtins: BuiltinsSwitch
  formAction: string
  /** Sampled bytes target − base, in bytes and percent, and how many sites changed which way. */
  summary: { delta: string, deltaPercent: string, counts: Array<{ change: SiteChangeKind, label: string, count: number }> }
  rows: Array<{ change: SiteChangeKind, changeLabel: string, label: string, detail: string, category: CodeCategory, base: string, target: string, delta: string }>
  notes: string[]
}

const CHANGE_LABELS: Readonly<Record<SiteChangeKind, string>> = { grew: 'grew', shrank: 'shrank', appeared: 'new', disappeared: 'gone', same: 'same' }

function side (r: RequestRecord, a: AllocationsRecord, prefix: string): CompareSide {
  return {
    id: r.id,
    href: `${prefix}/requests/${encodeURIComponent(r.id)}`,
    method: r.method,
    url: r.url,
    startedAt: new Date(r.startedAt).toISOString(),
    sampled: `${bytes(a.sampledBytes)} in ${a.samples} sample${a.samples === 1 ? '' : 's'}`,
    sampler: `${a.sampler}, ${a.meaning}, every ${bytes(a.intervalBytes)}`
  }
}

/**
 * The comparison of two sampled records; `first` is the one in the URL. The earlier of the two (by
 * start time; the URL's order on a tie) is the base. `builtins` is the view the query asked for;
 * the allocations passed in are already counted that way when both call trees allowed it.
 */
export function compareContext (
  first: { record: RequestRecord, allocations: AllocationsRecord },
  second: { record: RequestRecord, allocations: AllocationsRecord },
  query: SiteQuery,
  root: string,
  prefix: string,
  builtins: BuiltinsView = 'folded'
): CompareContext {
  const [base, target] = second.record.startedAt < first.record.startedAt ? [second, first] : [first, second]
  const c = compareAllocations(base.allocations, target.allocations, query, root)
  const sameRoute = base.record.method === target.record.method && base.record.route === target.record.route
  const notes = [...c.notes]
  if (!sameRoute) notes.unshift(`These requests matched different routes (${base.record.method} ${base.record.route || '(none)'} and ${target.record.method} ${target.record.route || '(none)'}): the comparison is of two different pieces of code.`)
  return {
    title: `Allocations: ${target.record.method} ${target.record.route || target.record.url} compared`,
    base: side(base.record, base.allocations, prefix),
    target: side(target.record, target.allocations, prefix),
    sameRoute,
    builtins: builtinsSwitch({ builtins: target.allocations.builtins, samples: base.allocations.samples + target.allocations.samples }, builtins, false),
    ...groupByForm(query),
    formAction: `${prefix}/requests/${encodeURIComponent(first.record.id)}/compare/${encodeURIComponent(second.record.id)}`,
    summary: {
      delta: signedBytes(c.deltaBytes),
      deltaPercent: c.deltaPercent === undefined ? '' : `${c.deltaPercent > 0 ? '+' : ''}${c.deltaPercent}%`,
      counts: (['grew', 'shrank', 'appeared', 'disappeared', 'same'] as const).map((change) => ({ change, label: change === 'same' ? 'unchanged' : change, count: c.counts[change] }))
    },
    rows: c.changes.map((x) => ({
      change: x.change,
      changeLabel: CHANGE_LABELS[x.change],
      label: x.label,
      detail: x.detail,
      category: x.category,
      base: x.baseBytes === 0 && x.change === 'appeared' ? '—' : bytes(x.baseBytes),
      target: x.targetBytes === 0 && x.change === 'disappeared' ? '—' : bytes(x.targetBytes),
      delta: signedBytes(x.deltaBytes)
    })),
    notes
  }
}
