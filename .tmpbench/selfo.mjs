import Fastify from 'fastify'
import http from 'node:http'
import debugToolbar from '../dist/index.js'
const app = Fastify()
await app.register(debugToolbar, { cpuTime: false, maxRequests: 200 })
app.get('/json', async () => ({ hello: 'world' }))
await app.listen({ port: 0, host: '127.0.0.1' })
const port = app.server.address().port
const agent = new http.Agent({ keepAlive: true, maxSockets: 10 })
function get () { return new Promise((resolve, reject) => { http.get({ port, host: '127.0.0.1', path: '/json', agent }, (res) => { res.resume(); res.on('end', resolve) }).on('error', reject) }) }
for (let i = 0; i < 30000; i += 10) await Promise.all(Array.from({ length: 10 }, () => get()))
const r = await app.inject('/__debug/api/requests')
const list = r.json()
const o = list.map(x => x.memory.overheadMs * 1000).sort((a, b) => a - b)
console.log('records', list.length, 'overhead µs p50', o[o.length >> 1].toFixed(1), 'p90', o[Math.floor(o.length * 0.9)].toFixed(1), 'durations µs p50', list.map(x => x.durationMs * 1000).sort((a, b) => a - b)[list.length >> 1].toFixed(1))
await app.close(); agent.destroy()
