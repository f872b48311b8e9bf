import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'

const WORKER = fileURLToPath(new URL('./fixtures/redis-worker.ts', import.meta.url))

/** A worker process of the multi-process tests: its pid and the base URL it listens on. */
export interface Worker { child: ChildProcess, pid: number, base: string }

/** Start a worker sharing `redisUrl` under `keyPrefix` (more settings in `env`, e.g. LIVE=1); resolves once it listens. */
export async function startWorker (redisUrl: string, keyPrefix: string, maxRequests = 50, env: Record<string, string> = {}): Promise<Worker> {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
    env: { ...process.env, REDIS_URL: redisUrl, KEY_PREFIX: keyPrefix, MAX_REQUESTS: String(maxRequests), NODE_ENV: 'development', ...env },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  let out = ''
  child.stdout?.setEncoding('utf8')
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.on('data', (d: string) => {
      out += d
      const m = /^(\d+)\n/.exec(out)
      if (m !== null) resolve(Number(m[1]))
    })
    child.once('exit', (code) => { reject(new Error(`worker exited (${String(code)}) before listening`)) })
  })
  return { child, pid: child.pid as number, base: `http://127.0.0.1:${port}` }
}

/** Stop a worker and wait for its exit. */
export async function stopWorker (w: Worker): Promise<void> {
  if (w.child.exitCode !== null) return
  const exited = once(w.child, 'exit')
  w.child.kill('SIGTERM')
  await exited
}
