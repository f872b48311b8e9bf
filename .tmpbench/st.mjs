import { fork, execFile } from 'node:child_process'
import autocannon from 'autocannon'
const mode = process.env.MODE
const child = fork('srv2.mjs', { env: { ...process.env, MODE: mode } })
const { port } = await new Promise((r) => child.once('message', r))
await autocannon({ url: `http://127.0.0.1:${port}/json`, amount: 5000, connections: 10 })
const st = execFile('strace', ['-f', '-c', '-p', String(child.pid), '-o', `strace_${mode}.txt`])
await new Promise((r) => setTimeout(r, 500))
await autocannon({ url: `http://127.0.0.1:${port}/json`, amount: 20000, connections: 10 })
st.kill('SIGINT'); await new Promise((r) => setTimeout(r, 500)); child.kill()
