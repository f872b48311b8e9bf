import type { ChildProcess } from 'node:child_process'

/** The first message from a bench server that `match` accepts; rejects if the server exits or stays silent for `timeoutMs`. */
export async function message<T extends { type: string }> (child: ChildProcess, match: (m: T) => boolean, timeoutMs = 90_000): Promise<T> {
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { done(); reject(new Error(`no answer from the server in ${timeoutMs / 1000} s`)) }, timeoutMs)
    const onMessage = (m: T): void => {
      if (m === null || typeof m !== 'object' || !match(m)) return
      done()
      resolve(m)
    }
    const onExit = (code: number | null): void => { done(); reject(new Error(`server exited (code ${code})`)) }
    const done = (): void => {
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('exit', onExit)
    }
    child.on('message', onMessage)
    child.once('exit', onExit)
  })
}
