import { fork } from 'node:child_process'
for (const mode of ['off', 'on']) {
  const child = fork('srv2.mjs', { env: { ...process.env, MODE: mode } })
  const { port } = await new Promise((r) => child.once('message', r))
  const r = await fetch(`http://127.0.0.1:${port}/html`); await r.text()
  console.log(mode, [...r.headers].filter(([k]) => /length|transfer|server-timing/.test(k)))
  child.kill()
}
