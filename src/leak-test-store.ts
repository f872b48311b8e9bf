import { rmSync } from 'node:fs'
import type { LeakProgress } from './leak/options.ts'
import type { LeakReport } from './leak/report.ts'

/** Where a leak test started from the toolbar stands. */
export type LeakTestStatus = 'running' | 'done' | 'failed' | 'cancelled'

/** One leak test started from the toolbar: plain, JSON-serialisable data (epoch ms, bytes). */
export interface LeakTestEntry {
  id: string
  status: LeakTestStatus
  /** `api`: repeated in process (`app.inject`); `page`: repeated by the browser with `fetch`. */
  source: 'api' | 'page'
  request: { method: string, url: string }
  /** The route the calls matched (its pattern, e.g. `/users/:id`), once a call was made. */
  route?: string
  calls: number
  snapshots: boolean
  startedAt: number
  finishedAt?: number
  progress?: LeakProgress
  report?: LeakReport
  /** Why it failed or was cancelled. */
  error?: string
  /** The process that runs or ran it (where its .heapsnapshot files are). */
  process: { pid: number, hostname: string }
  /** Folder of the kept .heapsnapshot files (deleted with the entry); never sent to clients or written to a shared store. */
  snapshotDir?: string
}

/**
 * The leak tests the toolbar keeps, newest first, bounded by count; a running test is never evicted.
 * Reads are asynchronous so that a shared store (Redis) fits the same interface.
 */
export interface LeakTestStore {
  /** Keep a test that has just started (its entry is then updated in place while it runs). */
  add (e: LeakTestEntry): void
  /** A test has ended: its entry is final (a shared store writes it). */
  finished (e: LeakTestEntry): void
  get (id: string): Promise<LeakTestEntry | undefined>
  /** Newest first. */
  list (): Promise<readonly LeakTestEntry[]>
  /** Whether this process runs or ran the test (its progress and files are here). */
  mine (id: string): boolean
  /** This process's running test, if any. */
  running (): LeakTestEntry | undefined
  /** The newest finished test of each `METHOD route`. */
  latestByRoute (): Promise<ReadonlyMap<string, LeakTestEntry>>
  /** On close: forget this process's finished tests and delete their files. */
  clear (): void
  readonly max: number
}

/** How many finished leak tests are kept by default. */
export const DEFAULT_MAX_LEAK_TESTS = 20

/** A bounded in-memory store of leak tests; evicting one deletes its snapshot folder. */
export function createLeakTestStore (max = DEFAULT_MAX_LEAK_TESTS): LeakTestStore {
  let entries: LeakTestEntry[] = []
  function drop (e: LeakTestEntry): void {
    if (e.snapshotDir !== undefined) try { rmSync(e.snapshotDir, { recursive: true, force: true }) } catch {}
  }
  return {
    max,
    add (e) {
      entries.unshift(e)
      let finished = 0
      entries = entries.filter((x) => {
        if (x.status === 'running') return true
        if (++finished <= max) return true
        drop(x)
        return false
      })
    },
    finished () {},
    get: async (id) => entries.find((e) => e.id === id),
    list: async () => entries,
    mine: (id) => entries.some((e) => e.id === id),
    running: () => entries.find((e) => e.status === 'running'),
    latestByRoute: async () => latestByRoute(entries),
    clear () {
      entries = entries.filter((e) => {
        if (e.status === 'running') return true
        drop(e)
        return false
      })
    }
  }
}

/** The newest finished test of each `METHOD route` among `entries` (newest first). */
export function latestByRoute (entries: readonly LeakTestEntry[]): Map<string, LeakTestEntry> {
  const m = new Map<string, LeakTestEntry>()
  for (const e of entries) {
    if (e.status !== 'done' || e.route === undefined) continue
    const key = `${e.request.method} ${e.route}`
    if (!m.has(key)) m.set(key, e)
  }
  return m
}
