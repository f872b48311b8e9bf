import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

// The built package as users load it, in a plain node process (no TypeScript loader):
// `npm test` builds dist/ before the tests run.
const root = fileURLToPath(new URL('..', import.meta.url))
const built = existsSync(new URL('../dist/index.js', import.meta.url))

function node (args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } }).trim()
}

test('require() gives the plugin itself, with .default and .debugToolbar', { skip: !built && 'dist/ not built' }, () => {
  const out = node(['-e', `
    const p = require('fastify-debug-toolbar')
    console.log(JSON.stringify([typeof p, p.default === p, p.debugToolbar === p, p[Symbol.for('fastify.display-name')]]))
  `])
  assert.deepEqual(JSON.parse(out), ['function', true, true, 'fastify-debug-toolbar'])
})

test('import gives the plugin as default and named export, with type declarations', { skip: !built && 'dist/ not built' }, () => {
  const out = node(['--input-type=module', '-e', `
    import debugToolbar, { debugToolbar as named } from 'fastify-debug-toolbar'
    import Fastify from 'fastify'
    const app = Fastify()
    await app.register(debugToolbar, { enabled: true })
    app.get('/', async () => ({ ok: true }))
    const res = await app.inject('/')
    console.log(JSON.stringify([debugToolbar === named, typeof res.headers['x-debug-toolbar-id']]))
    await app.close()
  `])
  assert.deepEqual(JSON.parse(out), [true, 'string'])
  assert.ok(existsSync(new URL('../dist/index.d.ts', import.meta.url)))
})
