import Fastify from 'fastify'
import http from 'node:http'
const variant = process.env.V
async function build (on) {
  const app = Fastify()
  if (on) {
    app.addHook('onRequest', (req, reply, done) => done())
    app.addHook('onSend', (req, reply, payload, done) => done(null, payload))
    app.addHook('onResponse', (req, reply, done) => done())
    if (variant.includes('abort')) app.addHook('onRequestAbort', (req, done) => done())
  }
  app.get('/json', async () => ({ hello: 'world' }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  return app
}
const agent = new http.Agent({ keepAlive: true, maxSockets: 10 })
function get (port) { return new Promise((resolve, reject) => { http.get({ port, host: '127.0.0.1', path: '/json', agent }, (res) => { res.resume(); res.on('end', resolve) }).on('error', reject) }) }
async function measure (app, n) {
  const port = app.server.address().port
  const c0 = process.cpuUsage()
  for (let i = 0; i < n; i += 10) await Promise.all(Array.from({ length: 10 }, () => get(port)))
  const c = process.cpuUsage(c0)
  return (c.user + c.system) / n
}
const off = await build(false); const on = await build(true)
await measure(off, 5000); await measure(on, 5000)
const r = { off: [], on: [] }
for (let i = 0; i < 5; i++) { r.off.push(await measure(off, 20000)); r.on.push(await measure(on, 20000)) }
const med = (a) => a.sort((x, y) => x - y)[2]
console.log(variant, 'off', med(r.off).toFixed(2), 'on', med(r.on).toFixed(2), 'diff', (med(r.on) - med(r.off)).toFixed(2))
await off.close(); await on.close(); agent.destroy()
