/**
 * Registrations in a row with the toolbar, nothing else, for a CPU profile of what one costs:
 *
 *   REGISTRATIONS=600 node --import tsx --cpu-prof --cpu-prof-interval 100 bench/registration-loop.ts
 */
import Fastify from 'fastify'
import debugToolbar from '../src/index.ts'

const rounds = Number(process.env.REGISTRATIONS ?? 600)
for (let i = 0; i < rounds; i++) {
  const app = Fastify()
  await app.register(debugToolbar, { enabled: true })
  app.get('/', async () => ({ hello: 'world' }))
  await app.ready()
  await app.close()
}
