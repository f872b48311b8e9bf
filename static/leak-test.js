/**
 * fastify-debug-toolbar, the Memory panel's *Test for leaks* button. The page repeats the request
 * itself (`fetch`, same origin, the page's cookies) while the server coordinates: each step POST
 * reports the last call's status and waits until the server has forced its GCs and read the heap,
 * then says whether to call again. Calls carry the test's ticket, so the toolbar records none of
 * them. docs/leaks.md ("From the toolbar") describes the protocol.
 */
import { h, messageOf, responseError } from './dom.js'

const PHASES = { 'warm-up': 'warm-up call', calls: 'call', snapshot: 'heap snapshot', sampling: 'sampler call', analysis: 'analysing the snapshots' }

/** Running tests by their container, so that Cancel finds its test. */
const running = new WeakMap()

/**
 * Start a leak test of the container's request (`[data-fdt-leak]`, holding the button and a status
 * line) and drive it to its end; `fetchFn` is the page's own fetch.
 */
export async function startLeakTest (container, { prefix, fetchFn }) {
  if (running.has(container)) return
  // The request's leak-test key starts a test of this request only; the run's ticket then authorises its steps.
  const key = container.getAttribute('data-key') ?? ''
  const requestId = container.getAttribute('data-request-id') ?? ''
  const button = container.querySelector('[data-action="leak-test"]')
  const cancel = container.querySelector('[data-action="leak-cancel"]')
  const status = container.querySelector('[data-leak-status]')
  const say = (...parts) => { status?.replaceChildren(...parts) }
  const post = async (url, body, extra = {}) => {
    const res = await fetchFn(url, { method: 'POST', credentials: 'same-origin', cache: 'no-store', headers: { 'content-type': 'application/json', accept: 'application/json', ...extra }, body: JSON.stringify(body) })
    if (!res.ok) throw await responseError(res)
    return res.json()
  }
  const state = { id: undefined, post, marked: {} }
  running.set(container, state)
  if (button !== null) button.disabled = true
  if (cancel !== null) cancel.hidden = false
  say('Starting the leak test…')
  try {
    const started = await post(`${prefix}/api/leak-tests`, { requestId, key })
    const { method, url } = started.request
    const marked = { [started.header]: started.ticket }
    state.id = started.id
    state.marked = marked
    let last
    for (;;) {
      const answer = await post(started.step, last === undefined ? {} : { status: last }, marked)
      if (answer.progress !== undefined) say(progressText(answer.progress))
      if (answer.action !== 'call') break
      const res = await fetchFn(url, { method, credentials: 'same-origin', cache: 'no-store', redirect: 'follow', headers: marked })
      // The whole body is read, as the page would.
      await res.arrayBuffer()
      last = res.status
    }
    const test = await (await fetchFn(`${prefix}/api/leak-tests/${encodeURIComponent(started.id)}`, { credentials: 'same-origin', cache: 'no-store', headers: { accept: 'application/json' } })).json()
    const link = h('a', { href: started.page, target: '_blank', rel: 'noopener', 'data-leak-report': test.status }, 'Open the report')
    if (test.status === 'done') say(h('strong', { 'data-verdict': test.report.verdict }, test.report.summary), '. ', test.report.types.length > 0 ? `Top type: ${test.report.types[0].name}. ` : '', link)
    else say(`The leak test ${test.status === 'cancelled' ? 'was cancelled' : `failed: ${test.error ?? 'see the report'}`}. `, link)
  } catch (err) {
    say(`The leak test could not run: ${messageOf(err)}`)
  } finally {
    running.delete(container)
    if (button !== null) button.disabled = false
    if (cancel !== null) cancel.hidden = true
  }
}

/** Cancel the container's running test (its pending step then answers `cancelled`). */
export async function cancelLeakTest (container, { prefix }) {
  const state = running.get(container)
  if (state?.id === undefined) return
  await state.post(`${prefix}/api/leak-tests/${encodeURIComponent(state.id)}/cancel`, {}, state.marked)
}

function progressText (p) {
  if (p.phase === 'analysis') return 'Analysing the heap snapshots…'
  return `Running: ${PHASES[p.phase] ?? p.phase} ${p.done} of ${p.total}`
}
