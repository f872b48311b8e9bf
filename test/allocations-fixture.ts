/**
 * Hand-built allocation data shaped like what the samplers record for the playground's /allocations
 * route at a 16 KiB interval: buildReport() in the app (source-mapped to its .ts file), parseRecords()
 * in a dependency, template rendering in scoped and plain packages, a Node stream internal and V8
 * native code. Each test copies what it changes.
 */
import type { AllocationFrame, AllocationProfile, AllocationSite, AllocationsRecord } from '../src/allocations/types.ts'

export const ROOT = '/work/app'
export const INTERVAL = 16 * 1024

export const REPORT_URL = `file://${ROOT}/playground/lib/report.js`
export const REPORT_TS = `file://${ROOT}/playground/lib/report.ts`
export const FAKE_DEP_URL = `file://${ROOT}/node_modules/fake-dep/index.js`
export const VIEW_URL = `file://${ROOT}/node_modules/@fastify/view/index.js`
export const ETA_URL = `file://${ROOT}/node_modules/@fastify/view/node_modules/eta/dist/eta.umd.js`
export const HANDLER_URL = `file://${ROOT}/playground/routes/demo.js`

export const handlerFrame: AllocationFrame = {
  functionName: '',
  url: HANDLER_URL,
  line: 58,
  column: 34,
  source: { url: `file://${ROOT}/playground/routes/demo.ts`, line: 64, column: 35 }
}
export const tickFrame: AllocationFrame = { functionName: 'processTicksAndRejections', url: 'node:internal/process/task_queues', line: 95, column: 6 }
export const reportFrame: AllocationFrame = { functionName: 'buildReport', url: REPORT_URL, line: 24, column: 8, source: { url: REPORT_TS, line: 28, column: 8 } }
export const formatFrame: AllocationFrame = { functionName: 'formatRow', url: REPORT_URL, line: 52, column: 1, source: { url: REPORT_TS, line: 60, column: 1 } }
export const parseFrame: AllocationFrame = { functionName: 'parseRecords', url: FAKE_DEP_URL, line: 14, column: 30 }
export const viewFrame: AllocationFrame = { functionName: 'viewEta', url: VIEW_URL, line: 310, column: 19 }
export const etaFrame: AllocationFrame = { functionName: 'render', url: ETA_URL, line: 1021, column: 5 }
export const streamFrame: AllocationFrame = { functionName: 'readableAddChunk', url: 'node:internal/streams/readable', line: 236, column: 26 }
export const nativeFrame: AllocationFrame = { functionName: '(V8 API)', url: '', line: 0, column: 0 }

function site (frame: AllocationFrame, bytes: number, samples: number, callers: AllocationFrame[]): AllocationSite {
  return { ...frame, bytes, samples, stack: [...callers, frame] }
}

/** The top sites, heaviest first, as a record lists them. */
export function sites (): AllocationSite[] {
  return [
    site(reportFrame, 2_097_152, 128, [tickFrame, handlerFrame]),
    site(parseFrame, 1_048_576, 64, [tickFrame, handlerFrame]),
    site(viewFrame, 65_536, 4, [tickFrame, handlerFrame]),
    site(etaFrame, 49_152, 3, [tickFrame, viewFrame]),
    site(streamFrame, 32_768, 2, [tickFrame]),
    site(formatFrame, 16_384, 1, [tickFrame, handlerFrame, reportFrame]),
    site(nativeFrame, 16_384, 1, [])
  ]
}

/** A native-sampler record of /allocations: 3 more sites (40 KiB) were not listed. */
export function record (overrides: Partial<AllocationsRecord> = {}): AllocationsRecord {
  const listed = sites()
  const otherBytes = 40_960
  return {
    sampler: 'native',
    meaning: 'allocated',
    intervalBytes: INTERVAL,
    stackDepth: 64,
    sampledBytes: listed.reduce((n, s) => n + s.bytes, 0) + otherBytes,
    samples: listed.reduce((n, s) => n + s.samples, 0) + 3,
    builtins: 'folded',
    sites: listed,
    otherSites: 3,
    otherBytes,
    overheadMs: 0.041,
    gcDuringWindow: 0,
    hasProfile: true,
    ...overrides
  }
}

/** The call tree behind the record (V8's node ids, 1-based locations). */
export function profile (): AllocationProfile {
  return {
    sampler: 'native',
    meaning: 'allocated',
    intervalBytes: INTERVAL,
    root: {
      id: 1,
      frame: { functionName: '(root)', url: '', line: 0, column: 0 },
      selfBytes: 0,
      selfSamples: 0,
      children: [
        {
          id: 2,
          frame: tickFrame,
          selfBytes: 0,
          selfSamples: 0,
          children: [
            {
              id: 3,
              frame: handlerFrame,
              selfBytes: 16_384,
              selfSamples: 1,
              children: [
                { id: 4, frame: reportFrame, selfBytes: 2_097_152, selfSamples: 128, children: [] },
                { id: 5, frame: parseFrame, selfBytes: 1_048_576, selfSamples: 64, children: [] },
                { id: 8, frame: viewFrame, selfBytes: 65_536, selfSamples: 4, children: [{ id: 9, frame: etaFrame, selfBytes: 49_153, selfSamples: 3, children: [] }] }
              ]
            },
            { id: 6, frame: streamFrame, selfBytes: 32_768, selfSamples: 2, children: [] }
          ]
        },
        { id: 7, frame: nativeFrame, selfBytes: 16_384, selfSamples: 1, children: [] },
        { id: 10, frame: { functionName: 'idle', url: 'node:internal/timers', line: 500, column: 3 }, selfBytes: 0, selfSamples: 0, children: [] }
      ]
    }
  }
}
