/**
 * Module-level memory the playground routes hold on to or throw away. A JS array of doubles built
 * with `new Array(n).fill(0.5)` keeps 8 bytes an element, so 1 MiB is 131,072 elements.
 */

const MIB = 1024 * 1024
/** Elements of a double array that take 1 MiB. */
export const DOUBLES_PER_MIB = MIB / 8

/** One MiB of JS heap: a packed array of 131,072 doubles. */
export function mibOfDoubles (): number[] {
  return new Array<number>(DOUBLES_PER_MIB).fill(0.5)
}

/* ------------------------------------------------------------ retained (heap) */

const retained: number[][] = []

/** Most the playground will retain on the JS heap at once, in MiB (keeps the process alive). */
export const RETAIN_TOTAL_CAP_MIB = 1024

/** MiB currently retained by /retain. */
export function retainedMiB (): number {
  return retained.length
}

/** Keep `mb` more MiB on the JS heap, one MiB array at a time; returns the new total in MiB. */
export function retain (mb: number): number {
  for (let i = 0; i < mb; i++) retained.push(mibOfDoubles())
  return retained.length
}

/** Drop everything /retain kept; returns how many MiB were released. */
export function clearRetained (): number {
  const n = retained.length
  retained.length = 0
  return n
}

/* ------------------------------------------------------------ spike (heap, dropped) */

/**
 * Build `mb` MiB of arrays in a local list, touch them, and drop them: the heap peaks at about
 * +mb MiB during the call and nothing is kept. Returns a checksum so the work is not optimised away.
 */
export function spike (mb: number): number {
  const local: number[][] = []
  for (let i = 0; i < mb; i++) local.push(mibOfDoubles())
  let checksum = 0
  for (const chunk of local) checksum += (chunk[0] ?? 0) + (chunk[chunk.length - 1] ?? 0)
  return checksum
}

/* ------------------------------------------------------------ buffers (external) */

const buffers: Buffer[] = []

/** Most the playground will keep in Buffers at once, in MiB. */
export const BUFFERS_TOTAL_CAP_MIB = 1024

/** Bytes currently kept in Buffers by /buffers. */
export function bufferBytes (): number {
  let total = 0
  for (const b of buffers) total += b.byteLength
  return total
}

/** Keep a zero-filled Buffer of `mb` MiB: its memory is outside the JS heap ("external"). */
export function keepBuffer (mb: number): number {
  buffers.push(Buffer.alloc(mb * MIB))
  return bufferBytes()
}

/** Drop every Buffer /buffers kept; returns the bytes released (freed at the next GC). */
export function clearBuffers (): number {
  const bytes = bufferBytes()
  buffers.length = 0
  return bytes
}

/* ------------------------------------------------------------ leak */

/** Elements leaked per call: 12,800 doubles = 100 KiB. */
export const LEAK_DOUBLES = 12_800
const leaked: number[][] = []

/** Leak 100 KiB into a list nobody reads; returns how many calls have leaked so far. */
export function leak (): number {
  leaked.push(new Array<number>(LEAK_DOUBLES).fill(0.5))
  return leaked.length
}

/** Bytes leaked so far (element data only). */
export function leakedBytes (): number {
  return leaked.length * LEAK_DOUBLES * 8
}

/** Release everything every route kept (used when the app closes, so tests do not hold memory). */
export function releaseAll (): void {
  clearRetained()
  clearBuffers()
  leaked.length = 0
}
