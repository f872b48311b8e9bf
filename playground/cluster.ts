/**
 * `npm run start:cluster`: the playground as two node:cluster workers on one port (PORT, default
 * 3000) sharing the toolbar's Redis store, so the history shows both processes. Uses REDIS_URL, or
 * starts Debian's redis-server (no persistence) on a free port and stops it on exit.
 */
import cluster from 'node:cluster'
import { buildPlayground } from './app.ts'
import { RedisServer } from './lib/redis-server.ts'

const WORKERS = 2
const port = Number(process.env.PORT ?? 3000)

if (cluster.isPrimary) {
  let redis: RedisServer | undefined
  let url = process.env.REDIS_URL
  if (url === undefined) {
    try {
      redis = await RedisServer.start()
    } catch (err) {
      console.error(`could not start redis-server (${(err as Error).message}): install it (apt-get install redis-server) or set REDIS_URL`)
      process.exit(1)
    }
    url = redis.url
    console.log(`started redis-server for the playground: ${url}`)
  }
  for (let i = 0; i < WORKERS; i++) cluster.fork({ REDIS_URL: url })
  cluster.on('exit', (worker, code) => { console.log(`worker ${worker.process.pid} exited (${code})`) })
  let closing = false
  const shutdown = (): void => {
    if (closing) return
    closing = true
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM')
    const done = (): void => {
      (redis?.stop() ?? Promise.resolve()).finally(() => process.exit(0)).catch(() => {})
    }
    if (Object.keys(cluster.workers ?? {}).length === 0) done()
    cluster.on('exit', () => { if (Object.keys(cluster.workers ?? {}).length === 0) done() })
  }
  process.on('SIGINT', shutdown)
  process.on('SIGTERM', shutdown)
} else {
  const app = await buildPlayground({ toolbar: { store: { redis: process.env.REDIS_URL as string, keyPrefix: 'fdt-playground:' } } })
  const address = await app.listen({ host: '127.0.0.1', port })
  console.log(`worker ${process.pid}: playground ${address}/, shared history ${address}/__debug/`)
  const close = (): void => { app.close().then(() => process.exit(0), () => process.exit(1)) }
  process.on('SIGTERM', close)
  process.on('SIGINT', close)
}
