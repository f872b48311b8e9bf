/**
 * The leak-test report page's data (templates/leak-test.eta): the verdict in words, the figures with
 * their intervals, the post-GC heap chart with the fitted line (server-rendered SVG), grown types,
 * retained sites, costs and downloads. Pure: a test entry in, template data out.
 */
import { relativePath } from '../allocations/location.ts'
import { bytes, ms } from '../format.ts'
import type { LeakTestEntry } from '../leak-test-store.ts'
import type { LeakReport } from '../leak/report.ts'
import { perCallBytes } from '../leak/verdict.ts'

/** The heap chart: polyline points and the fitted line, in the SVG's own units. */
export interface LeakChart {
  width: number
  height: number
  /** `x,y x,y ...` of the readings, baseline first. */
  points: string
  dots: Array<{ x: number, y: number, label: string }>
  line: { x1: number, y1: number, x2: number, y2: number }
  yMinLabel: string
  yMaxLabel: string
  calls: number
}

/** What templates/leak-test.eta shows. */
export interface LeakTestContext {
  id: string
  status: LeakTestEntry['status']
  running: boolean
  source: string
  method: string
  url: string
  route: string
  calls: number
  /** `call 12 of 30`-style progress while it runs. */
  progress: string
  error?: string
  report?: {
    verdict: LeakReport['verdict']
    summary: string
    estimate: string
    interval: string
    threshold: string
    warmupCalls: number
    warmupReason: string
    chart: LeakChart | undefined
    types: Array<{ name: string, countPerCall: string, bytesPerCall: string, retainers: string }>
    omittedTypes: number
    snapshotNote?: string
    sites: Array<{ functionName: string, where: string, bytesPerCall: string, stack: string[] }>
    samplerNote?: string
    builtins: string
    costs: Array<{ label: string, value: string }>
    notes: string[]
    statusCodes: string
  }
  downloads: Array<{ href: string, label: string }>
  /** `process 123 on host`: the process that runs or ran the test. */
  process: string
  /** Set when the test is another process's (read from the shared store): what that means here. */
  elsewhere?: string
}

/** Where the page is served from, for a test that may be another process's. */
export interface LeakTestWhere {
  /** Whether the process serving the page runs or ran the test (its files and progress are here). @default true */
  here?: boolean
  /** `process 123 on host`: the process serving the page. */
  serving?: string
}

const CHART_W = 640
const CHART_H = 180

const PHASES: Readonly<Record<string, string>> = { 'warm-up': 'warm-up call', calls: 'call', snapshot: 'heap snapshot', sampling: 'sampler call', analysis: 'snapshot analysis' }

/** The page's data for one test; `root` shortens the sites' file paths. */
export function leakTestContext (e: Omit<LeakTestEntry, 'snapshotDir'>, prefix: string, where: LeakTestWhere = {}, root = process.cwd()): LeakTestContext {
  const owner = `process ${e.process.pid} on ${e.process.hostname}`
  const here = where.here ?? true
  const p = e.progress
  const progress = p === undefined ? 'starting' : `${PHASES[p.phase] ?? p.phase} ${p.done} of ${p.total}`
  const base = `${prefix}/api/leak-tests/${e.id}`
  const r = e.report
  const downloads: LeakTestContext['downloads'] = []
  if (r !== undefined) {
    downloads.push({ href: `${base}/report.json`, label: 'Report (JSON)' })
    if (r.snapshots.kept && r.snapshots.status === 'taken' && here) {
      downloads.push({ href: `${base}/before.heapsnapshot`, label: `Snapshot before (${bytes(r.snapshots.before?.fileBytes ?? 0)})` })
      if (r.snapshots.after !== undefined) downloads.push({ href: `${base}/after.heapsnapshot`, label: `Snapshot after (${bytes(r.snapshots.after.fileBytes)})` })
    }
  }
  return {
    id: e.id,
    status: e.status,
    running: e.status === 'running',
    source: e.source === 'page' ? 'repeated by the page (fetch with its credentials)' : 'repeated in process (app.inject)',
    method: e.request.method,
    url: e.request.url,
    route: e.route ?? '',
    calls: e.calls,
    progress,
    ...(e.error === undefined ? {} : { error: e.error }),
    ...(r === undefined ? {} : { report: reportContext(r, root) }),
    downloads,
    process: owner,
    ...(here ? {} : { elsewhere: elsewhereNote(e, owner, where.serving) })
  }
}

