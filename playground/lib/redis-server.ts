/** A redis-server of its own for the playground, the bench and the tests: Debian's, on loopback, no persistence. */
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer, connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

/** Debian's redis-server, or the one REDIS_SERVER names. */
export const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server'

/** A free TCP port on loopback: listen on port 0, read the port, close. */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => { resolve(port) })
    })
  })
}

/** A redis-server of its own: no persistence, loopback only. */
export class RedisServer {
  readonly port: number
  private child: ChildProcess | undefined

  private constructor (port: number) {
    this.port = port
  }

  get url (): string { return `redis://127.0.0.1:${this.port}` }

  /** Start one on a free port and wait until it accepts connections. */
  static async start (port?: number): Promise<RedisServer> {
    const server = new RedisServer(port ?? await freePort())
    await server.restart()
    return server
  }

  /** Start (again) on the same port, empty. */
  async restart (): Promise<void> {
    if (this.child !== undefined) throw new Error('redis-server is running')
    const child = spawn(REDIS_SERVER, ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--enable-debug-command', 'local'], { stdio: 'ignore' })
    this.child = child
    child.once('exit', () => { if (this.child === child) this.child = undefined })
    for (let i = 0; i < 400; i++) {
      if (await accepts(this.port)) return
      if (this.child === undefined) throw new Error(`redis-server exited at start (port ${this.port})`)
      await sleep(25)
    }
    throw new Error(`redis-server did not accept connections on port ${this.port}`)
  }

  /** Stop it and wait for its exit (the port is closed then). */
  async stop (): Promise<void> {
    const child = this.child
    if (child === undefined) return
    const exited = new Promise((resolve) => { child.once('exit', resolve) })
    child.kill('SIGKILL')
    await exited
    this.child = undefined
  }
}

async function accepts (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      // PING must answer: the port may accept before the server is ready.
      socket.write('PING\r\n')
      socket.once('data', (d) => { socket.destroy(); resolve(d.toString().startsWith('+PONG')) })
    })
    socket.once('error', () => { socket.destroy(); resolve(false) })
  })
}
