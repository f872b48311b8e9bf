// Which frames of a native profile are the app's: the toolbar's helpers are dropped, its hooks are
// spliced out with the app's code under them kept, and Node's code called straight from a hook
// (the toolbar measuring) is dropped. A synthetic tree in the shape @datadog/pprof returns.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fromNative, type NativeNode } from '../src/capture/sampler.ts'
import type { ProfileNode } from '../src/allocations/types.ts'

const PLUGIN_URL = new URL('../src/plugin.ts', import.meta.url).href
const FASTIFY_URL = 'file:///srv/app/node_modules/fastify/lib/hooks.js'
const APP_URL = 'file:///srv/app/routes/page.js'

function node (name: string, scriptName: string, bytes: number, children: NativeNode[] = []): NativeNode {
  return { name, scriptName, lineNumber: 1, columnNumber: 1, allocations: bytes > 0 ? [{ sizeBytes: bytes, count: 1 }] : [], children }
}

function names (n: ProfileNode): string[] {
  return [n.frame.functionName, ...n.children.flatMap(names)]
}

test('Node code called from the toolbar\'s hook is dropped; the app\'s code under the hook is kept', () => {
  const root = node('(root)', '', 0, [
    node('hookRunner', FASTIFY_URL, 0, [
      node('onSend', PLUGIN_URL, 0, [
        // The toolbar reading the clock and the heap, straight from its hook.
        node('now', 'node:internal/perf/performance', 64),
        node('getHeapStatistics', 'node:v8', 160),
        // Its own helpers, with whatever they call.
        node('finishSend', PLUGIN_URL, 512, [node('join', 'node:internal/util', 20_000)]),
        // The request going on through Fastify into the app, Node's code below it included.
        node('next', FASTIFY_URL, 32, [node('handler', APP_URL, 4096, [node('format', 'node:util', 128)])])
      ])
    ])
  ])
  const profile = fromNative(root, 16384)
  assert.deepEqual(names(profile.root), ['(root)', 'hookRunner', 'next', 'handler', 'format'])
  const hookRunner = profile.root.children[0] as ProfileNode
  assert.equal(hookRunner.children.length, 1, 'the hook is spliced out: its app child hangs from the hook\'s caller')
})
