import { historyPanel } from './history.ts'
import { memoryPanel } from './memory.ts'
import type { Panel } from './panel.ts'
import { requestPanel } from './request.ts'
import { timingPanel } from './timing.ts'

/** Every panel, in toolbar order. */
export const PANELS: readonly Panel[] = [memoryPanel, requestPanel, timingPanel, historyPanel]

/** The panel with this id, if there is one. */
export function findPanel (id: string): Panel | undefined {
  return PANELS.find((p) => p.id === id)
}
