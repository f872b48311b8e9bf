import { percent } from '../allocations/group.ts'
import { ms } from '../format.ts'
import type { RequestRecord } from '../record/types.ts'
import type { Figure, Panel } from './panel.ts'

/** What templates/timing.eta renders. */
export interface TimingContext {
  figures: Figure[]
  /** Shares of the duration, in percent, for bars: CPU (event-loop busy), GC pause, toolbar overhead. */
  bars: Array<{ label: string, percent: number, value: string }>
  notes: string[]
}

/** Percent of the duration, one decimal, at most 100. */
function shareOf (part: number, whole: number): number {
  return Math.min(100, percent(part, whole))
}

/** The Timing panel: wall time against time on the CPU, GC pauses and the toolbar's own cost. */
export const timingPanel: Panel<TimingContext> = {
  id: 'timing',
  title: 'Timing',
  navSubtitle: (r) => ms(r.durationMs),
  context (r: RequestRecord) {
    const m = r.memory
    const busy = Math.min(r.cpu.loopBusyMs, r.durationMs)
    const notes: string[] = []
    if (m.overlapping > 0) notes.push(`CPU figures are process-wide and include ${m.overlapping} concurrent request${m.overlapping === 1 ? '' : 's'}.`)
    const figures: Figure[] = [
      { label: 'Duration', value: ms(r.durationMs), hint: 'from onRequest to onSend' },
      { label: 'CPU (event loop busy)', value: ms(busy), hint: 'time the main thread was running JavaScript or native work rather than waiting for I/O' },
      { label: 'Waiting', value: ms(Math.max(0, r.durationMs - busy)), hint: 'I/O, timers, other processes' }
    ]
    if (r.cpu.userMs !== null && r.cpu.systemMs !== null) {
      figures.push({ label: 'CPU user / system', value: `${ms(r.cpu.userMs)} / ${ms(r.cpu.systemMs)}`, hint: 'getrusage, all threads of the process (GC helpers included)' })
    } else {
      notes.push('User and system CPU time are off (they cost two getrusage calls a request); set the cpuTime option to see them.')
    }
    figures.push(
      { label: 'GC pause', value: ms(m.gc.pauseMs) },
      { label: 'Toolbar overhead', value: ms(m.overheadMs) }
    )
    return {
      figures,
      bars: [
        { label: 'CPU', percent: shareOf(busy, r.durationMs), value: ms(busy) },
        { label: 'GC pause', percent: shareOf(m.gc.pauseMs, r.durationMs), value: ms(m.gc.pauseMs) },
        { label: 'Toolbar', percent: shareOf(m.overheadMs, r.durationMs), value: ms(m.overheadMs) }
      ],
      notes
    }
  }
}
