import { appWithToolbar, buildArrays, forceGc, recordOf } from './test/helpers.ts'
import { gcTracker } from './src/capture/gc-tracker.ts'
const a = await appWithToolbar({}, (x) => x.get('/spike-gc', async () => { let c: number[][] | null = buildArrays(50); c = null; await forceGc(); return { ok: c === null } }))
const res = await a.inject('/spike-gc')
const r = await recordOf(a, res.headers['x-debug-toolbar-id'])
console.log(JSON.stringify(r.memory, null, 1).slice(0, 1500))
await new Promise(r => setTimeout(r, 100))
gcTracker.sync()
console.log('tracker events', gcTracker.events.map(e => e.kind + '@' + e.startMs.toFixed(1) + ' ' + e.heapUsedBefore + '->' + e.heapUsedAfter), 'pending', (gcTracker as any).entries, (gcTracker as any).stats)
await a.close()
