// Declarations for `require('fastify-debug-toolbar')`: Node >= 20.19 loads the ES module and returns its
// `module.exports` export, the plugin function, which also carries itself as `.default` and `.debugToolbar`.
// The build copies this file to dist/; the package's `require` condition points its types here.
import type * as toolbar from './index.js'

type Plugin = typeof toolbar.debugToolbar

/** The plugin: register it with `app.register(debugToolbar, options)`. */
declare const debugToolbar: Plugin & {
  /** The plugin itself, for `import debugToolbar from` through a CommonJS interop helper. */
  readonly default: Plugin
  /** The plugin itself, for `const { debugToolbar } = require(...)`. */
  readonly debugToolbar: Plugin
}

declare namespace debugToolbar {
  export type DebugToolbarOptions = toolbar.DebugToolbarOptions
  export type AllocationsOptions = toolbar.AllocationsOptions
  export type RequestRecord = toolbar.RequestRecord
  export type MemoryRecord = toolbar.MemoryRecord
  export type GcEventRecord = toolbar.GcEventRecord
  export type RecordSummary = toolbar.RecordSummary
}

export = debugToolbar
