import Fastify from 'fastify'
import prettyBytes from 'pretty-bytes'
import { randomUUID } from 'node:crypto'
import v8 from 'node:v8'
const app = Fastify()
let req, rep
app.get('/json', async (request, reply) => { req = request; rep = reply; return { hello: 'world' } })
await app.inject({ url: '/json?a=1', headers: { cookie: 'a=b' } })
function bench (name, fn, n = 200000) { for (let i = 0; i < 10000; i++) fn(); const t = performance.now(); for (let i = 0; i < n; i++) fn(); console.log(name.padEnd(28), ((performance.now() - t) * 1000 / n).toFixed(3), 'µs') }
const wm = new WeakMap()
bench('routeOptions.config', () => req.routeOptions.config)
bench('routeOptions.url', () => req.routeOptions.url)
bench('reply.getHeaders', () => rep.getHeaders())
bench('new Date().toISOString', () => new Date(Date.now()).toISOString())
bench('randomUUID', () => randomUUID())
bench('weakmap set+get', () => { wm.set(req, 1); wm.get(req) })
bench('prettyBytes', () => prettyBytes(123456))
bench('getHeapStatistics', () => v8.getHeapStatistics())
bench('cpuUsage', () => process.cpuUsage())
bench('elu', () => performance.eventLoopUtilization())
bench('socket.remoteAddress', () => req.raw.socket.remoteAddress)
bench('setImmediate+clear', () => clearImmediate(setImmediate(() => {})))
bench('reply.header', () => rep.header('x-a', 'abc'))
