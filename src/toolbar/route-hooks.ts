import type { FastifyReply } from 'fastify'

/** What the toolbar reads of Fastify's route context: its onSend hooks, bound to the route. */
interface RouteContext { onSend?: Array<{ name: string }> | null }

/** The key of Fastify's route context on a request (its merged hooks), found once by the symbol's name. */
let contextKey: symbol | undefined
/** Registrations so far in this process: each names its onSend hook apart. */
let registrations = 0

function routeContext (reply: FastifyReply): RouteContext | undefined {
  const request = reply.request as unknown as Record<symbol, RouteContext | undefined>
  if (contextKey !== undefined && request[contextKey] !== undefined) return request[contextKey]
  // Another copy of Fastify in the process has a symbol of its own: look again.
  const key = Object.getOwnPropertySymbols(request).find((s) => s.description === 'fastify.context')
  if (key === undefined) return undefined
  contextKey = key
  return request[key]
}

/**
 * Give a registration's onSend hook a name of its own. Fastify binds every hook to each route
 * (`bound <name>`), so the name is how the route's hook list tells it apart.
 */
export function nameOnSend<F extends (...args: never[]) => unknown> (hook: F): F {
  Object.defineProperty(hook, 'name', { value: `fastify-debug-toolbar onSend #${++registrations}` })
  return hook
}

/**
 * For the onSend hook named `name` (by nameOnSend): whether it is the last onSend hook of a reply's
 * route, so no hook after it sees the payload it returns; false when it is not or Fastify's context
 * cannot be read.
 */
export function lastOnSendCheck (name: string): (reply: FastifyReply) => boolean {
  // Each route's answer, by its onSend list (fixed once the app is ready): a bound function's name
  // is built on every read.
  const answers = new WeakMap<object, boolean>()
  return (reply) => {
    const hooks = routeContext(reply)?.onSend
    if (hooks === null || hooks === undefined || hooks.length === 0) return false
    let answer = answers.get(hooks)
    if (answer === undefined) {
      answer = hooks[hooks.length - 1]?.name.endsWith(name) === true
      answers.set(hooks, answer)
    }
    return answer
  }
}
