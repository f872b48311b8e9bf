import { fork } from 'node:child_process'
import autocannon from 'autocannon'
for (const mode of ['off', 'on']) {
  const child = fork('srv2.mjs', { env: { ...process.env, MODE: mode }, execArgv: ['--trace-gc'], stdio: ['ignore', 'pipe', 'inherit', 'ipc'] })
  let lines = []
  child.stdout.on('data', (d) => { lines.push(...d.toString().split('\n').filter(Boolean)) })
  const { port } = await new Promise((r) => child.once('message', r))
  await autocannon({ url: `http://127.0.0.1:${port}/json`, amount: 10000, connections: 10 })
  lines = []
  await autocannon({ url: `http://127.0.0.1:${port}/json`, amount: 40000, connections: 10 })
  const sc = lines.filter(l => l.includes('Scavenge')), ms = lines.filter(l => l.includes('Mark'))
  console.log(mode, 'scavenges', sc.length, 'mark', ms.length, 'sample:', sc.at(-1))
  child.kill()
}