/** What the page of another process's test says: its progress, Cancel and snapshot files are with that process. */
function elsewhereNote (e: Omit<LeakTestEntry, 'snapshotDir'>, owner: string, serving = 'this process'): string {
  const files = e.report?.snapshots.kept === true && e.report.snapshots.status === 'taken'
    ? ` Its .heapsnapshot files are on the disk of ${owner} and are downloaded from that process.`
    : ''
  if (e.status === 'running') return `This test runs in ${owner}; this page is served by ${serving}, which shows its outcome once it has ended, but not its progress.${files}`
  return `This test ran in ${owner}; this page is served by ${serving} from the shared store.${files}`
}

function reportContext (r: LeakReport, root: string): NonNullable<LeakTestContext['report']> {
  const s = r.snapshots
  const costs = [
    { label: 'Duration', value: ms(r.durationMs) },
    { label: 'Pause per call (forced GCs and reading)', value: ms(r.pausePerCallMs) }
  ]
  if (s.before !== undefined) costs.push({ label: 'Snapshot before', value: `${ms(s.before.durationMs)}, ${bytes(s.before.fileBytes)} (heap ${bytes(s.before.heapUsedBytes)})` })
  if (s.after !== undefined) costs.push({ label: 'Snapshot after', value: `${ms(s.after.durationMs)}, ${bytes(s.after.fileBytes)} (heap ${bytes(s.after.heapUsedBytes)})` })
  if (s.diffMs !== undefined) costs.push({ label: 'Snapshot diff (worker thread)', value: ms(s.diffMs) })
  return {
    verdict: r.verdict,
    summary: r.summary,
    estimate: perCallBytes(r.retainedPerCall.estimate),
    interval: `${perCallBytes(r.retainedPerCall.low)} to ${perCallBytes(r.retainedPerCall.high)}`,
    threshold: perCallBytes(r.thresholdBytes),
    warmupCalls: r.warmupCalls,
    warmupReason: r.warmup.reason,
    chart: chartOf(r),
    types: r.types.map((t) => ({ name: t.name, countPerCall: t.countPerCall.toFixed(2), bytesPerCall: perCallBytes(t.bytesPerCall), retainers: t.retainers.join(' ← ') })),
    omittedTypes: r.omittedTypes,
    ...(s.status === 'taken' ? {} : { snapshotNote: s.status === 'off' ? 'Heap snapshots were turned off for this test.' : `No object types: ${s.message ?? s.status}.` }),
    sites: r.sites.map((x) => ({
      functionName: x.functionName === '' ? '(anonymous)' : x.functionName,
      where: x.url === '' ? '(native)' : `${relativePath(x.url, root)}:${x.line}`,
      bytesPerCall: perCallBytes(x.bytesPerCall),
      stack: x.stack.map((f) => `${f.functionName === '' ? '(anonymous)' : f.functionName} ${f.url === '' ? '(native)' : `${relativePath(f.url, root)}:${f.line}`}`).reverse()
    })),
    ...(r.sampler.status === 'sampled' ? {} : { samplerNote: `No allocation sites: ${r.sampler.message ?? r.sampler.status}.` }),
    builtins: r.sampler.builtins === 'folded' ? 'V8 builtins (split, push, JSON.parse...) count toward the function that called them.' : 'V8 builtins are listed as sites of their own.',
    costs,
    notes: r.notes,
    statusCodes: Object.entries(r.statusCodes).map(([code, n]) => `${code} × ${n}`).join(', ')
  }
}

/** The readings (baseline at call 0) and the fitted line, scaled into the chart; none for fewer than two readings. */
export function chartOf (r: LeakReport): LeakChart | undefined {
  const ys = [r.heap.baselineBytes, ...r.heap.afterCallBytes]
  if (ys.length < 2) return undefined
  const n = ys.length - 1
  const fit = (k: number): number => r.heap.interceptBytes + r.retainedPerCall.estimate * k
  let lo = Math.min(...ys, fit(0), fit(n))
  let hi = Math.max(...ys, fit(0), fit(n))
  if (hi - lo < 1024) {
    const mid = (hi + lo) / 2
    lo = mid - 512
    hi = mid + 512
  }
  const pad = 8
  const x = (k: number): number => round1(pad + (k / n) * (CHART_W - 2 * pad))
  const y = (b: number): number => round1(pad + (1 - (b - lo) / (hi - lo)) * (CHART_H - 2 * pad))
  const dots = ys.map((b, k) => ({ x: x(k), y: y(b), label: `${k === 0 ? 'baseline' : `after call ${k}`}: ${bytes(b)}` }))
  return {
    width: CHART_W,
    height: CHART_H,
    points: dots.map((d) => `${d.x},${d.y}`).join(' '),
    dots,
    line: { x1: x(0), y1: y(fit(0)), x2: x(n), y2: y(fit(n)) },
    yMinLabel: bytes(lo),
    yMaxLabel: bytes(hi),
    calls: n
  }
}

function round1 (v: number): number {
  return Math.round(v * 10) / 10
}
