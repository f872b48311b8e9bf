import type { FastifyReply, FastifyRequest } from 'fastify'
import { WindowState } from '../capture/window.ts'
import { NO_HEADERS, type StoredHeaders } from '../headers.ts'

/** Where a request's profile lives: a request decorator initialised to null (faster than a WeakMap here). */
export const kProfile = Symbol('fastify-debug-toolbar.profile')
/** A request as the toolbar's hooks see it. */
export type ProfiledRequest = FastifyRequest & { [kProfile]: RequestProfile | null }

/**
 * One request's state from onRequest to onSend (where its record is built and stored): its
 * measuring state plus its place in flight and what its record says of the request. Every field is
 * set in the constructor; a profiled request then gets its id, mode and counters.
 */
export class RequestProfile extends WindowState {
  /** Still counted in flight (until onSend, or until the sweep finds the request gone). */
  open: boolean
  /** Measured, headed and stored (allowed client, route not opted out). */
  profiled: boolean
  /** The reply while in flight, for the sweep; null once closed. */
  reply: FastifyReply | null
  /** Index in the in-flight list, -1 once closed. */
  slot: number
  id: string
  route: string
  remoteAddress: string
  headers: StoredHeaders

  constructor (reply: FastifyReply) {
    super()
    this.open = true
    this.profiled = false
    this.reply = reply
    this.slot = -1
    this.id = ''
    this.route = ''
    this.remoteAddress = ''
    this.headers = NO_HEADERS
  }
}
