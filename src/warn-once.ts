import type { FastifyBaseLogger } from 'fastify'

/** Log a failure once per registration and key: a failing backend must not flood the log. */
export type WarnOnce = (key: string, err: unknown, message: string) => void

/** A WarnOnce writing to `log`, made once per registration. */
export function createWarnOnce (log: FastifyBaseLogger): WarnOnce {
  const warned = new Set<string>()
  return function warnOnce (key, err, message) {
    if (warned.has(key)) return
    warned.add(key)
    log.warn({ err }, `fastify-debug-toolbar: ${message}`)
  }
}
