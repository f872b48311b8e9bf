import { GROUP_BY, MAX_FILTER_LENGTH, type GroupBy, type SiteQuery } from '../allocations/group.ts'
import type { AllocationsRecord, BuiltinsView } from '../allocations/types.ts'
import type { RecordSummary, RequestRecord } from '../record/types.ts'

/** What a panel may know besides its record: the store's summaries (newest first) and where the toolbar lives. */
export interface PanelEnv {
  prefix: string
  history: readonly RecordSummary[]
  /** The project root allocation sites' paths are shown relative to (the process's cwd). @default '' (paths shown whole) */
  root?: string
  /** How the Memory panel groups and filters allocation sites (the panel's query parameters). @default by function, no filters */
  sites?: SiteQuery
  /** How the Memory panel counts V8 builtins (`?builtins=`). @default 'folded' (toward their callers) */
  builtins?: BuiltinsView
  /** The record's allocations counted again from its call tree for `builtins`, when the record's own count them otherwise. */
  allocations?: AllocationsRecord
  /** Sampled bytes of each stored record that has allocation sites, by id: who the Memory panel offers to compare with. */
  sampled?: ReadonlyMap<string, number>
  /** True on the standalone request page (no toolbar script): forms submit to it. @default false */
  page?: boolean
  /** False when the live page is off (`{prefix}/` is then the static history page). @default true */
  live?: boolean
  /**
   * A record's leak-test key: lets the Memory panel's *Test for leaks* button start a test of that
   * one request, and nothing else (the token stays off the app's pages). @default none: no button
   */
  leakKey?: (id: string) => string
}

/** Panels never touch Fastify or backends: input is data, output is data. The template is `templates/<id>.eta`. */
export interface Panel<C extends object = object> {
  readonly id: string
  readonly title: string
  navSubtitle (r: RequestRecord): string
  context (r: RequestRecord, env: PanelEnv): C
}

/** One labelled figure of a panel's table; `hint` explains it on hover and to screen readers. */
export interface Figure {
  label: string
  value: string
  hint?: string
}

/** How each grouping reads in a heading or a choice. */
export const GROUP_LABELS: Readonly<Record<GroupBy, string>> = { function: 'Function', file: 'File', package: 'Package' }

/** What templates/group-by.eta renders: the group-by choices and the include/exclude filters. */
export interface GroupByForm {
  groups: Array<{ value: GroupBy, label: string, checked: boolean }>
  /** The heading of the grouped column. */
  column: string
  query: SiteQuery
  /** The filters' maxlength, as the routes validate it. */
  maxFilterLength: number
}

/** The group-by form's data for a query. */
export function groupByForm (query: SiteQuery): GroupByForm {
  return {
    groups: GROUP_BY.map((value) => ({ value, label: GROUP_LABELS[value], checked: value === query.by })),
    column: GROUP_LABELS[query.by],
    query,
    maxFilterLength: MAX_FILTER_LENGTH
  }
}

/** The builtins switch: its choices and what the sites (and the flame graph) do with builtins. */
export interface BuiltinsSwitch {
  choices: Array<{ value: BuiltinsView, label: string, checked: boolean }>
  /** The view the sites are in (the asked one unless a call tree is gone). */
  shown: BuiltinsView
  note: string
}

/** How each builtins view reads as a choice. */
const BUILTINS_LABELS: Readonly<Record<BuiltinsView, string>> = { folded: 'Toward callers', apart: 'Apart' }

/**
 * The builtins switch for sites shown in `a.builtins`, `asked` being what the query asked for.
 * `withTree` adds that the flame graph and the download keep the raw tree (the Memory panel). @default true
 */
export function builtinsSwitch (a: Pick<AllocationsRecord, 'builtins' | 'samples'>, asked: BuiltinsView, withTree = true): BuiltinsSwitch {
  const shown = a.builtins === 'folded' ? 'folded' : 'apart'
  const choices = (['folded', 'apart'] as const).map((value) => ({ value, label: BUILTINS_LABELS[value], checked: value === shown }))
  const what = 'V8 builtins (split, push, JSON.parse, iterator next...)'
  let note = shown === 'folded'
    ? `${what} count toward the JavaScript function that called them; Apart lists them as sites of their own.`
    : `${what} are listed as sites of their own, as V8 reports them.`
  if (asked !== shown && a.samples > 0) note += ` They cannot be shown ${asked === 'apart' ? 'apart' : 'toward their callers'} here: ${withTree ? 'this request\'s call tree is not stored' : 'the two call trees are not both stored'}.`
  if (withTree) note += ' The flame graph and the .heapprofile download show the call tree as V8 recorded it, builtins apart.'
  return { choices, shown, note }
}
