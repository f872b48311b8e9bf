// Declarations for `require('fastify-debug-toolbar')`: Node >= 20.19 loads the ES module and returns its
// `module.exports` export, the plugin function, which also carries itself as `.default` and `.debugToolbar`.
// The build copies this file to dist/; the package's `require` condition points its types here.
// It imports from the modules behind index.js: TypeScript reads index.js from CommonJS as the plugin alone.
import type { debugToolbar as plugin } from './plugin.js' with { 'resolution-mode': 'import' }
import type * as options from './options.js' with { 'resolution-mode': 'import' }
import type * as record from './record/types.js' with { 'resolution-mode': 'import' }
import type * as routeConfig from './route-config.js' with { 'resolution-mode': 'import' }

type Plugin = typeof plugin

/** The plugin: register it with `app.register(debugToolbar, options)`. */
declare const debugToolbar: Plugin & {
  /** The plugin itself, for `import debugToolbar from` through a CommonJS interop helper. */
  readonly default: Plugin
  /** The plugin itself, for `const { debugToolbar } = require(...)`. */
  readonly debugToolbar: Plugin
}

declare namespace debugToolbar {
  export type DebugToolbarOptions = options.DebugToolbarOptions
  export type AllocationsOptions = options.AllocationsOptions
  export type LiveOptions = options.LiveOptions
  export type RedisStoreOptions = options.RedisStoreOptions
  export type RedisClientLike = options.RedisClientLike
  export type DebugToolbarRouteConfig = routeConfig.DebugToolbarRouteConfig
  export type RequestRecord = record.RequestRecord
  export type MemoryRecord = record.MemoryRecord
  export type GcEventRecord = record.GcEventRecord
  export type RecordSummary = record.RecordSummary
  export type ProcessIdentity = record.ProcessIdentity
}

export = debugToolbar
