import { bytes, ms, signedBytes } from '../format.ts'
import type { GcEventRecord, RequestRecord } from '../record/types.ts'
import { allocationsView, type AllocationsView } from './allocations.ts'
import type { Figure, Panel, PanelEnv } from './panel.ts'

/** The heap across the request's window as an SVG polyline: start, each GC (before -> after), end. */
export interface HeapPicture {
  width: number
  height: number
  /** SVG `points` attribute of the heap line. */
  points: string
  /** Where the peak sits, in picture coordinates, and its label. */
  peak: { x: number, y: number, label: string }
  /** One mark per GC listed, in picture coordinates. */
  gcs: Array<{ x: number, y1: number, y2: number, label: string }>
  /** Labels of the axis: heap at the bottom and top, duration on the right. */
  yMinLabel: string
  yMaxLabel: string
  durationLabel: string
}

/** What templates/memory.eta renders. */
export interface MemoryContext {
  headline: { delta: string, peak: string, allocated: string, external: string }
  figures: Figure[]
  gcRows: Array<{ kind: string, at: string, duration: string, before: string, after: string, freed: string }>
  gcMore: number
  notes: string[]
  precise: boolean
  final: boolean
  picture: HeapPicture | undefined
  /** The "Allocation sites" section: sampled, skipped (and why) or off. */
  allocations: AllocationsView
  /** The *Test for leaks* button; absent where no leak-test key is given. */
  leakTest: LeakTestButton | undefined
}

const W = 560
const H = 140
const PAD = 6

/** The sawtooth of heap use inside the window; undefined when there is nothing to draw. */
export function heapPicture (r: RequestRecord): HeapPicture | undefined {
  const m = r.memory
  const duration = Math.max(r.durationMs, ...m.gc.events.map((e) => e.offsetMs + e.durationMs), 0.001)
  const pts: Array<[number, number]> = [[0, m.heapUsedBefore]]
  for (const e of m.gc.events) {
    pts.push([e.offsetMs, e.heapUsedBefore], [e.offsetMs + e.durationMs, e.heapUsedAfter])
  }
  pts.push([duration, m.heapUsedAfter])
  // A bad reading (not a finite number) has no place on the picture.
  if (!Number.isFinite(m.peakHeapUsed) || !pts.every(([t, b]) => Number.isFinite(t) && Number.isFinite(b))) return undefined
  let lo = Infinity
  let hi = -Infinity
  for (const [, y] of pts) { lo = Math.min(lo, y); hi = Math.max(hi, y) }
  hi = Math.max(hi, m.peakHeapUsed)
  if (hi === lo) hi = lo + 1
  const x = (t: number): number => round1(PAD + (t / duration) * (W - 2 * PAD))
  const y = (b: number): number => round1(H - PAD - ((b - lo) / (hi - lo)) * (H - 2 * PAD))
  let peakAt = pts[0] as [number, number]
  for (const p of pts) if (p[1] > peakAt[1]) peakAt = p
  return {
    width: W,
    height: H,
    points: pts.map(([t, b]) => `${x(t)},${y(b)}`).join(' '),
    peak: { x: x(peakAt[0]), y: y(peakAt[1]), label: `peak ${bytes(peakAt[1])} (${signedBytes(peakAt[1] - m.heapUsedBefore)})` },
    gcs: m.gc.events.map((e: GcEventRecord) => ({ x: x(e.offsetMs), y1: y(e.heapUsedBefore), y2: y(e.heapUsedAfter), label: `${e.kind} GC at ${ms(e.offsetMs)}: ${bytes(e.heapUsedBefore)} -> ${bytes(e.heapUsedAfter)}` })),
    yMinLabel: bytes(lo),
    yMaxLabel: bytes(hi),
    durationLabel: ms(duration)
  }
}

function round1 (n: number): number {
  return Math.round(n * 10) / 10
}

