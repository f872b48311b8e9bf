// Declarations for `require('fastify-debug-toolbar/testing')`: Node >= 20.19 loads the ES module and returns
// its namespace. The build copies this file to dist/; the subpath's `require` condition points its types here.
import type * as testing from './testing.js' with { 'resolution-mode': 'import' }

/** Repeat one request against an app and report what each call keeps (see the ES module's TSDoc). */
export declare const measureLeak: typeof testing.measureLeak
declare const measureLeakDefault: typeof testing.measureLeak
export default measureLeakDefault
export type LeakRequest = testing.LeakRequest
export type LeakTestOptions = testing.LeakTestOptions
export type LeakProgress = testing.LeakProgress
export type LeakReport = testing.LeakReport
export type LeakSite = testing.LeakSite
export type GrownType = testing.GrownType
export type LeakVerdict = testing.LeakVerdict
export type RetainedPerCall = testing.RetainedPerCall
export type SnapshotOutcome = testing.SnapshotOutcome
export type SamplerOutcome = testing.SamplerOutcome
