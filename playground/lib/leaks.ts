/**
 * Module-level state the leak scenarios keep, each in a known way, and the functions that keep it.
 * A leak test of each route (fastify-debug-toolbar/testing or the toolbar) should read what the
 * comment says.
 */
import { EventEmitter } from 'node:events'

/** Bytes each leaking scenario keeps a call: a 32-byte array header, 16-byte backing header, 8 a double. */
export const LEAK_BYTES = 4096
const LEAK_DOUBLES = (LEAK_BYTES - 48) / 8

/** A module-level array that grows by one 4 KiB array a call. */
const kept: number[][] = []
/** A cache keyed by a fresh id a call: nothing ever hits or evicts. */
const sessionCache = new Map<string, { id: string, data: number[] }>()
/** A long-lived emitter that gains a listener a call. */
export const bus = new EventEmitter()
bus.setMaxListeners(0)
/** Timers started a call and never cleared: each holds its closure. */
const timers: NodeJS.Timeout[] = []
/** Filled on the first call, then only read. */
let lookupTable: Map<number, string> | undefined
let nextId = 0

/** Keeps 4 KiB in a module-level array. */
export function keepInModuleArray (): number {
  kept.push(new Array<number>(LEAK_DOUBLES).fill(0.5))
  return kept.length
}

/** Caches 4 KiB under an id no later call asks for. */
export function cacheByFreshId (): number {
  const id = `session-${nextId++}`
  sessionCache.set(id, { id, data: new Array<number>(LEAK_DOUBLES).fill(0.5) })
  return sessionCache.size
}

/** Adds a listener closing over 4 KiB to the long-lived emitter. */
export function listenOnBus (): number {
  const data = new Array<number>(LEAK_DOUBLES).fill(0.5)
  bus.on('tick', function onTick () { data[0] = (data[0] ?? 0) + 1 })
  return bus.listenerCount('tick')
}

/** Starts an hourly interval closing over 4 KiB and never clears it. */
export function startForgottenTimer (): number {
  const data = new Array<number>(LEAK_DOUBLES).fill(0.5)
  const timer = setInterval(function refresh () { data[0] = Date.now() }, 3_600_000)
  timer.unref()
  timers.push(timer)
  return timers.length
}

/** Builds a 2,000-entry table on the first call and reads it on every call: not a leak. */
export function readLookupTable (): number {
  lookupTable ??= new Map(Array.from({ length: 2000 }, (_, i) => [i, `entry ${i}`]))
  return lookupTable.size
}

/** Allocates about 8 MiB of short-lived arrays and keeps none of them: not a leak. */
export function churn (): number {
  let total = 0
  for (let i = 0; i < 256; i++) total += new Array<number>(4096).fill(i).length
  return total
}

/** Release what every scenario kept (the app's onClose). */
export function releaseLeaks (): void {
  kept.length = 0
  sessionCache.clear()
  bus.removeAllListeners()
  for (const t of timers) clearInterval(t)
  timers.length = 0
  lookupTable = undefined
}
