import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

// The declarations as users get them: the packed tarball installed in scratch consumer projects, one per
// module mode, compiled with skipLibCheck off. `npm test` builds dist/ before this runs.
// FDT_KEEP_SCRATCH=1 keeps the scratch directory for a look after a failure.
const root = fileURLToPath(new URL('../..', import.meta.url))
const consumers = fileURLToPath(new URL('consumers/', import.meta.url))
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
const built = existsSync(join(root, 'dist', 'index.d.ts'))

interface Mode { dir: string, type: 'module' | 'commonjs', module: string, moduleResolution: string, file: string }

const MODES: Record<string, Mode> = {
  'an ES module project under module node16': { dir: 'esm-node16', type: 'module', module: 'node16', moduleResolution: 'node16', file: 'esm.ts' },
  'an ES module project under module nodenext': { dir: 'esm-nodenext', type: 'module', module: 'nodenext', moduleResolution: 'nodenext', file: 'esm.ts' },
  'an ES module project under moduleResolution bundler': { dir: 'esm-bundler', type: 'module', module: 'esnext', moduleResolution: 'bundler', file: 'esm.ts' },
  'a CommonJS project under module node16': { dir: 'cjs-node16', type: 'commonjs', module: 'node16', moduleResolution: 'node16', file: 'cjs.ts' },
  'a CommonJS project under module nodenext': { dir: 'cjs-nodenext', type: 'commonjs', module: 'nodenext', moduleResolution: 'nodenext', file: 'cjs.ts' }
}

interface Outcome { ok: boolean, output: string }

let scratch = ''
/** Each mode's tsc run, started in before() and run at most as many at once as there are cores. */
const outcomes = new Map<string, Promise<Outcome>>()

/** The version this repository installed, so the scratch install is served from npm's cache. */
function installedVersion (name: string): string {
  return (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version
}

function npm (args: string[], cwd: string): string {
  return execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } })
}

function compile (dir: string): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(process.execPath, [tsc, '-p', join(scratch, dir)], { encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ ok: err === null, output: `${stdout}${stderr}` })
    })
  })
}

function writeProject (mode: Mode): void {
  const dir = join(scratch, mode.dir)
  mkdirSync(dir)
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: mode.dir, private: true, type: mode.type }))
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      module: mode.module,
      moduleResolution: mode.moduleResolution,
      types: ['node'],
      strict: true,
      esModuleInterop: true,
      skipLibCheck: false,
      noEmit: true
    },
    files: [mode.file]
  }))
  copyFileSync(join(consumers, mode.file), join(dir, mode.file))
}

before(() => {
  if (!built) return
  scratch = mkdtempSync(join(tmpdir(), 'fdt-types-'))
  const packed = JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', scratch], root)) as Array<{ filename: string }>
  const tarball = join(scratch, (packed[0] as { filename: string }).filename)
  writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'scratch-consumer', private: true }))
  // One install shared by every mode's project below it; optional dependencies left out, as a user may.
  npm(['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', '--omit=optional', '--no-package-lock',
    tarball, `fastify@${installedVersion('fastify')}`, `@types/node@${installedVersion('@types/node')}`], scratch)
  const modes = Object.values(MODES)
  const lanes: Array<Promise<unknown>> = Array.from({ length: Math.min(availableParallelism(), modes.length) }, () => Promise.resolve())
  modes.forEach((mode, i) => {
    writeProject(mode)
    const lane = i % lanes.length
    const outcome = (lanes[lane] as Promise<unknown>).then(() => compile(mode.dir))
    lanes[lane] = outcome
    outcomes.set(mode.dir, outcome)
  })
})

after(async () => {
  await Promise.all(outcomes.values())
  if (scratch !== '' && process.env.FDT_KEEP_SCRATCH === undefined) rmSync(scratch, { recursive: true, force: true })
})

for (const [name, mode] of Object.entries(MODES)) {
  test(`the packed declarations typecheck from ${name} with skipLibCheck off`, { skip: !built && 'dist/ not built' }, async () => {
    const outcome = await (outcomes.get(mode.dir) as Promise<Outcome>)
    assert.ok(outcome.ok, `tsc in ${mode.dir}:\n${outcome.output}`)
  })
}

/** Run a script in the scratch install with a plain node (no TypeScript loader), as a user's test would. */
function runInScratch (args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: scratch, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' }, timeout: 300_000 }).trim()
}

const LEAK_SCRIPT = `
  const app = Fastify()
  const kept = []
  app.get('/', async () => { kept.push(new Array(1000).fill(1)); return 'ok' })
  const r = await measureLeak(app, '/', { calls: 5, maxWarmupCalls: 0, snapshots: false })
  await app.close()
  console.log(JSON.stringify([r.calls, r.statusCodes, ['leak', 'no-leak'].includes(r.verdict), typeof r.summary, Number.isFinite(r.retainedPerCall.estimate)]))
`

test('measureLeak runs from the installed package in an ES module', { skip: !built && 'dist/ not built' }, () => {
  const out = runInScratch(['--input-type=module', '-e', `
    import { measureLeak } from 'fastify-debug-toolbar/testing'
    import Fastify from 'fastify'
    ${LEAK_SCRIPT}
  `])
  assert.deepEqual(JSON.parse(out), [5, { 200: 10 }, true, 'string', true])
})

test('measureLeak runs from the installed package through require()', { skip: !built && 'dist/ not built' }, () => {
  const out = runInScratch(['-e', `
    const { measureLeak } = require('fastify-debug-toolbar/testing')
    const Fastify = require('fastify')
    ;(async () => { ${LEAK_SCRIPT} })().catch((err) => { console.error(err); process.exit(1) })
  `])
  assert.deepEqual(JSON.parse(out), [5, { 200: 10 }, true, 'string', true])
})
