import Fastify from 'fastify'
import net from 'node:net'
import debugToolbar from '../dist/index.js'
for (const on of [false, true]) {
  const app = Fastify()
  if (on) await app.register(debugToolbar, { cpuTime: false })
  app.get('/json', async () => ({ hello: 'world' }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  const s = net.connect(app.server.address().port, '127.0.0.1')
  let chunks = 0; let got = ''
  s.on('data', (d) => { chunks++; got += d })
  for (let i = 0; i < 50; i++) { s.write('GET /json HTTP/1.1\r\nHost: x\r\n\r\n'); await new Promise(r => setTimeout(r, 5)) }
  console.log(on ? 'on' : 'off', 'chunks for 50 responses', chunks)
  s.destroy(); await app.close()
}
