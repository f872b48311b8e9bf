/**
 * What a leak test costs at a given heap size: the whole run's wall time, the pause per measured call
 * (two forced full GCs and a reading), and one heap snapshot's time and file size. Each heap size
 * runs in a child process of its own, with the heap filled by bench/retain.ts's small objects.
 *
 *   npm run bench:leak                      # 10 and 300 MiB, snapshots off
 *   npm run bench:leak -- --heap-mib 10 --snapshot
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import v8 from 'node:v8'
import Fastify from 'fastify'
import { takeHeapSnapshot } from '../src/capture/heap-snapshot.ts'
import { measureLeak } from '../src/testing.ts'
import { retainHeap } from './retain.ts'

const { values } = parseArgs({
  options: {
    'heap-mib': { type: 'string', multiple: true },
    snapshot: { type: 'boolean', default: false },
    calls: { type: 'string', default: '10' },
    'warmup-calls': { type: 'string', default: '20' },
    child: { type: 'boolean', default: false }
  }
})

const MIB = 1024 * 1024

async function one (heapMib: number): Promise<void> {
  const base = v8.getHeapStatistics().used_heap_size
  if (heapMib * MIB > base) retainHeap((heapMib * MIB - base) / MIB)
  const app = Fastify()
  const kept: number[][] = []
  app.get('/keep', async () => {
    kept.push(new Array<number>(128).fill(1))
    return { ok: true }
  })
  const report = await measureLeak(app, '/keep', {
    calls: Number(values.calls),
    maxWarmupCalls: Number(values['warmup-calls']),
    snapshots: false
  })
  await app.close()
  const row: Record<string, unknown> = {
    heapMiB: +(v8.getHeapStatistics().used_heap_size / MIB).toFixed(1),
    calls: report.calls,
    warmupCalls: report.warmupCalls,
    runS: +(report.durationMs / 1000).toFixed(1),
    pausePerCallMs: +report.pausePerCallMs.toFixed(0),
    retainedPerCall: Math.round(report.retainedPerCall.estimate)
  }
  if (values.snapshot) {
    const dir = mkdtempSync(join(tmpdir(), 'leak-cost-'))
    try {
      const s = await takeHeapSnapshot(join(dir, 'one.heapsnapshot'))
      row.snapshotS = +(s.durationMs / 1000).toFixed(1)
      row.snapshotMB = +(s.fileBytes / 1e6).toFixed(0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }
  const usage = process.resourceUsage()
  row.cpuS = +((usage.userCPUTime + usage.systemCPUTime) / 1e6).toFixed(1)
  console.log(JSON.stringify(row))
}

if (values.child) {
  await one(Number(values['heap-mib']?.[0] ?? 10))
} else {
  const sizes = values['heap-mib'] ?? ['10', '300']
  const pass = ['--calls', String(values.calls), '--warmup-calls', String(values['warmup-calls']), ...(values.snapshot ? ['--snapshot'] : [])]
  console.log(`leak test cost, ${values.calls} measured calls after at most ${values['warmup-calls']} warm-up calls, snapshots off in the run`)
  for (const mib of sizes) {
    const r = spawnSync(process.execPath, [...process.execArgv, new URL(import.meta.url).pathname, '--child', '--heap-mib', mib, ...pass], { stdio: ['ignore', 'inherit', 'inherit'] })
    if (r.status !== 0) console.log(`heap ${mib} MiB: the child stopped (status ${r.status})`)
  }
}
