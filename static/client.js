/**
 * fastify-debug-toolbar: the toolbar's own requests to its routes. They go through the page's
 * original fetch, same origin, so the toolbar never records or lists them.
 */
import { responseError } from './dom.js'

/** The page's own fetch, captured when this module is evaluated, before page-requests.js wraps it. */
export const pageFetch = typeof window.fetch === 'function' ? window.fetch.bind(window) : undefined

/** Waits before asking again for a record the server answered 404 for, in ms; then the 404 stands. */
const RETRY_DELAYS_MS = [100, 300, 800]

/** Requests to the toolbar's routes under `prefix`: `get(path, accept, retryNotFound)`, `getJson`, `getText`. */
export function createClient (prefix) {
  async function get (path, accept, retryNotFound) {
    for (let attempt = 0; ; attempt++) {
      const res = await pageFetch(prefix + path, { credentials: 'same-origin', cache: 'no-store', headers: { accept } })
      if (res.ok) return res
      const delay = RETRY_DELAYS_MS[attempt]
      if (res.status === 404 && retryNotFound && delay !== undefined) {
        await new Promise((resolve) => setTimeout(resolve, delay))
        continue
      }
      throw await responseError(res)
    }
  }

  async function getJson (path, retryNotFound) {
    return (await get(path, 'application/json', retryNotFound)).json()
  }

  async function getText (path) {
    return (await get(path, 'text/html', false)).text()
  }

  return { get, getJson, getText }
}
