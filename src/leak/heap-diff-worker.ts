/** Worker thread entry: diff two heap snapshots (see heap-diff.ts) and post the result. */
import { parentPort, workerData } from 'node:worker_threads'
import { diffSnapshots, type HeapDiffInput } from './heap-diff.ts'

diffSnapshots(workerData as HeapDiffInput).then(
  (result) => { parentPort?.postMessage({ ok: true, result }) },
  (err: unknown) => { parentPort?.postMessage({ ok: false, message: err instanceof Error ? err.message : String(err) }) }
)
