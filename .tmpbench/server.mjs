import Fastify from 'fastify'
import debugToolbar from '/work/main/dist/index.js'
const app = Fastify()
if (process.argv[2] === 'on') await app.register(debugToolbar, JSON.parse(process.env.OPTS || '{}'))
app.get('/json', async () => ({ hello: 'world' }))
await app.listen({ port: Number(process.argv[3]), host: '127.0.0.1' })
process.on('SIGINT', () => process.exit(0))
