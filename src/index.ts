import { debugToolbar } from './plugin.ts'

export { debugToolbar }
export { ID_HEADER, PRECISE_HEADER, PRECISE_COOKIE } from './protocol.ts'
export type { DebugToolbarOptions, AllocationsOptions, LiveOptions, RedisStoreOptions, RedisClientLike } from './options.ts'
export type { RequestRecord, MemoryRecord, GcEventRecord, RecordSummary, ProcessIdentity } from './record/types.ts'
export type { DebugToolbarRouteConfig } from './route-config.ts'
export { FST_DEBUG_TOOLBAR_INVALID_OPTION, FST_DEBUG_TOOLBAR_NOT_FOUND, FST_DEBUG_TOOLBAR_UNKNOWN_PANEL, FST_DEBUG_TOOLBAR_FORBIDDEN, FST_DEBUG_TOOLBAR_REDIS_UNAVAILABLE } from './errors.ts'
export default debugToolbar
// `require('fastify-debug-toolbar')` (Node >= 20.19 loads this ES module) returns the plugin itself;
// its declarations are index.d.cts.
export { debugToolbar as 'module.exports' }
