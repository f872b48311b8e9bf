import type { SamplingPolicy } from '../capture/sampling-policy.ts'
import type { RequestProfile } from './request-profile.ts'

/**
 * A request that will never reach onSend: the reply was hijacked (a hand-written event stream, an
 * upgraded WebSocket) or has ended, or the client went away (the response is destroyed with its
 * socket). (The request stream itself is destroyed as soon as a body has been read, so it says
 * nothing here.)
 */
export function gone (p: RequestProfile): boolean {
  const reply = p.reply
  return reply === null || reply.sent || reply.raw.destroyed
}

/**
 * Requests between onRequest and onSend, for `overlapping` and the sweep: a list with swap-remove
 * (each profile knows its slot), and the arrivals counter. There are no per-request abort listeners.
 */
export class InFlight {
  readonly list: RequestProfile[] = []
  /** Requests that arrived (not counting the toolbar's own routes). */
  arrivals = 0
  private readonly policy: SamplingPolicy

  constructor (policy: SamplingPolicy) {
    this.policy = policy
  }

  /** Count a request in flight. */
  add (p: RequestProfile): void {
    p.slot = this.list.length
    this.list.push(p)
  }

  /** No longer in flight (its window is closed, or it will never reach onSend). */
  close (p: RequestProfile): void {
    if (!p.open) return
    p.open = false
    const last = this.list.pop() as RequestProfile
    if (last !== p) {
      this.list[p.slot] = last
      last.slot = p.slot
    }
    p.slot = -1
    p.reply = null
  }

  /** Close a request that will not be measured: give back the sampler, store nothing. */
  abandon (p: RequestProfile): void {
    this.close(p)
    p.profiled = false
    this.policy.release(p)
  }

  /** Close the in-flight requests that will never reach onSend. */
  sweep (): void {
    const list = this.list
    for (let i = list.length - 1; i >= 0; i--) {
      const p = list[i] as RequestProfile
      if (gone(p)) this.abandon(p)
    }
  }
}
