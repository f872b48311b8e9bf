/**
 * fastify-debug-toolbar: the page's requests. Wraps fetch and XMLHttpRequest to notice the responses
 * that carry a record id, and keeps the list the History panel shows above the server's history.
 */
import { h } from './dom.js'

/** Response header that carries a profiled request's record id. */
const ID_HEADER = 'x-debug-toolbar-id'
/** How many of the page's fetch/XHR requests the toolbar lists; older ones are dropped. */
const MAX_PAGE_REQUESTS = 100

// Watching the page's requests. The wrappers hand back exactly what the page would have got.

/** Call `onRecord(id, url)` for every fetch() response; `id` is null when it carries none. */
export function watchFetch (onRecord) {
  const original = window.fetch
  if (typeof original !== 'function') return
  // The page gets the derived promise: same response, same rejection, and an unhandled rejection
  // is still reported as the page's own (a catch-all handler here would silence it).
  window.fetch = function fetch (...args) {
    return original.apply(this, args).then((res) => {
      try {
        onRecord(res.headers.get(ID_HEADER), res.url)
      } catch {}
      return res
    })
  }
}

/** Call `onRecord(id, url)` for every XMLHttpRequest once it ends; `id` is null when it carries none. */
export function watchXhr (onRecord) {
  const proto = window.XMLHttpRequest?.prototype
  if (proto === undefined) return
  const send = proto.send
  // The same function object each time, so a reused XHR gets one listener, not one per send().
  function onLoadEnd () {
    try {
      onRecord(this.getResponseHeader(ID_HEADER), this.responseURL)
    } catch {}
  }
  proto.send = function (...args) {
    try {
      this.addEventListener('loadend', onLoadEnd)
    } catch {}
    return send.apply(this, args)
  }
}

/** The page's own request first, then the fetch/XHR calls that carried a record id, oldest first. */
export class PageRequests {
  /** `id` is the page's record id, `subtitle` its heap delta as the snippet gave it. */
  constructor (id, subtitle, prefix) {
    this.prefix = prefix
    this.entries = [{ id, source: 'page', method: '', url: '', statusCode: 0, subtitle, error: '' }]
  }

  /** How many fetch/XHR requests are listed (the page itself not counted). */
  get count () {
    return this.entries.length - 1
  }

  /** List a response of `source` ('fetch' or 'xhr'); returns its entry, or undefined when it is not listed. */
  add (recordId, url, source) {
    if (typeof recordId !== 'string' || recordId === '' || !isRecordable(url, this.prefix)) return undefined
    if (this.entries.some((r) => r.id === recordId)) return undefined
    const entry = { id: recordId, source, method: '', url: pathOf(url), statusCode: 0, subtitle: '…', error: '' }
    this.entries.push(entry)
    if (this.entries.length > MAX_PAGE_REQUESTS + 1) this.entries.splice(1, 1)
    return entry
  }

  find (recordId) {
    return this.entries.find((r) => r.id === recordId)
  }

  /** Fill a record's entry from its /requests/:id/toolbar answer. */
  update (recordId, data) {
    const entry = this.find(recordId)
    if (entry === undefined || data === undefined) return
    entry.method = String(data.method)
    entry.url = String(data.url)
    entry.statusCode = Number(data.statusCode)
    const memory = Array.isArray(data.panels) ? data.panels.find((p) => p.id === 'memory') : undefined
    if (memory !== undefined) entry.subtitle = String(memory.subtitle)
    entry.error = ''
  }

  /** The "this page's requests" section shown above the History panel; `currentId` is the record shown. */
  section (currentId) {
    const rows = this.entries.map((r) => {
      const shown = r.id === currentId
      return h('tr', { class: shown ? 'fdt-current-row' : '', 'data-id': r.id },
        h('td', {}, h('span', { class: `fdt-source fdt-source-${r.source}` }, r.source)),
        h('td', {}, h('span', { class: 'fdt-method' }, r.method)),
        h('td', { class: 'fdt-url', title: r.url }, r.url),
        h('td', {}, h('span', { class: `fdt-code ${statusClass(r.statusCode)}` }, r.statusCode === 0 ? '' : String(r.statusCode))),
        h('td', { class: 'fdt-num' }, r.error === '' ? r.subtitle : h('span', { class: 'fdt-error-text', title: r.error }, 'unavailable')),
        h('td', { class: 'fdt-actions-cell' }, h('button', {
          type: 'button',
          class: 'fdt-switch',
          'data-switch': r.id,
          disabled: shown || r.error !== '',
          'aria-label': shown ? `Shown: ${r.method} ${r.url}` : `Show ${r.method} ${r.url}`
        }, shown ? 'shown' : 'show')))
    })
    const count = this.count
    return h('section', { class: 'fdt-live', 'aria-labelledby': 'fdt-live-title' },
      h('h3', { class: 'fdt-h3', id: 'fdt-live-title' }, 'This page', h('span', { class: 'fdt-muted' }, ` · the page and ${count} fetch/XHR request${count === 1 ? '' : 's'} it made`)),
      h('div', { class: 'fdt-table-wrap' }, h('table', { class: 'fdt-table fdt-live-table' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Source'), h('th', {}, 'Method'), h('th', {}, 'URL'), h('th', {}, 'Status'), h('th', { class: 'fdt-num' }, 'Heap delta'), h('th', {}, h('span', { class: 'fdt-sr' }, 'Switch')))),
        h('tbody', {}, ...rows))),
      h('h3', { class: 'fdt-h3' }, 'All recent requests', h('span', { class: 'fdt-muted' }, ' · kept by the server, newest first')))
  }
}

/** The class colouring a status code: fdt-code-2xx to fdt-code-5xx, '' for none. */
export function statusClass (code) {
  const n = Number(code)
  if (n >= 500) return 'fdt-code-5xx'
  if (n >= 400) return 'fdt-code-4xx'
  if (n >= 300) return 'fdt-code-3xx'
  return n >= 200 ? 'fdt-code-2xx' : ''
}

/** True for a URL of this origin outside the toolbar's prefix: only those records are in our store. */
function isRecordable (url, prefix) {
  try {
    const u = new URL(url, document.baseURI)
    return u.origin === window.location.origin && u.pathname !== prefix && !u.pathname.startsWith(`${prefix}/`)
  } catch {
    return false
  }
}

function pathOf (url) {
  try {
    const u = new URL(url, document.baseURI)
    return u.origin === window.location.origin ? u.pathname + u.search : u.href
  } catch {
    return String(url)
  }
}
