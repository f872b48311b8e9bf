import { ms } from '../format.ts'
import type { RequestRecord } from '../record.ts'
import type { Figure, Panel } from './panel.ts'

/** What templates/timing.eta renders. */
export interface TimingContext {
  figures: Figure[]
  /** Shares of the duration, in percent, for a stacked bar: CPU, GC pause, toolbar overhead. */
  bars: Array<{ label: string, percent: number, value: string }>
  notes: string[]
}

function pct (part: number, whole: number): number {
  return whole <= 0 ? 0 : Math.min(100, Math.round((part / whole) * 1000) / 10)
}

/** The Timing panel: wall time against CPU time, GC pauses and the toolbar's own cost. */
export const timingPanel: Panel<TimingContext> = {
  id: 'timing',
  title: 'Timing',
  navSubtitle: (r) => ms(r.durationMs),
  context (r: RequestRecord) {
    const cpuMs = r.cpu.userMs + r.cpu.systemMs
    const m = r.memory
    const notes: string[] = []
    if (m.overlapping > 0) notes.push(`CPU time is process-wide and includes ${m.overlapping} concurrent request${m.overlapping === 1 ? '' : 's'}.`)
    if (cpuMs === 0 && r.durationMs > 0) notes.push('CPU time was not measured (cpuTime option off) or was below the clock resolution.')
    return {
      figures: [
        { label: 'Duration', value: ms(r.durationMs), hint: 'from onRequest to onSend' },
        { label: 'CPU time', value: ms(cpuMs), hint: 'user + system, whole process' },
        { label: 'CPU user / system', value: `${ms(r.cpu.userMs)} / ${ms(r.cpu.systemMs)}` },
        { label: 'Waiting (not on CPU)', value: ms(Math.max(0, r.durationMs - cpuMs)), hint: 'I/O, timers, other work' },
        { label: 'GC pause', value: ms(m.gc.pauseMs) },
        { label: 'Toolbar overhead', value: ms(m.overheadMs) }
      ],
      bars: [
        { label: 'CPU', percent: pct(cpuMs, r.durationMs), value: ms(cpuMs) },
        { label: 'GC pause', percent: pct(m.gc.pauseMs, r.durationMs), value: ms(m.gc.pauseMs) },
        { label: 'Toolbar', percent: pct(m.overheadMs, r.durationMs), value: ms(m.overheadMs) }
      ],
      notes
    }
  }
}
