import { statSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import v8 from 'node:v8'

/** A heap snapshot written to a file, and what it cost. */
export interface HeapSnapshotFile {
  path: string
  /** Size of the .heapsnapshot file. */
  fileBytes: number
  /** Wall time to take and write it (the process is paused while V8 serialises the heap), ms. */
  durationMs: number
  /** V8's used heap just before it was taken. */
  heapUsedBytes: number
}

/** Refused because the heap is above the settable limit. */
export class SnapshotTooLargeError extends Error {
  readonly heapUsedBytes: number
  readonly maxHeapBytes: number
  constructor (heapUsedBytes: number, maxHeapBytes: number) {
    super(`heap snapshot refused: the heap holds ${heapUsedBytes} bytes, above the limit of ${maxHeapBytes} (maxSnapshotHeapBytes)`)
    this.name = 'SnapshotTooLargeError'
    this.heapUsedBytes = heapUsedBytes
    this.maxHeapBytes = maxHeapBytes
  }
}

/**
 * Write a V8 heap snapshot (Chrome DevTools' .heapsnapshot format) straight to `path` with
 * v8.writeHeapSnapshot: V8 runs a full GC first and serialises to the file natively, so nothing of it
 * passes through the JS heap. Refuses above `maxHeapBytes` of used heap: a snapshot file is several
 * times the heap and parsing it more.
 */
export async function takeHeapSnapshot (path: string, maxHeapBytes = Infinity): Promise<HeapSnapshotFile> {
  const heapUsedBytes = v8.getHeapStatistics().used_heap_size
  if (heapUsedBytes > maxHeapBytes) throw new SnapshotTooLargeError(heapUsedBytes, maxHeapBytes)
  const t0 = performance.now()
  v8.writeHeapSnapshot(path)
  return { path, fileBytes: statSync(path).size, durationMs: performance.now() - t0, heapUsedBytes }
}
