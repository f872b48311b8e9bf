/** `npm start`: build the playground and listen on 127.0.0.1 (PORT, default 3000). */
import { buildPlayground } from './app.ts'

const port = Number(process.env.PORT ?? 3000)
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be an integer from 0 to 65535, got ${JSON.stringify(process.env.PORT)}`)
  process.exit(1)
}

const app = await buildPlayground({ logger: process.env.PLAYGROUND_LOG === '1' ? { level: 'info' } : false })
const address = await app.listen({ host: '127.0.0.1', port })
console.log(`fastify-debug-toolbar playground: ${address}/`)
console.log(`request history:                  ${address}/__debug/`)

let closing = false
function shutdown (signal: NodeJS.Signals): void {
  if (closing) {
    console.log(`${signal} again: exiting now`)
    process.exit(1)
  }
  closing = true
  console.log(`${signal}: closing...`)
  // Do not wait forever for slow clients (a long /stream, a kept-alive browser tab).
  const force = setTimeout(() => {
    console.error('close took more than 5 s: exiting anyway')
    process.exit(1)
  }, 5000)
  force.unref()
  app.close().then(() => {
    clearTimeout(force)
    process.exit(0)
  }, (err: unknown) => {
    console.error('error while closing', err)
    process.exit(1)
  })
}
process.on('SIGINT', shutdown)
process.on('SIGTERM', shutdown)