/** The notes a reader needs to trust (or distrust) the figures. */
export function memoryNotes (r: RequestRecord): string[] {
  const m = r.memory
  const notes = [...m.notes]
  if (m.overlapping > 0) {
    notes.push(`These figures include ${m.overlapping} concurrent request${m.overlapping === 1 ? '' : 's'}: the heap is shared by the whole process, so every figure here counts their allocations too.`)
  }
  if (m.preciseRefused !== undefined) notes.push(`Precise mode was asked for and refused. ${m.preciseRefused}`)
  if (m.precise) {
    notes.push(`Precise mode: a full GC was forced before and after this request, so the heap delta is what it retained. The forced GCs are included in the overhead (${ms(m.overheadMs)}) and are not counted as this request's GCs.`)
  } else if (m.heapUsedDelta > 0) {
    notes.push('Without a forced GC the heap delta also counts garbage not yet collected, so it can read higher than what the request retained. Turn on precise mode (toolbar toggle or request header x-debug-toolbar-precise: 1) to measure retained bytes.')
  }
  if (m.peakHeapUsed - Math.max(m.heapUsedBefore, m.heapUsedAfter) > 1024 * 1024) {
    notes.push(`The heap peaked at ${signedBytes(m.peakHeapUsed - m.heapUsedBefore)} above where it started, then GC freed it before the response: the delta alone would hide this.`)
  }
  if (!m.final) notes.push('Some GCs of this request may not be reported yet: reopen the panel for final figures.')
  return notes
}

/** The *Test for leaks* button: the page repeats GET and HEAD requests itself; other methods go through the API. */
export interface LeakTestButton {
  requestId: string
  /** Starts a leak test of this request only (see PanelEnv.leakKey). */
  key: string
  /** Why the button is disabled, when it is. */
  disabled?: string
}

function leakTestButton (r: RequestRecord, env: PanelEnv): LeakTestButton | undefined {
  if (env.leakKey === undefined) return undefined
  const disabled = r.method === 'GET' || r.method === 'HEAD' ? undefined : `The page repeats only GET and HEAD requests; test a ${r.method} through POST ${env.prefix}/api/leak-tests.`
  return { requestId: r.id, key: env.leakKey(r.id), ...(disabled === undefined ? {} : { disabled }) }
}

/** The Memory panel: what the request did to the heap and outside it. */
export const memoryPanel: Panel<MemoryContext> = {
  id: 'memory',
  title: 'Memory',
  navSubtitle: (r) => signedBytes(r.memory.heapUsedDelta),
  context (r, env) {
    const m = r.memory
    const gcRows = m.gc.events.map((e) => ({
      kind: e.kind,
      at: ms(e.offsetMs),
      duration: ms(e.durationMs),
      before: bytes(e.heapUsedBefore),
      after: bytes(e.heapUsedAfter),
      freed: bytes(Math.max(0, e.heapUsedBefore - e.heapUsedAfter))
    }))
    return {
      headline: {
        delta: signedBytes(m.heapUsedDelta),
        peak: signedBytes(m.peakHeapUsed - m.heapUsedBefore),
        allocated: bytes(m.allocatedBytes),
        external: signedBytes(m.externalDelta)
      },
      figures: [
        { label: 'Heap before', value: bytes(m.heapUsedBefore), hint: 'V8 used_heap_size when the request arrived (onRequest)' },
        { label: 'Heap after', value: bytes(m.heapUsedAfter), hint: 'V8 used_heap_size when the response was sent (onSend, before the toolbar touched it)' },
        { label: 'Heap delta', value: signedBytes(m.heapUsedDelta), hint: m.precise ? 'retained bytes (precise mode)' : 'includes garbage not yet collected' },
        { label: 'Peak', value: `${bytes(m.peakHeapUsed)} (${signedBytes(m.peakHeapUsed - m.heapUsedBefore)})`, hint: 'highest heap inside the window: start, end, or just before a GC' },
        { label: 'Allocated', value: bytes(m.allocatedBytes), hint: 'heap delta plus everything the GCs inside the window freed' },
        { label: 'External before / after', value: `${bytes(m.externalBefore)} / ${bytes(m.externalAfter)}`, hint: 'Buffers, ArrayBuffers and external strings live outside the JS heap' },
        { label: 'External delta', value: signedBytes(m.externalDelta) },
        { label: 'GCs', value: `${m.gc.count} (${ms(m.gc.pauseMs)} paused)`, hint: 'garbage collections that started inside the window' },
        { label: 'Concurrent requests', value: String(m.overlapping), hint: 'other requests in flight at some point during this one' },
        { label: 'Toolbar overhead', value: ms(m.overheadMs), hint: m.precise ? 'includes the two forced GCs of precise mode' : 'time this plugin spent on the request' },
        { label: 'Mode', value: m.precise ? 'precise (forced GC at start and end)' : m.preciseRefused !== undefined ? 'always-on (precise mode refused: see the notes)' : 'always-on (no forced GC)' }
      ],
      gcRows,
      gcMore: Math.max(0, m.gc.count - gcRows.length),
      notes: memoryNotes(r),
      precise: m.precise,
      final: m.final,
      picture: heapPicture(r),
      allocations: allocationsView(r, env),
      leakTest: leakTestButton(r, env)
    }
  }
}
