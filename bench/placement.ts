/**
 * Where a bench's processes run: shared (every core for everyone) or, with `--pin` and taskset, the
 * servers on one core and the load generator (the bench process itself) on another.
 */
import { spawnSync } from 'node:child_process'
import os from 'node:os'

/** Cores for `--pin`: the servers on one, autocannon (the bench process) on the other. */
const SERVER_CORE = 0
const LOAD_CORE = 1

/** How the run shares the machine's cores, as the output names it. */
export type Placement = { pinned: false } | { pinned: true, serverCore: number, loadCore: number }

/** With `pin`: put this process (autocannon, every thread) on the load core; servers start on the server core. Throws why it cannot. */
export function placeLoadGenerator (pin: boolean): Placement {
  if (!pin) return { pinned: false }
  if (spawnSync('taskset', ['--version']).error !== undefined) throw new Error('--pin needs taskset (util-linux), which is not installed')
  if (os.availableParallelism() < 2) throw new Error('--pin needs at least two cores')
  const r = spawnSync('taskset', ['-a', '-p', '-c', String(LOAD_CORE), String(process.pid)], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`taskset could not pin the load generator: ${r.stderr.trim()}`)
  return { pinned: true, serverCore: SERVER_CORE, loadCore: LOAD_CORE }
}

/** The command that runs `args` (a program and its arguments) where servers go. */
export function onServerCore (placement: Placement, args: string[]): [string, string[]] {
  const [program, ...rest] = args as [string, ...string[]]
  return placement.pinned ? ['taskset', ['-c', String(placement.serverCore), program, ...rest]] : [program, rest]
}

/** One line for the output: which placement ran. */
export function placementLine (placement: Placement): string {
  return placement.pinned
    ? `pinned: every server on core ${placement.serverCore}, autocannon on core ${placement.loadCore} (taskset)`
    : 'shared: servers and autocannon share all cores (use --pin to put them on separate cores)'
}
