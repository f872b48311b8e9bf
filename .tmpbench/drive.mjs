import { fork } from 'node:child_process'
import autocannon from 'autocannon'
const path = process.env.ROUTE || '/json'
async function start (mode) {
  const child = fork('srv2.mjs', { env: { ...process.env, MODE: mode } })
  const { port } = await new Promise((r) => child.once('message', r))
  return { child, port }
}
function ask (child, m) { return new Promise((r) => { child.once('message', r); child.send(m) }) }
async function run (s, amount) {
  s.child.send('reset')
  const r = await autocannon({ url: `http://127.0.0.1:${s.port}${path}`, amount, connections: 10 })
  const { cpu } = await ask(s.child, 'read')
  return { us: cpu / amount, rps: r.requests.average }
}
const off = await start('off'); const on = await start('on')
await run(off, 20000); await run(on, 20000)
const res = { off: [], on: [] }
for (let i = 0; i < 3; i++) { res.off.push(await run(off, 40000)); res.on.push(await run(on, 40000)) }
const med = (a, k) => a.map((x) => x[k]).sort((x, y) => x - y)[1]
console.log(path, process.env.OPTS || '{}', 'server cpu µs/req off', med(res.off, 'us').toFixed(2), 'on', med(res.on, 'us').toFixed(2), 'cpu ratio off/on', (med(res.off, 'us') / med(res.on, 'us')).toFixed(3), '| rps ratio', (med(res.on, 'rps') / med(res.off, 'rps')).toFixed(3))
off.child.kill(); on.child.kill()
