import { fork } from 'node:child_process'
import autocannon from 'autocannon'
const path = process.env.ROUTE || '/json'
for (const mode of ['off', 'on']) {
  const child = fork('srv2.mjs', { env: { ...process.env, MODE: mode }, execArgv: ['--cpu-prof', `--cpu-prof-dir=sp_${mode}`] })
  const { port } = await new Promise((r) => child.once('message', r))
  await autocannon({ url: `http://127.0.0.1:${port}${path}`, amount: 50000, connections: 10 })
  child.send('exit'); await new Promise((r) => child.once('exit', r))
}
