import type { Figure, Panel } from './panel.ts'

/** What templates/request.eta renders. */
export interface RequestContext {
  figures: Figure[]
  requestHeaders: Array<[string, string]>
  query: Array<[string, string]>
  responseHeaders: Array<[string, string]>
}

function rows (m: Record<string, string>): Array<[string, string]> {
  return Object.entries(m).sort(([a], [b]) => a.localeCompare(b))
}

/** The Request panel: what came in and what went out, secrets redacted. */
export const requestPanel: Panel<RequestContext> = {
  id: 'request',
  title: 'Request',
  navSubtitle: (r) => `${r.method} ${r.statusCode}`,
  context: (r) => ({
    figures: [
      { label: 'Method', value: r.method },
      { label: 'URL', value: r.url },
      { label: 'Route', value: r.route === '' ? '(no route matched)' : r.route },
      { label: 'Status', value: String(r.statusCode) },
      { label: 'Content type', value: r.response.contentType === '' ? '(none)' : r.response.contentType },
      { label: 'Client', value: r.request.remoteAddress },
      { label: 'HTTP version', value: r.request.httpVersion },
      { label: 'Started at', value: new Date(r.startedAt).toISOString() }
    ],
    requestHeaders: rows(r.request.headers.toJSON()),
    query: rows(r.request.query),
    responseHeaders: rows(r.response.headers.toJSON())
  })
}
