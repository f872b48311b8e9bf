/** Start and stop V8's CPU profiler in this process (the inspector's Profiler domain), for bench/profile.ts. */
import { Session } from 'node:inspector'

/** A V8 CPU profile (the .cpuprofile format). */
export interface CpuProfile {
  nodes: Array<{ id: number, callFrame: { functionName: string, url: string, lineNumber: number }, children?: number[] }>
  startTime: number
  endTime: number
  samples: number[]
  timeDeltas: number[]
}

let session: Session | undefined

function post<T> (method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => {
    if (session === undefined) throw new Error('no inspector session')
    session.post(method, params ?? {}, (err, result) => { if (err !== null) reject(err); else resolve(result as T) })
  })
}

/** Start sampling every `intervalMicros` µs. */
export async function startCpuProfile (intervalMicros: number): Promise<void> {
  session = new Session()
  session.connect()
  await post('Profiler.enable')
  await post('Profiler.setSamplingInterval', { interval: intervalMicros })
  await post('Profiler.start')
}

/** Stop sampling and return the profile. */
export async function stopCpuProfile (): Promise<CpuProfile> {
  const { profile } = await post<{ profile: CpuProfile }>('Profiler.stop')
  await post('Profiler.disable')
  session?.disconnect()
  session = undefined
  return profile
}
