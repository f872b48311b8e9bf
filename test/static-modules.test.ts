import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { appWithToolbar } from './helpers.ts'

const STATIC_URL = new URL('../static/', import.meta.url)

/** Relative module specifiers in a script: static `import ... from './x.js'` and dynamic `import('./x.js')`. */
function relativeImports (source: string): string[] {
  return [...source.matchAll(/(?:from\s+|import\s*\(\s*)'(\.\/[^']+)'/g)].map((m) => m[1] ?? '')
}

test('serves every module the toolbar and page scripts import, as JavaScript', async (t) => {
  const a = await appWithToolbar({})
  t.after(() => a.close())
  const scripts = readdirSync(STATIC_URL).filter((f) => f.endsWith('.js'))
  const imported = new Set(scripts.flatMap((f) => relativeImports(readFileSync(new URL(f, STATIC_URL), 'utf8'))))
  assert.ok(imported.has('./dom.js'), 'the shared helper module is imported')
  for (const specifier of imported) {
    const res = await a.inject(`/__debug/static/${specifier.slice(2)}`)
    assert.equal(res.statusCode, 200, specifier)
    assert.match(String(res.headers['content-type']), /javascript/, specifier)
  }
})
