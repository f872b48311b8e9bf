/**
 * What one native allocation-sampling window costs (start, read, stop through @datadog/pprof), and
 * how it grows with the number of scripts loaded in the process, not with the heap: V8's
 * GetAllocationProfile indexes every script before it builds the profile.
 *
 *   npm run bench:sampler-read
 */
import { createRequire } from 'node:module'
import vm from 'node:vm'

interface NativeHeap { start (intervalBytes: number, stackDepth: number): void, stop (): void, v8Profile (): unknown }
const { heap } = createRequire(import.meta.url)('@datadog/pprof') as { heap: NativeHeap }

/** µs for one start + read + stop, the mean of 2,000 after 200 to warm up. */
function windowCostUs (): number {
  const once = (): void => { heap.start(16384, 64); heap.v8Profile(); heap.stop() }
  for (let i = 0; i < 200; i++) once()
  const n = 2000
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < n; i++) once()
  return Number(process.hrtime.bigint() - t0) / n / 1000
}

const rows: Array<[string, number]> = [['this process as started', windowCostUs()]]
const scripts: unknown[] = []
for (const target of [500, 1000, 2000]) {
  while (scripts.length < target) {
    const i = scripts.length
    scripts.push(new vm.Script(`(function f${i} () { return ${i} })`, { filename: `generated-${i}.js` }).runInThisContext())
  }
  rows.push([`+${target} small scripts`, windowCostUs()])
}
await import('fastify')
await import('autocannon')
rows.push(['after importing fastify and autocannon', windowCostUs()])

console.log('| process | µs per start + read + stop |')
console.log('| --- | ---: |')
for (const [what, us] of rows) console.log(`| ${what} | ${us.toFixed(1)} |`)
