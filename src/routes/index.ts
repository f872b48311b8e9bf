import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fastifyStatic from '@fastify/static'
import { FST_DEBUG_TOOLBAR_BAD_ORIGIN, FST_DEBUG_TOOLBAR_BAD_TOKEN, FST_DEBUG_TOOLBAR_FORBIDDEN, FST_DEBUG_TOOLBAR_FORBIDDEN_HOST, FST_DEBUG_TOOLBAR_NOT_FOUND, FST_DEBUG_TOOLBAR_UNKNOWN_PANEL } from '../errors.ts'
import { crossSite } from '../headers.ts'
import { allowLoopback, isLoopbackHost, runAllow, type ResolvedOptions } from '../options.ts'
import { PANELS, findPanel } from '../panels/index.ts'
import { historyContext } from '../panels/history.ts'
import { routeRows } from '../panels/routes.ts'
import type { PanelEnv } from '../panels/panel.ts'
import { TOKEN_HEADER } from '../protocol.ts'
import { summarize, type RecordSummary, type RequestRecord } from '../record/types.ts'
import { kToolbarRoute } from '../route-config.ts'
import type { RequestStore } from '../store.ts'
import type { SharedRedis } from '../redis-store.ts'
import { gcTracker } from '../capture/gc-tracker.ts'
import { heapUsedNow, trackedGcsSince } from '../capture/process-sampler.ts'
import { heapLine } from '../record/heap-readings.ts'
import { parseLiveQuery, type LiveQuerystring } from '../record/filter.ts'
import { createLeakTestStore, type LeakTestStore } from '../leak-test-store.ts'
import { LeakTicket } from '../leak/ticket.ts'
import { leakTestRoutes } from './leak-tests.ts'
import { liveRoutes } from './live.ts'
import { sharedValidatorCompiler } from './validator.ts'
import { renderView } from './view.ts'
import { allocationRoutes, allocationsAs, idParams, panelQuerySchema, sampledIds, siteQuery, type SitesQuerystring } from './allocations.ts'
import { getRoute } from './get-route.ts'

/** The package's static/ folder (the same from src/routes/ and dist/routes/). */
export const STATIC_DIR = fileURLToPath(new URL('../../static/', import.meta.url))

const JSON_UNSAFE = /[<>&\u2028\u2029]/g

const FORM = 'application/x-www-form-urlencoded'
/** The span the handle's sparkline covers, in ms. */
const SPARKLINE_SPAN_MS = 60_000
/** allocations.maxSites' default, for a registration with sampling off reading a shared store. */
const DEFAULT_MAX_SITES = 50

/** Largest form body the toolbar parses, in bytes: a token and a little more. */
const FORM_BODY_LIMIT_BYTES = 1024

interface IdParams { id: string }
const panelParams = { type: 'object', properties: { id: { type: 'string', maxLength: 64 }, panel: { type: 'string', maxLength: 32 } }, required: ['id', 'panel'] } as const
interface PanelParams { id: string, panel: string }
interface PanelRequest { Params: PanelParams, Querystring: SitesQuerystring }

/** What the routes need: the store they read, and the options they answer by. */
export interface ToolbarRoutesOptions extends Pick<ResolvedOptions, 'prefix' | 'allow' | 'maxRequests' | 'maxStoreBytes'> {
  store: RequestStore
  /** The live page's options; `false` or absent leaves the static history page. */
  live?: ResolvedOptions['live']
  /** Where the toolbar tells of each stored record (the live page's feed). */
  recordListeners?: Set<(r: RequestRecord) => void>
  /** The running leak test's ticket, which the toolbar's onRequest hook reads. @default a ticket nothing reads */
  leakTicket?: LeakTicket
  /** Requests of the app in flight right now (a leak test refuses to start above 0). @default none counted */
  inFlight?: () => number
  /** Where leak tests are kept. @default the last 20 */
  leakTests?: LeakTestStore
  /** Sites listed when the Memory panel counts a record's sites again from its call tree (allocations.maxSites). @default 50 */
  maxSites?: number
  /** The Redis store's client and key prefix: the live page shows every process's series through it. */
  redis?: SharedRedis
}

/**
 * The toolbar's own routes, registered as an encapsulated (non-fp) child under the prefix: pages,
 * panel fragments, the JSON API and static assets, every one behind the same allow check.
 */
