import { closeSync, openSync, statSync, writeSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
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
 * Write a V8 heap snapshot (Chrome DevTools' .heapsnapshot format) through node:inspector's
 * HeapProfiler.takeHeapSnapshot, chunk by chunk, straight to `path` (synchronous writes: no chunk
 * stays in memory to appear in the next snapshot). V8 runs a full GC first. Refuses above
 * `maxHeapBytes` of used heap: a snapshot file is several times the heap and parsing it more.
 */
export async function takeHeapSnapshot (path: string, maxHeapBytes: number): Promise<HeapSnapshotFile> {
  const heapUsedBytes = v8.getHeapStatistics().used_heap_size
  if (heapUsedBytes > maxHeapBytes) throw new SnapshotTooLargeError(heapUsedBytes, maxHeapBytes)
  const t0 = performance.now()
  const fd = openSync(path, 'w')
  const session = new Session()
  let writeError: unknown
  const onChunk = (m: { params: { chunk: string } }): void => {
    if (writeError !== undefined) return
    try {
      writeSync(fd, m.params.chunk)
    } catch (err) {
      writeError = err
    }
  }
  try {
    session.connect()
    session.on('HeapProfiler.addHeapSnapshotChunk', onChunk)
    await session.post('HeapProfiler.takeHeapSnapshot', { reportProgress: false })
  } finally {
    session.off('HeapProfiler.addHeapSnapshotChunk', onChunk)
    session.disconnect()
    closeSync(fd)
  }
  if (writeError !== undefined) throw writeError
  return { path, fileBytes: statSync(path).size, durationMs: performance.now() - t0, heapUsedBytes }
}
