/**
 * fastify-debug-toolbar, the in-page part. Plain ES modules (no build step, no framework): this one is
 * loaded by the <script data-debug-toolbar> tag the plugin injects before </body> and imports the rest.
 *
 * Everything lives in an open Shadow DOM on one host element, so the page's CSS cannot reach the
 * toolbar and ours cannot reach the page. No inline script, no style attribute: it runs under a
 * strict CSP with nonces. Every failure is caught and shown inside the toolbar, never thrown at the page.
 */
/* global Element, HTMLElement, HTMLFormElement, HTMLInputElement */
import { createClient, pageFetch } from './client.js'
import { cssEscape, h, messageOf } from './dom.js'
import { createDrawer } from './drawer.js'
import { isMode, modeSwitches, toggleMode } from './modes.js'
import { PageRequests, statusClass, watchFetch, watchXhr } from './page-requests.js'
import { sparkline, sparklineLabel } from './sparkline.js'

/** localStorage key remembering whether the bar is expanded ('1') or collapsed ('0'). */
const EXPANDED_KEY = 'fdt-expanded'
/** The Server-Timing entry naming the page's record (protocol.ts ID_TIMING_ENTRY). */
const ID_TIMING_ENTRY = 'debug-toolbar'
/** How long a status message stays in the bar, in ms. */
const STATUS_MS = 8000
/** After the page's own fetch/XHR calls, the sparkline is fetched again at most this often, in ms. */
const SPARK_REFRESH_MS = 2000

const script = document.querySelector('script[data-debug-toolbar]')
if (script !== null && document.querySelector('fdt-toolbar') === null) {
  try {
    start(script)
  } catch (err) {
    console.warn('fastify-debug-toolbar: could not start', err)
  }
}

/**
 * The record id and heap delta of the request that served this page, from the navigation's
 * Server-Timing entries (the injected tag is the same for every request, so it carries neither).
 */
function pageTiming () {
  const nav = performance.getEntriesByType?.('navigation')?.[0]
  const entries = Array.isArray(nav?.serverTiming) ? nav.serverTiming : []
  const id = entries.find((e) => e.name === ID_TIMING_ENTRY)?.description ?? ''
  const memory = entries.find((e) => e.name === 'memory')?.description ?? ''
  return { id, subtitle: /^heap (\S+)/.exec(memory)?.[1] ?? '' }
}

/**
 * Without Server-Timing in the page (not a secure context, or a page from the browser's cache),
 * the newest record of a GET for this URL, asked of the toolbar's API; '' when there is none.
 */
async function newestRecordOfPage (prefix) {
  const list = await createClient(prefix).getJson('/api/requests', false)
  const here = window.location.pathname + window.location.search
  const records = Array.isArray(list) ? list.filter((r) => r?.method === 'GET') : []
  const match = records.find((r) => r.url === here) ?? records.find((r) => String(r.url).split('?')[0] === window.location.pathname)
  return typeof match?.id === 'string' ? match.id : ''
}

/** Read the script tag and the page's Server-Timing, build the UI, start watching the page's requests. */
function start (el) {
  const timing = pageTiming()
  const config = {
    id: timing.id,
    prefix: el.dataset.prefix ?? '/__debug',
    subtitle: timing.subtitle,
    nonce: el.nonce ?? '',
    // The server says "off" when allocation sampling is off: the Sample switch would do nothing.
    sampling: el.dataset.sampling !== 'off'
  }
  if (pageFetch === undefined) return
  if (config.id !== '') {
    run(config)
    return
  }
  newestRecordOfPage(config.prefix).then((id) => {
    if (id !== '') run({ ...config, id })
  }, (err) => {
    console.warn('fastify-debug-toolbar: could not find this page\'s record', err)
  })
}

function run (config) {
  const toolbar = createToolbar(config)
  watchFetch((id, url) => toolbar.observe(id, url, 'fetch'))
  watchXhr((id, url) => toolbar.observe(id, url, 'xhr'))
  if (document.body === null) {
    document.addEventListener('DOMContentLoaded', () => toolbar.mount(), { once: true })
  } else {
    toolbar.mount()
  }
}

// The toolbar.

