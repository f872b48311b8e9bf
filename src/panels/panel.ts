import type { RecordSummary, RequestRecord } from '../record.ts'

/** What a panel may know besides its record: the store's summaries (newest first) and where the toolbar lives. */
export interface PanelEnv {
  prefix: string
  history: readonly RecordSummary[]
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
