/**
 * Leak tests from the toolbar, added to the toolbar's routes scope (its guard, error handler, escaped
 * JSON and headers): start one (POST, same-origin Origin and token), read its progress and report,
 * cancel it, download its report and heap snapshots, and the report page. A test runs either in
 * process (`app.inject`, any method) or driven by the page (`fetch` with the page's credentials,
 * GET and HEAD), the server forcing GCs and reading the heap between the page's calls
 * (docs/leaks.md, "From the toolbar").
 */
import { randomBytes } from 'node:crypto'
import { createReadStream, existsSync, mkdtempSync, statSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import type { FastifyInstance, FastifyReply, FastifyRequest, InjectOptions } from 'fastify'
import { gcTracker } from '../capture/gc-tracker.ts'
import { FST_DEBUG_TOOLBAR_BAD_LEAK_TEST, FST_DEBUG_TOOLBAR_BAD_TOKEN, FST_DEBUG_TOOLBAR_LEAK_TEST_BUSY, FST_DEBUG_TOOLBAR_LEAK_TEST_METHOD, FST_DEBUG_TOOLBAR_LEAK_TEST_STATE, FST_DEBUG_TOOLBAR_UNKNOWN_LEAK_TEST } from '../errors.ts'
import { newId } from '../id.ts'
import type { LeakTestEntry, LeakTestStore } from '../leak-test-store.ts'
import { MAX_CALLS, MIN_CALLS } from '../leak/options.ts'
import { leakTestRunning, runLeakTest, type LeakDriver } from '../leak/run.ts'
import type { LeakTicket } from '../leak/ticket.ts'
import { leakTestContext } from '../panels/leak-test.ts'
import { LEAK_TEST_HEADER, TOKEN_HEADER } from '../protocol.ts'
import type { RequestRecord } from '../record/types.ts'
import { getRoute } from './get-route.ts'

/** What the leak-test routes need from the toolbar's routes scope. */
export interface LeakTestRoutesDeps {
  prefix: string
  tests: LeakTestStore
  ticket: LeakTicket
  /** Requests of the app in flight right now. */
  inFlight: () => number
  /** A stored request record (throws the coded 404). */
  lookup: (id: string) => Promise<RequestRecord>
  sameOrigin: (request: FastifyRequest) => Promise<void>
  checkToken: (request: FastifyRequest) => void
  /** Whether `given` is the leak-test key of stored request `id` (PanelEnv.leakKey). */
  checkLeakKey: (id: string, given: unknown) => boolean
  render: (reply: FastifyReply, page: string, data: object) => FastifyReply
}

/** Methods the API repeats; the page repeats only the first two. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])
const PAGE_METHODS = new Set(['GET', 'HEAD'])
/** Longest URL a test repeats, in characters. */
const MAX_URL_LENGTH = 2048
/** How long a page-driven test waits for the page's next call before failing, ms. */
export const PAGE_CALL_TIMEOUT_MS = 60_000

/** What a page-driven test tells the page after each step. */
export interface StepAnswer {
  action: 'call' | 'done' | 'failed' | 'cancelled' | 'superseded'
  progress?: LeakTestEntry['progress']
}

/**
 * The server's side of a page-driven test: the runner's `call()` asks the page (through the answer
 * to its pending step POST) for one call, and resolves with the status the page's next step reports.
 */
class PageDriver {
  private want: { resolve: (status: number) => void, reject: (err: Error) => void, timer: NodeJS.Timeout, sent: boolean } | undefined
  private waiter: ((a: StepAnswer) => void) | undefined
  private ended: StepAnswer | undefined
  private readonly entry: LeakTestEntry

  constructor (entry: LeakTestEntry) {
    this.entry = entry
  }

  readonly call = (): Promise<number> => new Promise((resolve, reject) => {
    if (this.ended !== undefined) {
      reject(new Error('the test has ended'))
      return
    }
    const timer = setTimeout(() => {
      this.want = undefined
      reject(new Error(`the page made no call for ${PAGE_CALL_TIMEOUT_MS / 1000} s (closed or navigated away)`))
    }, PAGE_CALL_TIMEOUT_MS)
    this.want = { resolve, reject, timer, sent: false }
    this.tell({ action: 'call' })
  })

  /** The page's step: the status of the call it just made (if any); answers with what to do next. */
  step (status: number | undefined): Promise<StepAnswer> {
    if (this.ended !== undefined) return Promise.resolve(this.ended)
    return new Promise((resolve) => {
      this.waiter?.({ action: 'superseded' })
      this.waiter = resolve
      const w = this.want
      if (w === undefined) return
      if (w.sent && status !== undefined) {
        this.want = undefined
        clearTimeout(w.timer)
        w.resolve(status)
      } else if (!w.sent) {
        this.tell({ action: 'call' })
      }
    })
  }

  /** The run ended: answer the pending step, fail a pending call. */
  end (answer: StepAnswer, reason?: Error): void {
    this.ended = answer
    const w = this.want
    this.want = undefined
    if (w !== undefined) {
      clearTimeout(w.timer)
      w.reject(reason ?? new Error('the test has ended'))
    }
    this.tell(answer)
  }

  private tell (a: StepAnswer): void {
    const r = this.waiter
    if (r === undefined) return
    this.waiter = undefined
    if (a.action === 'call' && this.want !== undefined) this.want.sent = true
    r({ ...a, progress: this.entry.progress })
  }
}

interface Active { id: string, controller: AbortController, page?: PageDriver }

interface StartBody {
  requestId?: unknown
  key?: unknown
  method?: unknown
  url?: unknown
  headers?: unknown
  payload?: unknown
  calls?: unknown
  snapshots?: unknown
}

/** A form's text fields as the JSON body would have them. */
function fromForm (body: unknown): StartBody {
  if (body === null || typeof body !== 'object') return {}
  const { token: _token, calls, snapshots, ...rest } = body as Record<string, unknown>
  return {
    ...rest,
    ...(calls === undefined || calls === '' ? {} : { calls: /^\d+$/.test(String(calls)) ? Number(calls) : calls }),
    ...(snapshots === undefined ? {} : { snapshots: snapshots === 'true' || snapshots === 'on' })
  }
}

/** This process, as entries name the process that runs them. */
const PROCESS = Object.freeze({ pid: process.pid, hostname: hostname() })

/** `process 123 on host` for a test's process, or this one. */
function processName (e?: LeakTestEntry): string {
  const p = e?.process ?? PROCESS
  return `process ${p.pid} on ${p.hostname}`
}

/** A test as clients see it: everything but where its files are. */
export function publicEntry (e: LeakTestEntry): Omit<LeakTestEntry, 'snapshotDir'> {
  const { snapshotDir: _dir, ...rest } = e
  return rest
}

/** The leak-test routes (see the module comment). */
export async function leakTestRoutes (app: FastifyInstance, deps: LeakTestRoutesDeps): Promise<void> {
  const { prefix, tests, ticket } = deps
  let active: Active | undefined
  /** The ticket a page-driven test's calls carry, by test id (while it runs). */
  const pageTickets = new Map<string, string>()

  async function find (id: string): Promise<LeakTestEntry> {
    const e = await tests.get(id)
    if (e === undefined) throw new FST_DEBUG_TOOLBAR_UNKNOWN_LEAK_TEST(id.slice(0, 64), tests.max)
    return e
  }

  /** A running test this process does not run (another process's, read from the shared store): why it cannot be acted on here. */
  function runsElsewhere (e: LeakTestEntry, what: string): void {
    if (e.status === 'running' && active?.id !== e.id) throw new FST_DEBUG_TOOLBAR_LEAK_TEST_STATE(e.id, `it runs in ${processName(e)}, not in the process that answered (${processName()}); ${what} there`)
  }

  function links (e: LeakTestEntry): { url: string, page: string } {
    return { url: `${prefix}/api/leak-tests/${e.id}`, page: `${prefix}/leak-tests/${e.id}` }
  }

  function refuseIfBusy (): void {
    if (active !== undefined || leakTestRunning()) throw new FST_DEBUG_TOOLBAR_LEAK_TEST_BUSY('another leak test is running in this process')
    const n = deps.inFlight()
    if (n > 0) throw new FST_DEBUG_TOOLBAR_LEAK_TEST_BUSY(`${n} other request${n === 1 ? ' is' : 's are'} in flight; their memory would be counted`)
  }

  function start (entry: LeakTestEntry, request: InjectOptions, page: PageDriver | undefined): void {
    // First, so that a failing temp folder leaves nothing marked as running.
    if (entry.snapshots) entry.snapshotDir = mkdtempSync(join(tmpdir(), 'fastify-debug-toolbar-leak-'))
    const controller = new AbortController()
    const value = randomBytes(24).toString('base64url')
    active = { id: entry.id, controller, ...(page === undefined ? {} : { page }) }
    ticket.value = value
    ticket.route = undefined
    const marked: InjectOptions = { ...request, headers: { ...request.headers, [LEAK_TEST_HEADER]: value } }
    // The app is serving already, and avvio refuses ready() on an encapsulated instance from inside a
    // request: the runner gets this scope with a ready() that resolves at once (inject is shared).
    const serving = Object.create(app, { ready: { value: async () => app } }) as FastifyInstance
    const driver: LeakDriver = {
      unrecorded: true,
      isOwn: (m) => (m as { request?: { headers?: Record<string, unknown> } }).request?.headers?.[LEAK_TEST_HEADER] === value,
      // The toolbar's GC tracker keeps every GC for a while: forgetting the run's own before each
      // call keeps them out of the readings (docs/leaks.md).
      call: async () => {
        gcTracker.forget(performance.now())
        return page === undefined ? (await serving.inject(marked)).statusCode : await page.call()
      }
    }
    tests.add(entry)
    // The page sends the ticket back with every call and step; the entry never holds it.
    if (page !== undefined) pageTickets.set(entry.id, value)
    runLeakTest(serving, marked, {
      calls: entry.calls,
      snapshots: entry.snapshots,
      ...(entry.snapshotDir === undefined ? {} : { snapshotDir: entry.snapshotDir }),
      keepSnapshots: true,
      signal: controller.signal,
      inFlight: deps.inFlight,
      onProgress: (p) => { entry.progress = p }
    }, driver).then((report) => {
      entry.status = 'done'
      entry.report = report
    }, (err: unknown) => {
      entry.status = controller.signal.aborted ? 'cancelled' : 'failed'
      entry.error = controller.signal.aborted ? 'cancelled' : (err instanceof Error ? err.message : String(err))
    }).finally(() => {
      if (ticket.route !== undefined) entry.route = ticket.route
      ticket.value = undefined
      ticket.route = undefined
      entry.finishedAt = Date.now()
      active = undefined
      pageTickets.delete(entry.id)
      page?.end({ action: entry.status === 'done' ? 'done' : (entry.status === 'cancelled' ? 'cancelled' : 'failed') })
      tests.finished(entry)
    })
  }

  app.addHook('onClose', async function stopLeakTests () {
    active?.controller.abort(new Error('the app is closing'))
    active?.page?.end({ action: 'cancelled' })
    tests.clear()
  })

  app.post<{ Body: StartBody }>('/api/leak-tests', { onRequest: deps.sameOrigin }, async function startLeakTest (request, reply) {
    // The Memory panel's button brings the request's key instead of the token, which stays off the app's pages.
    const json = request.body as StartBody | null
    const byKey = typeof json === 'object' && json !== null && typeof json.requestId === 'string' && json.key !== undefined && request.headers[TOKEN_HEADER] === undefined
    if (!byKey) deps.checkToken(request)
    else if (!deps.checkLeakKey(json.requestId as string, json.key)) throw new FST_DEBUG_TOOLBAR_BAD_TOKEN()
    // The Routes view's form (fields are text; it gets a 303 to the report page), or JSON.
    const form = !byKey && request.headers[TOKEN_HEADER] === undefined
    const body = form ? fromForm(request.body) : request.body
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new FST_DEBUG_TOOLBAR_BAD_LEAK_TEST('body', 'expected a JSON object such as {"method":"GET","url":"/users","calls":30}')
    const calls = body.calls ?? 30
    if (typeof calls !== 'number' || !Number.isInteger(calls) || calls < MIN_CALLS || calls > MAX_CALLS) throw new FST_DEBUG_TOOLBAR_BAD_LEAK_TEST('calls', `expected an integer from ${MIN_CALLS} to ${MAX_CALLS}, got ${JSON.stringify(calls)}`)
    const snapshots = body.snapshots ?? true
    if (typeof snapshots !== 'boolean') throw new FST_DEBUG_TOOLBAR_BAD_LEAK_TEST('snapshots', 'expected true or false')

    let inject: InjectOptions
    let page: PageDriver | undefined
    let entry: LeakTestEntry
    if (body.requestId !== undefined) {
      // The Memory panel's button: the page repeats a stored GET or HEAD request itself.
      if (typeof body.requestId !== 'string') throw new FST_DEBUG_TOOLBAR_BAD_LEAK_TEST('requestId', 'expected a stored request id')
      const r = await deps.lookup(body.requestId)
      if (!PAGE_METHODS.has(r.method)) throw new FST_DEBUG_TOOLBAR_LEAK_TEST_METHOD(r.method)
      refuseIfBusy()
      inject = { method: r.method as 'GET', url: r.url }
      entry = { id: newId(), status: 'running', source: 'page', request: { method: r.method, url: r.url }, route: r.route, calls, snapshots, startedAt: Date.now(), process: PROCESS }
      page = new PageDriver(entry)
    } else {
      const method = typeof body.method === 'string' ? body.method.toUpperCase() : (body.method === undefined ? 'GET' : '')
      if (!METHODS.has(method)) throw new FST_DEBUG_TOOLBAR_BAD_LEAK_TEST('method', `expected one of ${[...METHODS].join(', ')}`)
      const url = body.url
      if (typeof url !== 'string' || !url.startsWith('/') || url.startsWith('//') || url.length > MAX_URL_LENGTH) throw new FST_DEBUG_TOOLBAR_BAD_LEAK_TEST('url', `expected a path on this server starting with "/", at most ${MAX_URL_LENGTH} characters`)
      if (url === prefix || url.startsWith(`${prefix}/`) || url.startsWith(`${prefix}?`)) throw new FST_DEBUG_TOOLBAR_BAD_LEAK_TEST('url', 'the toolbar\'s own routes are not tested')
      const headers = body.headers ?? {}
      if (headers === null || typeof headers !== 'object' || Array.isArray(headers) || !Object.values(headers).every((v) => typeof v === 'string')) throw new FST_DEBUG_TOOLBAR_BAD_LEAK_TEST('headers', 'expected an object of header names to string values')
      const payload = body.payload
      if (payload !== undefined && (payload === null || (typeof payload !== 'string' && typeof payload !== 'object'))) throw new FST_DEBUG_TOOLBAR_BAD_LEAK_TEST('payload', 'expected a string, or an object or array sent as JSON')
      refuseIfBusy()
      // The headers are used for the run only: the entry and the report keep method and URL.
      inject = { method: method as 'GET', url, headers: headers as Record<string, string>, ...(payload === undefined ? {} : { payload: payload as string }) }
      entry = { id: newId(), status: 'running', source: 'api', request: { method, url }, calls, snapshots, startedAt: Date.now(), process: PROCESS }
    }
    start(entry, inject, page)
    if (form) return reply.redirect(links(entry).page, 303)
    reply.code(202)
    return { id: entry.id, status: entry.status, ...links(entry), ...(page === undefined ? {} : { request: entry.request, ticket: pageTickets.get(entry.id) ?? '', header: LEAK_TEST_HEADER, step: `${prefix}/api/leak-tests/${entry.id}/step` }) }
  })

  getRoute(app, '/api/leak-tests', {}, async function listLeakTests () {
    return (await tests.list()).map((e) => ({ id: e.id, status: e.status, source: e.source, request: e.request, route: e.route, calls: e.calls, startedAt: e.startedAt, finishedAt: e.finishedAt, process: e.process, verdict: e.report?.verdict, summary: e.report?.summary, ...links(e) }))
  })

  getRoute<{ Params: { id: string } }>(app, '/api/leak-tests/:id', {}, async function getLeakTest (request) {
    const e = await find(request.params.id)
    return { ...publicEntry(e), ...links(e) }
  })

  app.post<{ Params: { id: string } }>('/api/leak-tests/:id/cancel', { onRequest: deps.sameOrigin }, async function cancelLeakTest (request) {
    const e = await find(request.params.id)
    // The token, or the ticket of a page-driven test (the page that started it holds no token).
    const ticketValue = pageTickets.get(e.id)
    if (ticketValue === undefined || request.headers[LEAK_TEST_HEADER] !== ticketValue) deps.checkToken(request)
    runsElsewhere(e, 'cancel it')
    if (e.status !== 'running' || active?.id !== e.id) throw new FST_DEBUG_TOOLBAR_LEAK_TEST_STATE(e.id, `it is ${e.status}, not running`)
    const reason = new Error('cancelled')
    active.controller.abort(reason)
    active.page?.end({ action: 'cancelled' }, reason)
    return { id: e.id, status: 'cancelling' }
  })

  // Authorised by the run's ticket, given only to the page that started the test.
  app.post<{ Params: { id: string }, Body: { status?: unknown } | null }>('/api/leak-tests/:id/step', { onRequest: deps.sameOrigin }, async function pageStep (request) {
    const e = await find(request.params.id)
    if (e.source !== 'page') throw new FST_DEBUG_TOOLBAR_LEAK_TEST_STATE(e.id, 'it repeats its request in process; only a page-driven test takes steps')
    runsElsewhere(e, 'send its steps')
    if (e.status !== 'running' || active?.page === undefined || active.id !== e.id) return { action: e.status === 'running' ? 'failed' : e.status, progress: e.progress }
    if (request.headers[LEAK_TEST_HEADER] !== pageTickets.get(e.id)) throw new FST_DEBUG_TOOLBAR_LEAK_TEST_STATE(e.id, `a step must carry the test's ticket in the ${LEAK_TEST_HEADER} header`)
    const status = request.body?.status
    return await active.page.step(typeof status === 'number' && Number.isInteger(status) ? status : undefined)
  })

  getRoute<{ Params: { id: string } }>(app, '/api/leak-tests/:id/report.json', {}, async function downloadReport (request, reply) {
    const e = await find(request.params.id)
    if (e.report === undefined) throw new FST_DEBUG_TOOLBAR_LEAK_TEST_STATE(e.id, `it is ${e.status}: there is no report`)
    reply.header('content-disposition', `attachment; filename="leak-test-${e.id}.json"`)
    return e.report
  })

  getRoute<{ Params: { id: string, which: string } }>(app, '/api/leak-tests/:id/:which', {}, async function downloadSnapshot (request, reply) {
    const e = await find(request.params.id)
    const which = request.params.which
    if (which !== 'before.heapsnapshot' && which !== 'after.heapsnapshot') throw new FST_DEBUG_TOOLBAR_BAD_LEAK_TEST('file', 'expected report.json, before.heapsnapshot or after.heapsnapshot')
    const path = e.snapshotDir === undefined ? undefined : join(e.snapshotDir, which)
    // Read from the shared store: the files are on the disk of the process that ran the test.
    if (path === undefined && e.report?.snapshots.kept === true && e.report.snapshots.status === 'taken') throw new FST_DEBUG_TOOLBAR_LEAK_TEST_STATE(e.id, `its ${which} is on the disk of ${processName(e)}, which ran it, not of the process that answered (${processName()}); download it from that process`)
    if (e.status !== 'done' || path === undefined || !existsSync(path)) throw new FST_DEBUG_TOOLBAR_LEAK_TEST_STATE(e.id, e.status === 'running' ? 'it is still running' : `it kept no ${which} (${e.report?.snapshots.message ?? (e.snapshots ? 'the snapshot was not taken' : 'snapshots were turned off')})`)
    reply.header('content-disposition', `attachment; filename="leak-test-${e.id}-${which}"`)
    reply.header('content-length', statSync(path).size)
    return reply.type('application/octet-stream').send(createReadStream(path))
  })

  getRoute<{ Params: { id: string } }>(app, '/leak-tests/:id', {}, async function leakTestPage (request, reply) {
    const e = await find(request.params.id)
    return deps.render(reply, 'leak-test', { ctx: leakTestContext(publicEntry(e), prefix, { here: tests.mine(e.id), serving: processName() }), prefix })
  })
}
