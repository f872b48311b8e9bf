import { spawn } from 'node:child_process'
import autocannon from 'autocannon'
const res = { off: [], on: [] }
for (let round = 0; round < 3; round++) for (const mode of ['off', 'on']) {
  const port = 4100 + Math.floor(Math.random() * 1000)
  const child = spawn(process.execPath, ['server.mjs', mode, String(port)], { stdio: 'inherit', env: process.env })
  await new Promise(r => setTimeout(r, 700))
  await autocannon({ url: `http://127.0.0.1:${port}/json`, duration: 1, connections: 10 })
  const r = await autocannon({ url: `http://127.0.0.1:${port}/json`, duration: 4, connections: 10 })
  res[mode].push(r.requests.average); child.kill()
}
const med = a => a.sort((x, y) => x - y)[1]
console.log(res, 'ratio', (med(res.on) / med(res.off)).toFixed(3))
