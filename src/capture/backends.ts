import type { MemoryBackend } from './backend.ts'
import { heapStatisticsBackend } from './heap-backend.ts'

/** Every memory backend, the default first. Adding a backend: its file, and one line here. */
export const BACKENDS: readonly MemoryBackend[] = [
  heapStatisticsBackend
]

/** The backend a registration measures with: the one named `id`, or the default. */
export function chooseBackend (id?: string): MemoryBackend {
  const found = id === undefined ? undefined : BACKENDS.find((b) => b.id === id)
  return found ?? (BACKENDS[0] as MemoryBackend)
}
