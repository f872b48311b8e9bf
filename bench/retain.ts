/**
 * `--retain-mb N`: fill the server's heap with about N MiB of small live objects before it listens,
 * so a bench can show how the toolbar's cost grows with heap size (full GCs in precise mode have more
 * to mark). Objects, not one big array: GC marking cost depends on how many objects are live.
 */

/** Heap bytes one retained object takes, measured on Node 20 x64 (object, string, small array, slot). */
const BYTES_PER_OBJECT = 144
const CHUNK = 8192

interface Retained { id: number, name: string, score: number, tags: string[] }

const retained: Retained[][] = []

/** Allocate about `mb` MiB of live objects; returns how many were made. */
export function retainHeap (mb: number): number {
  const count = Math.ceil((mb * 1024 * 1024) / BYTES_PER_OBJECT)
  for (let made = 0; made < count; made += CHUNK) {
    const chunk: Retained[] = new Array<Retained>(Math.min(CHUNK, count - made))
    for (let i = 0; i < chunk.length; i++) {
      const k = made + i
      chunk[i] = { id: k, name: `item-${k}`, score: k * 0.5, tags: ['a', 'b'] }
    }
    retained.push(chunk)
  }
  return count
}
