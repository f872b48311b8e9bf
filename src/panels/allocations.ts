/**
 * The Memory panel's "Allocation sites" section: pure, record and env in, template data out. The
 * panel shows what the samples mean, the sampler's figures, the top sites grouped and filtered as
 * asked, each with its stack, and links to the flame graph, the downloads and comparisons.
 */
import { DEFAULT_QUERY, groupSites } from '../allocations/group.ts'
import type { CodeCategory, PlacedFrame } from '../allocations/location.ts'
import type { AllocationsRecord, AllocationsSkipped } from '../allocations/types.ts'
import { bytes, ms } from '../format.ts'
import { isSampled, type RequestRecord } from '../record/types.ts'
import { builtinsSwitch, groupByForm, type BuiltinsSwitch, type Figure, type GroupByForm, type PanelEnv } from './panel.ts'

/** Most requests the panel offers to compare with. */
export const MAX_COMPARE_CANDIDATES = 8

/** A frame of a site's stack as the panel lists it. */
export interface StackLine {
  functionName: string
  location: string
  category: CodeCategory
}

/** One row of the sites table: a function, a file or a package. */
export interface SiteRow {
  label: string
  detail: string
  category: CodeCategory
  bytes: string
  samples: number
  /** Percent of the sampled bytes (0-100, one decimal), and as text. */
  share: number
  shareLabel: string
  /** By function: the site's heaviest stack, the site first and its callers below it (as a JS stack trace reads). */
  stack: StackLine[]
  /** By file or package: the functions in the group, heaviest first. */
  members: Array<{ functionName: string, location: string, bytes: string, samples: number, shareLabel: string }>
}

/** The section when the request was sampled. */
export interface SampledView extends GroupByForm {
  builtins: BuiltinsSwitch
  state: 'sampled'
  /** What the samples stand for, in a sentence. */
  meaning: string
  notes: string[]
  figures: Figure[]
  rows: SiteRow[]
  /** What the table does not list, in a sentence; '' when it lists everything. */
  unlisted: string
  /** Where the filter form submits: the request page (no script) or the panel fragment (the toolbar). */
  formAction: string
  links: {
    /** `.heapprofile` download and flame graph data; undefined when the call tree was not kept. */
    heapprofile: string | undefined
    flamegraph: string | undefined
    record: string
    /** The d3-flame-graph stylesheet, for the page and the Shadow DOM. */
    flamegraphCss: string
  }
  /** Other stored requests of the same route with samples, newest first. */
  compare: Array<{ href: string, label: string }>
}

/** The section's data: sampled, skipped (with why), or sampling off (with how to turn it on). */
export type AllocationsView =
  | SampledView
  | { state: 'skipped', skipped: AllocationsSkipped['skipped'], reason: string }
  | { state: 'off' }

function stackLine (f: PlacedFrame): StackLine {
  return { functionName: f.functionName, location: f.location, category: f.category }
}

/** What the samples stand for, in one sentence. */
export function meaningSentence (a: AllocationsRecord): string {
  const every = `sampled about every ${bytes(a.intervalBytes)} allocated`
  return a.meaning === 'retained'
    ? `Objects this request allocated that were still alive after a full GC forced at its end: what it retained, ${every}.`
    : `Objects this request allocated and had not freed by its end, ${every}, without forcing a GC.`
}

/** What a reader must know to trust the sites. */
export function allocationNotes (a: AllocationsRecord): string[] {
  const notes: string[] = []
  if (a.meaning === 'allocated' && a.gcDuringWindow > 0) {
    notes.push(`${a.gcDuringWindow} GC${a.gcDuringWindow === 1 ? '' : 's'} ran during this request: objects ${a.gcDuringWindow === 1 ? 'it' : 'they'} freed are missing from these samples, so the sites can add up to less than Allocated above.`)
  }
  if (a.unread === true) {
    notes.push(`V8 took no sample while this request ran (it allocated less than the ${bytes(a.intervalBytes)} or so between samples), so there was nothing to read: an empty profile, not a missing one.`)
  } else if (a.samples < 10) {
    notes.push(`Only ${a.samples} sample${a.samples === 1 ? '' : 's'}: at one sample every ${bytes(a.intervalBytes)} or so, small sites come and go between requests. A smaller intervalBytes gives more detail at more cost.`)
  }
  notes.push('V8 credits allocations to the function they happened in, located where the function is defined; small functions inlined by the optimiser are credited to their caller. Buffers are not sampled (see External above).')
  return notes
}

