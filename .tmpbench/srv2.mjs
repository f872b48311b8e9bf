import Fastify from 'fastify'
import debugToolbar from '../dist/index.js'
const app = Fastify()
const on = process.env.MODE === 'on'
if (on) await app.register(debugToolbar, JSON.parse(process.env.OPTS || '{}'))
app.get('/json', async () => ({ hello: 'world' }))
const html = '<!doctype html><html><head><title>x</title></head><body>' + '<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit.</p>\n'.repeat(320) + '</body></html>'
app.get('/html', async (_q, reply) => reply.type('text/html; charset=utf-8').send(html))
await app.listen({ port: 0, host: '127.0.0.1' })
process.send({ port: app.server.address().port })
let c0 = process.cpuUsage()
process.on('message', (m) => { if (m === 'reset') c0 = process.cpuUsage(); if (m === 'exit') process.exit(0); if (m === 'read') { const c = process.cpuUsage(c0); process.send({ cpu: c.user + c.system }) } })
