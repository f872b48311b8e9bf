/**
 * `fastify-debug-toolbar/testing`: leak tests for a user's own test suite (node:test, vitest, tap).
 * Works with or without the toolbar registered; needs no --expose-gc.
 */
import type { FastifyInstance } from 'fastify'
import { runLeakTest, type LeakRequest } from './leak/run.ts'
import type { LeakTestOptions } from './leak/options.ts'
import type { LeakReport } from './leak/report.ts'

export type { LeakRequest } from './leak/run.ts'
export type { LeakTestOptions, LeakProgress } from './leak/options.ts'
export type { LeakReport, LeakSite, GrownType, LeakVerdict, RetainedPerCall, SnapshotOutcome, SamplerOutcome } from './leak/report.ts'

/**
 * Repeat `request` (what `app.inject` takes) `options.calls` times (default 30) after a warm-up and
 * report what each call keeps: retained bytes per call with a 95% interval, a verdict, the object
 * types that grew and the sites that allocated them.
 */
export function measureLeak (app: FastifyInstance, request: LeakRequest, options?: LeakTestOptions): Promise<LeakReport> {
  return runLeakTest(app, request, options)
}

export default measureLeak
