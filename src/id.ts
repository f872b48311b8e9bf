import { randomFillSync } from 'node:crypto'

/** Random bytes for ids, as hex digits: 256 ids a refill from the CSPRNG. */
const pool = Buffer.alloc(4096)
let hex = ''
let offset = 0

/**
 * An unguessable id: 128 random bits as 32 hex digits. A slice of a pool formatted once a refill
 * (formatting 16 bytes on every call cost about 1 µs; see docs/performance.md).
 */
export function newId (): string {
  if (offset === hex.length) {
    randomFillSync(pool)
    hex = pool.toString('hex')
    offset = 0
  }
  const id = hex.slice(offset, offset + 32)
  offset += 32
  return id
}