function createToolbar ({ id, prefix, subtitle, nonce, sampling }) {
  const state = {
    /** The record the bar and panels show. */
    currentId: id,
    /** The last /requests/:id/toolbar answer for currentId. */
    nav: undefined,
    /** Bumped on every nav load, so a slow answer for an older record is dropped. */
    navToken: 0,
    expanded: readExpanded(),
    /** The page's own request first, then the fetch/XHR calls that carried a record id. */
    requests: new PageRequests(id, subtitle, prefix),
    statusTimer: undefined,
    /** Pending sparkline refresh after the page's own requests. */
    sparkTimer: undefined
  }

  const client = createClient(prefix)

  const host = document.createElement('fdt-toolbar')
  host.setAttribute('data-fdt-toolbar', '')
  const shadow = host.attachShadow({ mode: 'open' })

  const link = h('link', { rel: 'stylesheet', href: `${prefix}/static/toolbar.css` })
  if (nonce !== '') link.nonce = nonce

  const handleSub = h('span', { class: 'fdt-handle-sub' }, subtitle)
  const handleSparkText = h('span', { class: 'fdt-sr' })
  const handleSpark = h('span', { class: 'fdt-spark-box', hidden: true }, handleSparkText)
  const handleBadge = h('span', { class: 'fdt-badge', hidden: true })
  const handle = h('button', {
    type: 'button',
    class: 'fdt-handle',
    'data-action': 'toggle',
    'aria-controls': 'fdt-bar',
    'aria-expanded': 'false',
    title: 'fastify-debug-toolbar: show or hide the bar'
  }, h('span', { class: 'fdt-logo', 'aria-hidden': 'true' }, 'FDT'), h('span', { class: 'fdt-sr' }, 'Debug toolbar, heap delta '), handleSub, handleSpark, handleBadge)

  const currentMethod = h('span', { class: 'fdt-method' })
  const currentUrl = h('span', { class: 'fdt-current-url' })
  const currentStatus = h('span', { class: 'fdt-code' })
  const currentBadge = h('span', { class: 'fdt-badge', hidden: true })
  const current = h('button', {
    type: 'button',
    class: 'fdt-current',
    'data-open-panel': 'history',
    'aria-controls': 'fdt-drawer',
    'aria-expanded': 'false',
    title: 'The request shown. Open History to switch to another one.'
  }, currentMethod, currentUrl, currentStatus, currentBadge)

  const nav = h('nav', { class: 'fdt-nav', 'aria-label': 'Debug toolbar panels' })
  // One box, so a narrow window wraps the switches together.
  const modes = h('div', { class: 'fdt-modes', role: 'group', 'aria-label': 'Modes of the next requests' },
    ...modeSwitches(sampling))
  const status = h('p', { class: 'fdt-status', role: 'status' })
  const bar = h('div', { class: 'fdt-bar', id: 'fdt-bar', hidden: true }, current, nav, modes, status)

  const alert = h('p', { class: 'fdt-alert', role: 'alert', hidden: true })
  const row = h('div', { class: 'fdt-row' }, handle, bar)
  const drawer = createDrawer({
    prefix,
    nonce,
    client,
    requests: state.requests,
    shownId: () => state.currentId,
    summaryOf,
    titleOf: panelTitle,
    onToggle: () => {
      root.classList.toggle('fdt-open', drawer.openPanel !== undefined)
      syncExpandedButtons()
    }
  })
  const dock = h('div', { class: 'fdt-dock' }, drawer.element, alert, row)
  // Hidden until the stylesheet has loaded, so the page never sees the toolbar unstyled.
  const root = h('div', { class: 'fdt-root', hidden: true }, dock)
  shadow.append(link, root)

  link.addEventListener('load', () => { root.hidden = false }, { once: true })
  link.addEventListener('error', () => {
    root.hidden = false
    // CSSOM, allowed under CSP: keep the handle in a corner even without our stylesheet.
    Object.assign(dock.style, { position: 'fixed', right: '0', bottom: '0', zIndex: '2147483000', background: '#fff' })
    showAlert(`Could not load ${prefix}/static/toolbar.css`)
  }, { once: true })

  root.addEventListener('click', onClick)
  root.addEventListener('keydown', onKeydown)
  root.addEventListener('submit', onSubmit)
  root.addEventListener('change', onChange)

  function mount () {
    document.body.append(host)
    setExpanded(state.expanded, false)
    loadNav()
    loadSparkline()
  }

  // Events: one listener per container.

  function onClick (event) {
    const target = event.target instanceof Element ? event.target.closest('[data-action], [data-open-panel], [data-switch]') : null
    if (target === null) return
    try {
      if (target.hasAttribute('data-switch')) {
        switchTo(target.getAttribute('data-switch') ?? '')
        return
      }
      if (target.hasAttribute('data-open-panel')) {
        const panel = target.getAttribute('data-open-panel') ?? ''
        if (drawer.openPanel === panel) closePanel(true)
        else openPanel(panel, target)
        return
      }
      const action = target.getAttribute('data-action')
      if (action === 'toggle') setExpanded(!state.expanded, true)
      else if (action === 'close') closePanel(true)
      else if (isMode(action)) say(toggleMode(target, action))
      else if (action === 'dismiss') hideAlert()
      else if (action === 'flamegraph') drawer.toggleFlameGraph(target)
      else if (action === 'leak-test' || action === 'leak-cancel') leakAction(action, target)
    } catch (err) {
      showAlert(messageOf(err))
    }
  }

  /** The Memory panel's *Test for leaks* and Cancel buttons (static/leak-test.js, loaded when first used). */
  function leakAction (action, target) {
    const container = target.closest('[data-fdt-leak]')
    if (container === null) return
    import('./leak-test.js')
      .then((m) => action === 'leak-test' ? m.startLeakTest(container, { prefix, fetchFn: pageFetch }) : m.cancelLeakTest(container, { prefix }))
      .catch((err) => { showAlert(messageOf(err)) })
  }

  function onKeydown (event) {
    if (event.key !== 'Escape' || event.defaultPrevented) return
    if (drawer.openPanel !== undefined) {
      closePanel(true)
      event.preventDefault()
    } else if (state.expanded) {
      setExpanded(false, true)
      handle.focus()
      event.preventDefault()
    }
  }

  /** A panel's form (the Memory panel's group-by and filters) reloads the panel with its query. */
  function onSubmit (event) {
    const form = event.target
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute('data-fdt-panel-form') || drawer.openPanel === undefined) return
    event.preventDefault()
    drawer.submit(form, shadow.activeElement)
  }

  /** Choosing a group applies at once. */
  function onChange (event) {
    const input = event.target
    if (input instanceof HTMLInputElement && input.type === 'radio' && input.form?.hasAttribute('data-fdt-panel-form')) input.form.requestSubmit()
  }

  // Bar.

  function setExpanded (expanded, remember) {
    state.expanded = expanded
    bar.hidden = !expanded
    root.classList.toggle('fdt-expanded', expanded)
    handle.setAttribute('aria-expanded', String(expanded))
    if (!expanded && drawer.openPanel !== undefined) closePanel(false)
    if (remember) writeExpanded(expanded)
  }

  async function loadNav () {
    const token = ++state.navToken
    const forId = state.currentId
    try {
      const data = await client.getJson(`/requests/${encodeURIComponent(forId)}/toolbar`, true)
      if (token !== state.navToken) return
      state.nav = data
      state.requests.update(forId, data)
      renderNav()
      hideAlert()
    } catch (err) {
      if (token !== state.navToken) return
      state.nav = undefined
      renderNav()
      showAlert(messageOf(err))
    }
  }

  /** The heap's last minute beside the delta; left out quietly when it cannot be had. */
  async function loadSparkline () {
    state.sparkTimer = undefined
    try {
      const data = await client.getJson('/api/sparkline', false)
      const svg = sparkline(data)
      if (svg === undefined) return
      const label = sparklineLabel(data)
      handleSparkText.textContent = `, ${label}`
      handleSpark.title = label
      handleSpark.querySelector('svg')?.remove()
      handleSpark.prepend(svg)
      handleSpark.hidden = false
    } catch {}
  }

  function renderNav () {
    const data = state.nav
    const panels = Array.isArray(data?.panels) ? data.panels : []
    nav.replaceChildren(...panels.map((p) => h('button', {
      type: 'button',
      class: 'fdt-nav-item',
      'data-open-panel': String(p.id),
      'aria-controls': 'fdt-drawer',
      'aria-expanded': String(drawer.openPanel === p.id)
    }, h('span', { class: 'fdt-nav-title' }, String(p.title)), h('span', { class: 'fdt-nav-sub' }, String(p.subtitle)))))
    const memory = panels.find((p) => p.id === 'memory')
    if (memory !== undefined) handleSub.textContent = String(memory.subtitle)
    if (data !== undefined) {
      currentMethod.textContent = String(data.method)
      currentUrl.textContent = String(data.url)
      currentStatus.textContent = String(data.statusCode)
      currentStatus.className = `fdt-code ${statusClass(data.statusCode)}`
    }
    current.hidden = data === undefined
    root.classList.toggle('fdt-switched', state.currentId !== id)
    current.title = state.currentId === id
      ? 'The request shown: this page. Open History to switch to another one.'
      : 'The request shown: not this page but a later request. Open History to switch back.'
    syncExpandedButtons()
  }

  function syncExpandedButtons () {
    for (const b of root.querySelectorAll('[data-open-panel]')) {
      if (b.closest('.fdt-drawer-body') !== null) continue
      b.setAttribute('aria-expanded', String(drawer.openPanel === b.getAttribute('data-open-panel')))
    }
  }

  // Panels.

  /** Open a panel in the drawer, expanding the bar first; `opener` gets focus back on close. */
  function openPanel (panel, opener) {
    if (!state.expanded) setExpanded(true, true)
    drawer.open(panel, opener)
  }

  function closePanel (restoreFocus) {
    const closed = drawer.close()
    if (closed === undefined || !restoreFocus) return
    // The button that opened it, or the panel's nav button once a re-render replaced that one.
    let back = closed.opener
    if (!(back instanceof HTMLElement) || !back.isConnected) back = nav.querySelector(`[data-open-panel="${cssEscape(closed.panel)}"]`)
    if (back instanceof HTMLElement && !bar.hidden) back.focus()
    else handle.focus()
  }

  function panelTitle (panel) {
    const p = state.nav?.panels?.find((x) => x.id === panel)
    return p === undefined ? panel.charAt(0).toUpperCase() + panel.slice(1) : String(p.title)
  }

  // The page's requests.

  /** A same-origin response carried a record id: list it and fetch its summary. */
  function observe (recordId, url, source) {
    const entry = state.requests.add(recordId, url, source)
    if (entry === undefined) return
    renderRequests(true)
    if (state.sparkTimer === undefined) state.sparkTimer = setTimeout(loadSparkline, SPARK_REFRESH_MS)
    client.getJson(`/requests/${encodeURIComponent(recordId)}/toolbar`, true).then((data) => {
      state.requests.update(recordId, data)
      renderRequests(false)
    }, (err) => {
      entry.error = messageOf(err)
      entry.subtitle = '?'
      renderRequests(false)
    })
  }

  /** 'GET /path · 200' for a record, from the page's list or the nav; '' while unknown. */
  function summaryOf (recordId) {
    const entry = state.requests.find(recordId)
    if (entry !== undefined && entry.method !== '') return describe(entry)
    return state.nav?.id === recordId ? describe(state.nav) : ''
  }

  function renderRequests (arrived) {
    const count = state.requests.count
    for (const badge of [handleBadge, currentBadge]) {
      badge.hidden = count === 0
      badge.textContent = String(count)
      badge.title = `${count} request${count === 1 ? '' : 's'} made by this page since it loaded`
      if (arrived) {
        badge.classList.remove('fdt-pulse')
        // Restart the animation: a layout read between removing and adding the class.
        badge.getBoundingClientRect()
        badge.classList.add('fdt-pulse')
      }
    }
    drawer.refreshRequests()
  }

  /** Show another record in the bar and in the open panel. */
  function switchTo (recordId) {
    if (recordId === '' || recordId === state.currentId) return
    state.currentId = recordId
    // The clicked button is about to be replaced; focus then goes to the drawer, not to the page.
    const hadFocus = shadow.activeElement !== null
    loadNav().then(() => {
      drawer.refreshSummary()
      renderRequests(false)
      const summary = summaryOf(state.currentId)
      say(summary === '' ? 'Switched the toolbar to another request.' : `The toolbar now shows ${summary}.`)
    })
    drawer.switchRecord(hadFocus, () => shadow.activeElement !== null)
  }

  // Messages.

  function say (text) {
    status.textContent = text
    clearTimeout(state.statusTimer)
    state.statusTimer = setTimeout(() => { status.textContent = '' }, STATUS_MS)
  }

  function showAlert (text) {
    alert.replaceChildren(h('span', {}, `Debug toolbar: ${text}`), h('button', { type: 'button', class: 'fdt-dismiss', 'data-action': 'dismiss', 'aria-label': 'Dismiss' }, '×'))
    alert.hidden = false
  }

  function hideAlert () {
    alert.hidden = true
    alert.replaceChildren()
  }

  return { mount, observe }
}

// Helpers.

function readExpanded () {
  try {
    return window.localStorage.getItem(EXPANDED_KEY) === '1'
  } catch {
    return false
  }
}

function writeExpanded (expanded) {
  try {
    window.localStorage.setItem(EXPANDED_KEY, expanded ? '1' : '0')
  } catch {}
}

function describe (data) {
  if (data === undefined || data === null || data.method === '' || data.method === undefined) return ''
  return `${data.method} ${data.url} · ${data.statusCode}`
}
