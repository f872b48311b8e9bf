/**
 * What registering the toolbar costs an app instance: build an app, register (or not) the toolbar,
 * ready, close; without and with the toolbar alternating in one run, so machine noise hits both.
 * The first registration in the process pays once for what is shared (the validators of the
 * toolbar's routes, its templates, the native sampler's module); it is reported apart.
 *
 *   npm run bench:registration            (REGISTRATIONS=400 by default)
 */
import { performance } from 'node:perf_hooks'
import Fastify from 'fastify'
import debugToolbar from '../src/index.ts'

const rounds = Number(process.env.REGISTRATIONS ?? 400)

/** This process's CPU time (user + system) a registration took, in ms: steadier than wall time on a busy machine. */
const cpuMs: Record<'without' | 'with', number[]> = { without: [], with: [] }

async function registration (withToolbar: boolean): Promise<number> {
  const t0 = performance.now()
  const c0 = process.cpuUsage()
  const app = Fastify()
  if (withToolbar) await app.register(debugToolbar, { enabled: true })
  app.get('/', async () => ({ hello: 'world' }))
  await app.ready()
  await app.close()
  const c = process.cpuUsage(c0)
  cpuMs[withToolbar ? 'with' : 'without'].push((c.user + c.system) / 1000)
  return performance.now() - t0
}

function quantile (sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number
}

const firstWithout = await registration(false)
const firstWith = await registration(true)
cpuMs.without.length = 0
cpuMs.with.length = 0
const times: Record<'without' | 'with', number[]> = { without: [], with: [] }
const startedMs = performance.now()
for (let i = 0; i < rounds; i++) {
  // Alternate which goes first, so neither always follows the other's garbage.
  const order = i % 2 === 0 ? [false, true] : [true, false]
  for (const w of order) times[w ? 'with' : 'without'].push(await registration(w))
}
const totalS = (performance.now() - startedMs) / 1000

console.log(`Node ${process.version}, ${rounds} registrations each (build + register + ready + close), alternating; ${totalS.toFixed(1)} s in all`)
console.log(`first in the process: without ${firstWithout.toFixed(2)} ms, with the toolbar ${firstWith.toFixed(2)} ms (shared work is paid here)`)
console.log('')
console.log('| app | registrations/s (from the mean) | mean ms | p25 ms | median ms | p90 ms |')
console.log('| --- | ---: | ---: | ---: | ---: | ---: |')
const medians: Record<string, number> = {}
for (const [name, list] of Object.entries(times)) {
  const sorted = [...list].sort((a, b) => a - b)
  const mean = list.reduce((a, b) => a + b, 0) / list.length
  medians[name] = quantile(sorted, 0.5)
  console.log(`| ${name} the toolbar | ${(1000 / mean).toFixed(0)} | ${mean.toFixed(2)} | ${quantile(sorted, 0.25).toFixed(2)} | ${quantile(sorted, 0.5).toFixed(2)} | ${quantile(sorted, 0.9).toFixed(2)} |`)
}
console.log('')
console.log(`The toolbar adds ${((medians.with as number) - (medians.without as number)).toFixed(2)} ms a registration (median against median).`)
const cpuMedian = (list: number[]): number => quantile([...list].sort((a, b) => a - b), 0.5)
console.log(`CPU time of this process a registration (median): without ${cpuMedian(cpuMs.without).toFixed(2)} ms, with ${cpuMedian(cpuMs.with).toFixed(2)} ms; the toolbar adds ${(cpuMedian(cpuMs.with) - cpuMedian(cpuMs.without)).toFixed(2)} ms.`)