/** The "Allocation sites" section of a record. */
export function allocationsView (r: RequestRecord, env: PanelEnv): AllocationsView {
  if (r.memory.allocations === undefined) return { state: 'off' }
  if (!isSampled(r.memory.allocations)) return { state: 'skipped', skipped: r.memory.allocations.skipped, reason: r.memory.allocations.reason }
  const query = env.sites ?? DEFAULT_QUERY
  const root = env.root ?? ''
  // The sites as asked: the record's own (builtins folded) or counted again from the call tree.
  const a = env.allocations ?? r.memory.allocations
  const grouped = groupSites(a, query, root)
  const base = `${env.prefix}/requests/${encodeURIComponent(r.id)}`

  const rows: SiteRow[] = grouped.groups.map((g) => {
    const only = g.sites[0]
    return {
      label: g.label,
      detail: g.detail,
      category: g.category,
      bytes: bytes(g.bytes),
      samples: g.samples,
      share: g.share,
      shareLabel: `${g.share}%`,
      stack: query.by === 'function' && only !== undefined ? [...only.stack].reverse().map(stackLine) : [],
      members: query.by === 'function'
        ? []
        : g.sites.map((s) => ({ functionName: s.functionName, location: s.location, bytes: bytes(s.bytes), samples: s.samples, shareLabel: `${s.share}%` }))
    }
  })

  const unlisted: string[] = []
  if (grouped.filteredSites > 0) unlisted.push(`the filters hide ${grouped.filteredSites} site${grouped.filteredSites === 1 ? '' : 's'} (${bytes(grouped.filteredBytes)})`)
  if (grouped.otherSites > 0) unlisted.push(`${grouped.otherSites} smaller site${grouped.otherSites === 1 ? ' is' : 's are'} not listed (${bytes(grouped.otherBytes)})`)

  const compare = env.history
    .filter((s) => s.id !== r.id && s.method === r.method && s.route === r.route && env.sampled?.has(s.id) === true)
    .slice(0, MAX_COMPARE_CANDIDATES)
    .map((s) => ({
      href: `${base}/compare/${encodeURIComponent(s.id)}`,
      label: `${s.method} ${s.url} · ${new Date(s.startedAt).toISOString().slice(11, 19)} UTC · ${bytes(env.sampled?.get(s.id) ?? 0)} sampled`
    }))

  return {
    state: 'sampled',
    meaning: meaningSentence(a),
    notes: allocationNotes(a),
    figures: [
      { label: 'Sampler', value: a.sampler === 'native' ? 'native (@datadog/pprof)' : 'inspector (node:inspector)', hint: a.sampler === 'native' ? 'V8\'s sampling heap profiler, read without forcing a GC' : 'V8\'s sampling heap profiler through the inspector: its stop forces a full GC' },
      { label: 'Samples mean', value: a.meaning, hint: a.meaning === 'retained' ? 'still alive after a forced full GC' : 'allocated and not yet collected when the request ended' },
      { label: 'Interval', value: bytes(a.intervalBytes), hint: 'average bytes allocated between two samples' },
      { label: 'Sampled bytes', value: `${bytes(a.sampledBytes)} in ${a.samples} sample${a.samples === 1 ? '' : 's'}`, hint: 'every sample\'s estimated bytes; the shares below are of this' },
      { label: 'Sites', value: `${a.sites.length} listed${a.otherSites > 0 ? `, ${a.otherSites} more` : ''}`, hint: `stacks up to ${a.stackDepth} frames deep` },
      { label: 'Sampler overhead', value: ms(a.overheadMs), hint: a.sampler === 'inspector' ? 'start, read and stop, including the forced GC' : 'start, read and stop' }
    ],
    ...groupByForm(query),
    builtins: builtinsSwitch(a, env.builtins ?? 'folded'),
    rows,
    unlisted: unlisted.length === 0 ? '' : `${unlisted.join('; ')}.`.replace(/^./, (c) => c.toUpperCase()),
    formAction: env.page === true ? `${base}#fdt-panel-memory` : `${base}/panels/memory`,
    links: {
      heapprofile: a.hasProfile ? `${base}/profile.heapprofile` : undefined,
      flamegraph: a.hasProfile ? `${base}/flamegraph.json` : undefined,
      record: `${base}/record.json`,
      flamegraphCss: `${env.prefix}/vendor/d3-flame-graph/d3-flamegraph.css`
    },
    compare
  }
}