export async function routes (app: FastifyInstance, options: ToolbarRoutesOptions): Promise<void> {
  const { store } = options
  // Random per registration (one app, one process): state-changing routes need it besides a same-origin Origin.
  const token = randomBytes(32).toString('base64url')

  // Kept out of the app's API documents (@fastify/swagger reads `schema.hide`), static assets
  // included; and marked as the toolbar's own, for the hooks that profile the app's requests.
  app.addHook('onRoute', function markToolbarRoute (route) {
    route.schema = { ...route.schema, hide: true } as typeof route.schema
    route.config = { ...route.config, [kToolbarRoute]: true } as typeof route.config
  })

  // Compiled once a process, not once an app (see validator.ts).
  app.setValidatorCompiler(sharedValidatorCompiler)

  const checkHost = options.allow === allowLoopback
  app.addHook('onRequest', async function guard (request) {
    const allowed = runAllow(options.allow, request, (err) => { request.log.warn({ err }, 'fastify-debug-toolbar: the allow() option threw; refusing the client') })
    if (!allowed) throw new FST_DEBUG_TOOLBAR_FORBIDDEN()
    if (checkHost && !isLoopbackHost(hostOf(request))) throw new FST_DEBUG_TOOLBAR_FORBIDDEN_HOST()
    // Whatever the app's CORS allows: another site's page gets nothing from the toolbar.
    const site = headerText(request.headers['sec-fetch-site'])
    if (crossSite(site, request.headers.origin, hostOf(request))) refuseOrigin(request, site === 'cross-site' ? 'Sec-Fetch-Site: cross-site' : undefined)
  })

  // JSON with markup characters escaped (\u003c...): it parses to the same data, and stays inert
  // even where something renders it as HTML.
  app.setReplySerializer(function escapedJson (payload) {
    return JSON.stringify(payload).replace(JSON_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
  })

  app.addHook('onSend', async function toolbarHeaders (_request, reply) {
    // Records hold request details: never cached, never sniffed as another type.
    reply.header('cache-control', 'no-store')
    reply.header('x-content-type-options', 'nosniff')
    // Under `no-referrer` (helmet's default) a browser sends `Origin: null` with a same-origin form
    // post, which the clear route refuses; `same-origin` still sends no Referer to other sites.
    reply.header('referrer-policy', 'same-origin')
    sameOriginOnly(reply)
  })

  app.setErrorHandler(function toolbarErrors (err: Error & { statusCode?: number, code?: string, validation?: unknown }, request, reply) {
    const statusCode = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500
    if (statusCode === 500) request.log.error({ err }, 'fastify-debug-toolbar: a toolbar route failed')
    // Never a stack trace; 5xx messages are generic.
    reply.code(statusCode).type('application/json; charset=utf-8').send({
      statusCode,
      code: err.code ?? (statusCode === 500 ? 'FST_DEBUG_TOOLBAR_INTERNAL' : 'FST_DEBUG_TOOLBAR_BAD_REQUEST'),
      error: statusCode === 500 ? 'Internal Server Error' : reply.raw.statusMessage,
      message: statusCode === 500 ? 'The debug toolbar failed to answer; see the server log' : err.message
    })
  })

  app.setNotFoundHandler({ config: { [kToolbarRoute]: true } } as object, function toolbarNotFound (request, reply) {
    reply.code(404).send({ statusCode: 404, code: 'FST_DEBUG_TOOLBAR_NO_ROUTE', error: 'Not Found', message: `The debug toolbar has no route ${request.method} ${request.url.split('?')[0]}` })
  })

  await app.register(fastifyStatic, {
    root: STATIC_DIR,
    prefix: '/static/',
    decorateReply: false,
    index: false,
    list: false,
    dotfiles: 'deny',
    cacheControl: true,
    maxAge: 0
  })

  async function lookup (id: string): Promise<RequestRecord> {
    const r = await store.get(id)
    if (r === undefined) throw new FST_DEBUG_TOOLBAR_NOT_FOUND(id, options.maxRequests)
    return r
  }

  // Allocation sites' paths are shown relative to where the app was started.
  const root = process.cwd()

  const maxSites = options.maxSites ?? DEFAULT_MAX_SITES

  async function env (r: RequestRecord, query?: SitesQuerystring, page = false): Promise<PanelEnv> {
    const list = await store.list()
    const builtins = query?.builtins
    const allocations = await allocationsAs(r, builtins, store, maxSites)
    return { prefix: options.prefix, history: list.map(summarize), root, sites: siteQuery(query), builtins, allocations, sampled: sampledIds(list), page, live: live !== undefined, leakKey }
  }

  // Allocation sites: downloads, flame graph data and widget, compare page (GET only).
  await allocationRoutes(app, { store, prefix: options.prefix, root, maxSites, lookup, render: renderView })

  // The live page's series, event stream and process actions (src/routes/live.ts).
  const live = options.live === undefined || options.live === false
    ? undefined
    : await liveRoutes(app, { live: options.live, list: async () => await store.list(), settle: async (id) => { await store.get(id) }, recordListeners: options.recordListeners ?? new Set(), sameOrigin, checkToken, redis: options.redis })

  function checkToken (request: FastifyRequest): void {
    const given = request.headers[TOKEN_HEADER] ?? (request.body as { token?: unknown } | null | undefined)?.token
    if (!tokenMatches(given, token)) throw new FST_DEBUG_TOOLBAR_BAD_TOKEN()
  }

  /** A record's leak-test key (PanelEnv.leakKey): an HMAC of its id under the token. */
  function leakKey (id: string): string {
    return createHmac('sha256', token).update(`leak-test:${id}`).digest('base64url')
  }

  // Leak tests: start, progress, cancel, downloads and the report page (src/routes/leak-tests.ts).
  const leakTests = options.leakTests ?? createLeakTestStore()
  await leakTestRoutes(app, {
    prefix: options.prefix,
    tests: leakTests,
    ticket: options.leakTicket ?? new LeakTicket(),
    inFlight: options.inFlight ?? (() => 0),
    lookup,
    sameOrigin,
    checkToken,
    checkLeakKey: (id, given) => tokenMatches(given, leakKey(id)),
    render: renderView
  })

  // Forms (the history page's Clear button, no JavaScript needed), parsed in this scope only: an
  // app's own parser for the type (e.g. @fastify/formbody) is replaced here and nowhere else.
  if (app.hasContentTypeParser(FORM)) app.removeContentTypeParser(FORM)
  app.addContentTypeParser(FORM, { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT_BYTES }, function formBody (_request, body, done) {
    done(null, Object.fromEntries(new URLSearchParams(body as string)))
  })

  // The one state-changing route: POST only, after the allow check, with a same-origin Origin and
  // the token. A form gets a 303 back to the history page, a JSON client (token in the header) JSON.
  app.post('/api/requests/clear', { onRequest: sameOrigin }, async function clearRecords (request, reply) {
    const fromHeader = request.headers[TOKEN_HEADER]
    const given = fromHeader ?? (request.body as { token?: unknown } | null | undefined)?.token
    if (!tokenMatches(given, token)) throw new FST_DEBUG_TOOLBAR_BAD_TOKEN()
    const cleared = (await store.figures()).size
    await store.clear()
    if (fromHeader === undefined) return reply.redirect(`${options.prefix}/`, 303)
    return { cleared }
  })

  // JSON API (read-only).

  getRoute(app, '/api/requests', {}, async function listRecords () {
    return await store.list()
  })

  // The handle's sparkline: the last minute of heap from the stored requests, the GC tracker and the
  // live sampler's readings when it ran; reading it starts nothing (docs/live.md).
  getRoute(app, '/api/sparkline', {}, async function heapSparkline () {
    const toMs = Date.now()
    const fromMs = toMs - SPARKLINE_SPAN_MS
    const requests: RecordSummary[] = []
    // Newest first: stop at the first request older than the span.
    for (const r of await store.list()) {
      if (r.startedAt + r.durationMs < fromMs) break
      requests.push(summarize(r))
    }
    const samples = live?.sampler.series(fromMs).samples ?? { t: [], heapUsedBytes: [] }
    return heapLine({ requests, gcs: trackedGcsSince(gcTracker, fromMs), samples, nowBytes: heapUsedNow() }, fromMs, toMs)
  })

  getRoute(app, '/api/store', {}, async function storeFigures () {
    const { size, sizeBytes } = await store.figures()
    return { size, sizeBytes, maxRequests: options.maxRequests, maxStoreBytes: options.maxStoreBytes }
  })

  getRoute<{ Params: IdParams }>(app, '/api/requests/:id', { schema: { params: idParams } }, async function getRecord (request) {
    return await lookup(request.params.id)
  })

  // Toolbar: the bar's panel list, then one panel at a time.

  getRoute<{ Params: IdParams }>(app, '/requests/:id/toolbar', { schema: { params: idParams } }, async function toolbarNav (request) {
    const r = await lookup(request.params.id)
    return {
      id: r.id,
      method: r.method,
      url: r.url,
      statusCode: r.statusCode,
      panels: PANELS.map((p) => ({ id: p.id, title: p.title, subtitle: p.navSubtitle(r) }))
    }
  })

  getRoute<PanelRequest>(app, '/requests/:id/panels/:panel', {
    schema: { params: panelParams, querystring: panelQuerySchema }
  }, async function panelFragment (request, reply) {
    const r = await lookup(request.params.id)
    const panel = findPanel(request.params.panel)
    if (panel === undefined) throw new FST_DEBUG_TOOLBAR_UNKNOWN_PANEL(request.params.panel, PANELS.map((p) => p.id).join(', '))
    return renderView(reply, panel.id, { record: r, panel: { id: panel.id, title: panel.title }, ctx: panel.context(r, await env(r, request.query)), prefix: options.prefix })
  })

  // Full pages: the history (for API-only apps) and one request with every panel.

  getRoute(app, '/', {}, async function historyPage (request: FastifyRequest, reply) {
    if ((request.query as { view?: unknown }).view === 'routes') {
      const records = await store.list()
      const rows = routeRows(records.map(summarize), sampledIds(records), await leakTests.latestByRoute(), options.prefix)
      return renderView(reply, 'page-routes', { rows, prefix: options.prefix, count: records.length, maxRequests: options.maxRequests, token })
    }
    const liveCtx = live?.page(request.query as Record<string, string>)
    // `?pid=`: only the requests one process served (with a shared store, the history holds several).
    const pid = parseLiveQuery(request.query as LiveQuerystring).filter.pid
    const list = (await store.list()).map(summarize).filter((s) => pid === undefined || s.pid === pid)
    return renderView(reply, 'page-history', { ctx: historyContext(list, undefined), prefix: options.prefix, count: list.length, maxRequests: options.maxRequests, shared: store.shared, token, live: liveCtx })
  })

  getRoute<{ Params: IdParams, Querystring: SitesQuerystring }>(app, '/requests/:id', { schema: { params: idParams, querystring: panelQuerySchema } }, async function requestPage (request, reply) {
    const r = await lookup(request.params.id)
    const e = await env(r, request.query, true)
    const panels = PANELS.map((p) => ({ id: p.id, title: p.title, subtitle: p.navSubtitle(r), ctx: p.context(r, e) }))
    return renderView(reply, 'page-request', { record: r, panels, prefix: options.prefix })
  })
}

// The name Fastify shows for this plugin (its function name); given, so that each registration does not
// search every loaded module for the function to name it.
Object.defineProperty(routes, Symbol.for('fastify.display-name'), { value: 'routes' })

/** Refuse (403) a request whose Origin is missing, `null` or not the server's own origin as its Host names it. */
async function sameOrigin (request: FastifyRequest): Promise<void> {
  const own = ownOrigin(request)
  if (own === undefined || request.headers.origin !== own) refuseOrigin(request)
}

/** Throw FST_DEBUG_TOOLBAR_BAD_ORIGIN naming the server's origin and what the request brought. */
function refuseOrigin (request: FastifyRequest, why?: string): never {
  const given = request.headers.origin
  throw new FST_DEBUG_TOOLBAR_BAD_ORIGIN(ownOrigin(request) ?? '(no usable Host header)', given === undefined ? (why ?? 'no Origin header') : JSON.stringify(given.slice(0, 200)))
}

/** The Host header, or HTTP/2's `:authority` when there is none. */
function hostOf (request: FastifyRequest): string | undefined {
  return request.headers.host ?? headerText(request.headers[':authority'])
}

function headerText (v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v
}

/**
 * Keep toolbar responses to the server's own origin whatever the app says: no CORS header (from
 * e.g. @fastify/cors), no framing by other sites (`frame-ancestors 'self'` added to any CSP).
 */
function sameOriginOnly (reply: FastifyReply): void {
  for (const name of Object.keys(reply.getHeaders())) if (name.startsWith('access-control-')) reply.removeHeader(name)
  if (String(reply.getHeader('x-frame-options')).toUpperCase() !== 'DENY') reply.header('x-frame-options', 'SAMEORIGIN')
  const csp = reply.getHeader('content-security-policy')
  // Several policies all apply, so one more only narrows what the app's policy allows.
  if (csp === undefined) reply.header('content-security-policy', FRAME_ANCESTORS)
  else if (typeof csp === 'string' && !/frame-ancestors/i.test(csp)) reply.header('content-security-policy', `${csp.replace(/[;\s]+$/, '')}; ${FRAME_ANCESTORS}`)
  else reply.header('content-security-policy', [...(Array.isArray(csp) ? csp : [String(csp)]), FRAME_ANCESTORS])
}

const FRAME_ANCESTORS = "frame-ancestors 'self'"

/** scheme://host[:port] as a browser serialises it (lower case, default port left out), from the Host header. */
function ownOrigin (request: FastifyRequest): string | undefined {
  const host = hostOf(request)
  if (host === undefined || !/^[A-Za-z0-9.-]+(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$/.test(host)) return undefined
  try {
    return new URL(`${request.protocol}://${host}`).origin
  } catch {
    return undefined
  }
}

/** Constant-time comparison of a sent token with ours; anything but a string of the same length fails. */
function tokenMatches (given: unknown, token: string): boolean {
  if (typeof given !== 'string') return false
  const a = Buffer.from(given)
  const b = Buffer.from(token)
  return a.length === b.length && timingSafeEqual(a, b)
}
