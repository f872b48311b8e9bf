import { randomBytes } from 'node:crypto'
import { Session } from 'node:inspector/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { takeHeapSnapshot } from './heap-snapshot.ts'

/**
 * The live page's process actions: a forced full GC, and a heap snapshot written to a temporary
 * file, then streamed to the client from disk.
 */

/** What a forced GC freed; sizes in bytes. */
export interface ForcedGcResult {
  heapUsedBefore: number
  heapUsedAfter: number
  freedBytes: number
  externalBefore: number
  externalAfter: number
  rssBefore: number
  rssAfter: number
  durationMs: number
}

/** A heap snapshot on disk, to be streamed and then deleted. */
export interface SnapshotFile {
  path: string
  sizeBytes: number
  /** How long the process was paused writing it, ms. */
  pauseMs: number
  heapUsedBytes: number
}

/**
 * Pause a snapshot costs per MiB of JS heap in use, in ms, until one has been measured in this
 * process (measured on a 2-core VM: docs/live.md).
 */
export const SNAPSHOT_MS_PER_MIB = 100

/** Forces GCs through node:inspector (no --expose-gc needed); one session, made on first use. */
export class ProcessActions {
  private session: Session | undefined
  /** ms per MiB of heap measured on the last snapshot, if one was taken. */
  measuredMsPerMiB: number | undefined

  /** A full GC, with the figures before and after. */
  async forceGc (): Promise<ForcedGcResult> {
    if (this.session === undefined) {
      this.session = new Session()
      this.session.connect()
    }
    const before = process.memoryUsage()
    const t0 = performance.now()
    await this.session.post('HeapProfiler.collectGarbage')
    const durationMs = performance.now() - t0
    const after = process.memoryUsage()
    return {
      heapUsedBefore: before.heapUsed,
      heapUsedAfter: after.heapUsed,
      freedBytes: before.heapUsed - after.heapUsed,
      externalBefore: before.external,
      externalAfter: after.external,
      rssBefore: before.rss,
      rssAfter: after.rss,
      durationMs: Math.round(durationMs * 1000) / 1000
    }
  }

  /** The expected pause of a snapshot now, in ms, from the heap in use and the cost per MiB. */
  estimatePauseMs (heapUsedBytes: number): number {
    return Math.round((heapUsedBytes / (1024 * 1024)) * (this.measuredMsPerMiB ?? SNAPSHOT_MS_PER_MIB))
  }

  /** Write a heap snapshot to a new temporary file (the process pauses meanwhile). */
  async writeSnapshot (dir = tmpdir()): Promise<SnapshotFile> {
    const file = await takeHeapSnapshot(join(dir, `fdt-${randomBytes(8).toString('hex')}.heapsnapshot`))
    const { heapUsedBytes, durationMs } = file
    if (heapUsedBytes > 0) this.measuredMsPerMiB = Math.round((durationMs / (heapUsedBytes / (1024 * 1024))) * 100) / 100
    return { path: file.path, sizeBytes: file.fileBytes, pauseMs: Math.round(durationMs), heapUsedBytes }
  }

  close (): void {
    this.session?.disconnect()
    this.session = undefined
  }
}
