/**
 * fastify-debug-toolbar, the in-page part. A plain ES module (no build step, no framework) loaded by
 * the <script data-debug-toolbar> tag the plugin injects before </body>.
 *
 * Everything lives in an open Shadow DOM on one host element, so the page's CSS cannot reach the
 * toolbar and ours cannot reach the page. No inline script, no style attribute: it runs under a
 * strict CSP with nonces. Every failure is caught and shown inside the toolbar, never thrown at the page.
 */
/* global CSS, Element, HTMLElement, HTMLFormElement, HTMLInputElement, FormData, URLSearchParams */

/** Response header that carries a profiled request's record id. */
const ID_HEADER = 'x-debug-toolbar-id'
/**
 * The bar's mode switches, in bar order. Each sets a cookie (path=/, SameSite=Strict) that the server reads
 * on every later request from this browser: `fdt-precise=1` forces a GC at the start and end of the
 * request, `fdt-sample=1` asks for its allocation sites (the x-debug-toolbar-sample: 1 header's twin).
 */
const MODES = {
  precise: {
    cookie: 'fdt-precise=1',
    label: 'Precise',
    title: 'Precise mode: applies to the next request; forces three full GCs per request (about 5 ms each on a small heap)',
    description: 'Applies to the next request: forces full GCs before and after it (two before, one after) so the heap delta is what it retained. Costs three forced GCs, about 5 ms each on a small heap.',
    on: 'Precise mode on from the next request: it costs three forced GCs (about 5 ms each on a small heap) per request, and the heap delta becomes retained bytes.',
    off: 'Precise mode off from the next request.'
  },
  sample: {
    cookie: 'fdt-sample=1',
    label: 'Sample',
    title: 'Sample mode: applies from the next request; samples this browser\'s requests for allocation sites (needed in allocations.requests \'marked\' mode, and past the budget under load) at the sampler\'s cost on each',
    description: 'Applies from the next request: marks this browser\'s requests for allocation sampling, which an app registered with allocations.requests \'marked\' needs before it samples them, and which bypasses the sampling budget under load. Costs the sampler\'s overhead on each of those requests: tens of microseconds to read the profile with the native sampler, a forced full GC with the inspector one.',
    on: 'Sample mode on from the next request: this browser\'s requests get their allocation sites, in \'marked\' mode and over the budget too, each at the sampler\'s overhead.',
    off: 'Sample mode off from the next request: this browser\'s requests are sampled as allocations.requests says.'
  }
}
/** localStorage key remembering whether the bar is expanded ('1') or collapsed ('0'). */
const EXPANDED_KEY = 'fdt-expanded'
/** How many of the page's fetch/XHR requests the toolbar lists; older ones are dropped. */
const MAX_PAGE_REQUESTS = 100
/** Waits before retrying a record that is not stored yet (the response can beat onResponse), in ms. */
const RETRY_DELAYS_MS = [100, 300, 800]
/** How long a status message stays in the bar, in ms. */
const STATUS_MS = 8000
/** When a panel says its figures are not final yet (GCs still being reported), reload it once after this many ms. */
const REFRESH_WHEN_NOT_FINAL_MS = 400

/** The page's own fetch, captured before we wrap it: the toolbar's requests are never recorded. */
const pageFetch = typeof window.fetch === 'function' ? window.fetch.bind(window) : undefined

const script = document.querySelector('script[data-debug-toolbar]')
if (script !== null && document.querySelector('fdt-toolbar') === null) {
  try {
    start(script)
  } catch (err) {
    console.warn('fastify-debug-toolbar: could not start', err)
  }
}

/** Read the script tag, build the UI, start watching the page's requests. */
function start (el) {
  const config = {
    id: el.dataset.debugToolbar ?? '',
    prefix: el.dataset.prefix ?? '/__debug',
    subtitle: el.dataset.subtitle ?? '',
    nonce: el.nonce ?? '',
    // The server says "off" when allocation sampling is off: the Sample switch would do nothing.
    sampling: el.dataset.sampling !== 'off'
  }
  if (config.id === '' || pageFetch === undefined) return
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
    /** The open panel's id, or undefined when the drawer is closed. */
    openPanel: undefined,
    /** Bumped on every panel load, so a slow answer for an older one is dropped. */
    panelToken: 0,
    navToken: 0,
    expanded: readExpanded(),
    /** The page's own request first, then the fetch/XHR calls that carried a record id. */
    requests: [{ id, source: 'page', method: '', url: '', statusCode: 0, subtitle, error: '' }],
    statusTimer: undefined,
    /** The button that opened the drawer, focused again when it closes. */
    opener: undefined,
    /** The open panel's query (the Memory panel's group-by and filters), '' for none. */
    panelQuery: '',
    /** The flame graph drawn in the open panel, if any. */
    flameGraph: undefined
  }

  const host = document.createElement('fdt-toolbar')
  host.setAttribute('data-fdt-toolbar', '')
  const shadow = host.attachShadow({ mode: 'open' })

  const link = h('link', { rel: 'stylesheet', href: `${prefix}/static/toolbar.css` })
  if (nonce !== '') link.nonce = nonce

  const handleSub = h('span', { class: 'fdt-handle-sub' }, subtitle)
  const handleBadge = h('span', { class: 'fdt-badge', hidden: true })
  const handle = h('button', {
    type: 'button',
    class: 'fdt-handle',
    'data-action': 'toggle',
    'aria-controls': 'fdt-bar',
    'aria-expanded': 'false',
    title: 'fastify-debug-toolbar: show or hide the bar'
  }, h('span', { class: 'fdt-logo', 'aria-hidden': 'true' }, 'FDT'), h('span', { class: 'fdt-sr' }, 'Debug toolbar, heap delta '), handleSub, handleBadge)

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
    ...Object.keys(MODES).filter((name) => name !== 'sample' || sampling).flatMap((name) => modeSwitch(name)))
  const status = h('p', { class: 'fdt-status', role: 'status' })
  const bar = h('div', { class: 'fdt-bar', id: 'fdt-bar', hidden: true }, current, nav, modes, status)

  const drawerTitle = h('h2', { class: 'fdt-drawer-title', id: 'fdt-drawer-title' })
  const drawerSub = h('p', { class: 'fdt-drawer-sub' })
  const pageLink = h('a', { class: 'fdt-drawer-link', target: '_blank', rel: 'noopener' }, 'Full page')
  const jsonLink = h('a', { class: 'fdt-drawer-link', target: '_blank', rel: 'noopener' }, 'JSON')
  const close = h('button', { type: 'button', class: 'fdt-close', 'data-action': 'close', 'aria-label': 'Close panel', title: 'Close (Esc)' }, '×')
  const drawerBody = h('div', { class: 'fdt-drawer-body' })
  const drawer = h('section', {
    class: 'fdt-drawer',
    id: 'fdt-drawer',
    role: 'dialog',
    'aria-labelledby': 'fdt-drawer-title',
    tabindex: '-1',
    hidden: true
  },
  h('header', { class: 'fdt-drawer-header' },
    h('div', { class: 'fdt-drawer-heading' }, drawerTitle, drawerSub),
    h('div', { class: 'fdt-drawer-actions' }, pageLink, jsonLink, close)),
  drawerBody)

  const alert = h('p', { class: 'fdt-alert', role: 'alert', hidden: true })
  const row = h('div', { class: 'fdt-row' }, handle, bar)
  const dock = h('div', { class: 'fdt-dock' }, drawer, alert, row)
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
        if (state.openPanel === panel) closePanel(true)
        else openPanel(panel, target)
        return
      }
      const action = target.getAttribute('data-action')
      if (action === 'toggle') setExpanded(!state.expanded, true)
      else if (action === 'close') closePanel(true)
      else if (action !== null && Object.hasOwn(MODES, action)) toggleMode(target, action)
      else if (action === 'dismiss') hideAlert()
      else if (action === 'flamegraph') toggleFlameGraph(target)
    } catch (err) {
      showAlert(messageOf(err))
    }
  }

  function onKeydown (event) {
    if (event.key !== 'Escape' || event.defaultPrevented) return
    if (state.openPanel !== undefined) {
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
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute('data-fdt-panel-form') || state.openPanel === undefined) return
    event.preventDefault()
    const params = new URLSearchParams()
    for (const [name, value] of new FormData(form)) {
      if (typeof value === 'string' && value.trim() !== '') params.set(name, value.trim())
    }
    // Focus goes back to the same control once the panel is redrawn.
    const active = shadow.activeElement
    const again = active instanceof HTMLInputElement && active.form === form
      ? (active.type === 'radio' ? `[name="${cssEscape(active.name)}"][value="${cssEscape(active.value)}"]` : `[name="${cssEscape(active.name)}"]`)
      : 'button[type="submit"]'
    state.panelQuery = params.toString()
    const token = ++state.panelToken
    const panel = state.openPanel
    drawerBody.setAttribute('aria-busy', 'true')
    renderPanel(panel, state.currentId, token, false).finally(() => {
      if (token !== state.panelToken) return
      drawerBody.removeAttribute('aria-busy')
      const control = drawerBody.querySelector(`form[data-fdt-panel-form] ${again}`)
      if (control instanceof HTMLElement) control.focus()
    })
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
    if (!expanded && state.openPanel !== undefined) closePanel(false)
    if (remember) writeExpanded(expanded)
  }

  async function loadNav () {
    const token = ++state.navToken
    const forId = state.currentId
    try {
      const data = await getJson(`/requests/${encodeURIComponent(forId)}/toolbar`, true)
      if (token !== state.navToken) return
      state.nav = data
      updateEntry(forId, data)
      renderNav()
      hideAlert()
    } catch (err) {
      if (token !== state.navToken) return
      state.nav = undefined
      renderNav()
      showAlert(messageOf(err))
    }
  }

  function renderNav () {
    const data = state.nav
    const panels = Array.isArray(data?.panels) ? data.panels : []
    nav.replaceChildren(...panels.map((p) => h('button', {
      type: 'button',
      class: 'fdt-nav-item',
      'data-open-panel': String(p.id),
      'aria-controls': 'fdt-drawer',
      'aria-expanded': String(state.openPanel === p.id)
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
      b.setAttribute('aria-expanded', String(state.openPanel === b.getAttribute('data-open-panel')))
    }
  }

  // Panels.

  /** Open a panel in the drawer and move focus into it; `opener` gets focus back on close. */
  async function openPanel (panel, opener) {
    if (!state.expanded) setExpanded(true, true)
    const token = ++state.panelToken
    const forId = state.currentId
    if (state.openPanel === undefined || opener.closest('.fdt-drawer') === null) state.opener = opener
    if (state.openPanel !== panel) state.panelQuery = ''
    state.openPanel = panel
    drawer.hidden = false
    root.classList.add('fdt-open')
    drawerTitle.textContent = panelTitle(panel)
    drawerSub.textContent = summaryOf(forId)
    pageLink.href = `${prefix}/requests/${encodeURIComponent(forId)}`
    jsonLink.href = `${prefix}/api/requests/${encodeURIComponent(forId)}`
    syncExpandedButtons()
    drawerBody.setAttribute('aria-busy', 'true')
    drawerBody.replaceChildren(h('p', { class: 'fdt-loading' }, 'Loading…'))
    drawer.focus()
    try {
      await renderPanel(panel, forId, token, true)
    } finally {
      if (token === state.panelToken) drawerBody.removeAttribute('aria-busy')
    }
  }

  async function renderPanel (panel, forId, token, refreshIfNotFinal) {
    try {
      const query = state.panelQuery === '' ? '' : `?${state.panelQuery}`
      const html = await getText(`/requests/${encodeURIComponent(forId)}/panels/${encodeURIComponent(panel)}${query}`)
      if (token !== state.panelToken) return
      dropFlameGraph()
      // Server-rendered with every value escaped; innerHTML never runs scripts.
      drawerBody.innerHTML = html
      if (panel === 'history') drawerBody.prepend(pageRequests())
      if (refreshIfNotFinal && drawerBody.querySelector('[data-final="false"]') !== null) {
        // Not while a flame graph is drawn or loading: redrawing the panel would throw it away.
        setTimeout(() => { if (token === state.panelToken && state.flameGraph === undefined) renderPanel(panel, forId, token, false) }, REFRESH_WHEN_NOT_FINAL_MS)
      }
    } catch (err) {
      if (token !== state.panelToken) return
      drawerBody.replaceChildren(h('div', { class: 'fdt-error' }, h('strong', {}, `Could not load the ${panelTitle(panel)} panel. `), messageOf(err)))
    }
  }

  function closePanel (restoreFocus) {
    if (state.openPanel === undefined) return
    const panel = state.openPanel
    state.openPanel = undefined
    state.panelToken++
    drawer.hidden = true
    root.classList.remove('fdt-open')
    dropFlameGraph()
    drawerBody.replaceChildren()
    syncExpandedButtons()
    if (!restoreFocus) return
    // The button that opened it, or the panel's nav button once a re-render replaced that one.
    let back = state.opener
    if (!(back instanceof HTMLElement) || !back.isConnected) back = nav.querySelector(`[data-open-panel="${cssEscape(panel)}"]`)
    if (back instanceof HTMLElement && !bar.hidden) back.focus()
    else handle.focus()
  }

  function panelTitle (panel) {
    const p = state.nav?.panels?.find((x) => x.id === panel)
    return p === undefined ? panel.charAt(0).toUpperCase() + panel.slice(1) : String(p.title)
  }

  // The allocation flame graph (static/flamegraph.js, loaded the first time it is asked for).

  async function toggleFlameGraph (button) {
    const container = button.closest('.fdt-allocs')?.querySelector('.fdt-flame')
    if (!(container instanceof HTMLElement)) return
    const open = button.getAttribute('aria-expanded') === 'true'
    button.setAttribute('aria-expanded', String(!open))
    button.textContent = open ? 'Show flame graph' : 'Hide flame graph'
    container.hidden = open
    if (open || state.flameGraph !== undefined) return
    const token = state.panelToken
    const loading = { destroy () {}, focus () {} }
    state.flameGraph = loading
    container.replaceChildren(h('p', { class: 'fdt-loading' }, 'Loading the flame graph…'))
    try {
      const { mountFlameGraph } = await import('./flamegraph.js')
      if (token !== state.panelToken || state.flameGraph !== loading) return
      const graph = await mountFlameGraph(container, {
        dataUrl: button.getAttribute('data-src') ?? '',
        cssHref: button.getAttribute('data-css') ?? '',
        vendorBase: `${prefix}/vendor/d3-flame-graph/`,
        nonce,
        fetchJson: async (url) => (await get(url.slice(prefix.length), 'application/json', false)).json()
      })
      if (token !== state.panelToken || state.flameGraph !== loading || !container.isConnected) {
        graph.destroy()
        return
      }
      state.flameGraph = graph
      graph.focus()
    } catch (err) {
      if (state.flameGraph === loading) state.flameGraph = undefined
      if (token !== state.panelToken) return
      container.replaceChildren(h('div', { class: 'fdt-error' }, h('strong', {}, 'Could not draw the flame graph. '), messageOf(err)))
    }
  }

  function dropFlameGraph () {
    state.flameGraph?.destroy()
    state.flameGraph = undefined
  }

  // The page's requests.

  /** A same-origin response carried a record id: list it and fetch its summary. */
  function observe (recordId, url, source) {
    if (typeof recordId !== 'string' || recordId === '' || !isRecordable(url, prefix)) return
    if (state.requests.some((r) => r.id === recordId)) return
    const entry = { id: recordId, source, method: '', url: pathOf(url), statusCode: 0, subtitle: '…', error: '' }
    state.requests.push(entry)
    if (state.requests.length > MAX_PAGE_REQUESTS + 1) state.requests.splice(1, 1)
    renderRequests(true)
    getJson(`/requests/${encodeURIComponent(recordId)}/toolbar`, true).then((data) => {
      updateEntry(recordId, data)
      renderRequests(false)
    }, (err) => {
      entry.error = messageOf(err)
      entry.subtitle = '?'
      renderRequests(false)
    })
  }

  /** 'GET /path · 200' for a record, from the page's list or the nav; '' while unknown. */
  function summaryOf (recordId) {
    const entry = entryFor(recordId)
    if (entry !== undefined && entry.method !== '') return describe(entry)
    return state.nav?.id === recordId ? describe(state.nav) : ''
  }

  function entryFor (recordId) {
    return state.requests.find((r) => r.id === recordId)
  }

  function updateEntry (recordId, data) {
    const entry = entryFor(recordId)
    if (entry === undefined || data === undefined) return
    entry.method = String(data.method)
    entry.url = String(data.url)
    entry.statusCode = Number(data.statusCode)
    const memory = Array.isArray(data.panels) ? data.panels.find((p) => p.id === 'memory') : undefined
    if (memory !== undefined) entry.subtitle = String(memory.subtitle)
    entry.error = ''
  }

  function renderRequests (arrived) {
    const count = state.requests.length - 1
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
    const live = drawerBody.querySelector('.fdt-live')
    if (live !== null) live.replaceWith(pageRequests())
  }

  /** The "this page's requests" section shown above the History panel. */
  function pageRequests () {
    const rows = state.requests.map((r) => {
      const shown = r.id === state.currentId
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
    const count = state.requests.length - 1
    return h('section', { class: 'fdt-live', 'aria-labelledby': 'fdt-live-title' },
      h('h3', { class: 'fdt-h3', id: 'fdt-live-title' }, 'This page', h('span', { class: 'fdt-muted' }, ` · the page and ${count} fetch/XHR request${count === 1 ? '' : 's'} it made`)),
      h('div', { class: 'fdt-table-wrap' }, h('table', { class: 'fdt-table fdt-live-table' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Source'), h('th', {}, 'Method'), h('th', {}, 'URL'), h('th', {}, 'Status'), h('th', { class: 'fdt-num' }, 'Heap delta'), h('th', {}, h('span', { class: 'fdt-sr' }, 'Switch')))),
        h('tbody', {}, ...rows))),
      h('h3', { class: 'fdt-h3' }, 'All recent requests', h('span', { class: 'fdt-muted' }, ' · kept by the server, newest first')))
  }

  /** Show another record in the bar and in the open panel. */
  function switchTo (recordId) {
    if (recordId === '' || recordId === state.currentId) return
    state.currentId = recordId
    // The clicked button is about to be replaced; focus then goes to the drawer, not to the page.
    const hadFocus = shadow.activeElement !== null
    loadNav().then(() => {
      if (state.openPanel !== undefined) drawerSub.textContent = summaryOf(state.currentId)
      renderRequests(false)
      const summary = summaryOf(state.currentId)
      say(summary === '' ? 'Switched the toolbar to another request.' : `The toolbar now shows ${summary}.`)
    })
    if (state.openPanel !== undefined) {
      const token = ++state.panelToken
      const forId = state.currentId
      const panel = state.openPanel
      drawerSub.textContent = summaryOf(forId)
      pageLink.href = `${prefix}/requests/${encodeURIComponent(forId)}`
      jsonLink.href = `${prefix}/api/requests/${encodeURIComponent(forId)}`
      drawerBody.setAttribute('aria-busy', 'true')
      renderPanel(panel, forId, token, true).finally(() => {
        if (token !== state.panelToken) return
        drawerBody.removeAttribute('aria-busy')
        if (hadFocus && shadow.activeElement === null) drawer.focus()
      })
    }
  }

  // The mode switches (Precise, Sample): a cookie each, read by the server from the next request.

  function toggleMode (button, name) {
    const { cookie, on, off } = MODES[name]
    const turnOn = !cookieSet(cookie)
    document.cookie = turnOn
      ? `${cookie}; path=/; SameSite=Strict`
      : `${cookie.slice(0, cookie.indexOf('='))}=; path=/; SameSite=Strict; Max-Age=0`
    button.setAttribute('aria-pressed', String(cookieSet(cookie)))
    say(turnOn ? on : off)
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

  // The toolbar's own requests: the page's original fetch, same origin, never recorded.

  async function get (path, accept, retryNotFound) {
    for (let attempt = 0; ; attempt++) {
      const res = await pageFetch(prefix + path, { credentials: 'same-origin', cache: 'no-store', headers: { accept } })
      if (res.ok) return res
      const delay = RETRY_DELAYS_MS[attempt]
      if (res.status === 404 && retryNotFound && delay !== undefined) {
        await new Promise((resolve) => setTimeout(resolve, delay))
        continue
      }
      let message = `${res.status} ${res.statusText}`.trim()
      try {
        const body = await res.json()
        if (typeof body?.message === 'string') message = body.message
      } catch {}
      throw new Error(message)
    }
  }

  async function getJson (path, retryNotFound) {
    return (await get(path, 'application/json', retryNotFound)).json()
  }

  async function getText (path) {
    return (await get(path, 'text/html', false)).text()
  }

  return { mount, observe }
}

// Watching the page's requests. The wrappers hand back exactly what the page would have got.

function watchFetch (onRecord) {
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

function watchXhr (onRecord) {
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

// Helpers.

/** Create an element. Attribute values and children are text, never HTML; `style` is never set. */
function h (tag, attrs, ...children) {
  const el = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === undefined || value === null) continue
    if (name === 'class') el.className = value
    else if (name === 'hidden') el.hidden = true
    else if (name !== 'style') el.setAttribute(name, value === true ? '' : String(value))
  }
  for (const child of children) {
    if (child !== undefined && child !== null && child !== false) el.append(child)
  }
  return el
}

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

/** A mode of MODES: its switch (classes fdt-mode and fdt-<name>) and the switch's screen-reader description. */
function modeSwitch (name) {
  const { cookie, label, title, description } = MODES[name]
  const descId = `fdt-${name}-desc`
  return [
    h('button', {
      type: 'button',
      class: `fdt-mode fdt-${name}`,
      'data-action': name,
      'aria-pressed': String(cookieSet(cookie)),
      'aria-describedby': descId,
      title
    }, h('span', { class: 'fdt-switch-track', 'aria-hidden': 'true' }), label),
    h('span', { id: descId, class: 'fdt-sr' }, description)
  ]
}

/** True when this page's cookies hold `cookie` ('name=value') exactly. */
function cookieSet (cookie) {
  return document.cookie.split(/;\s*/).includes(cookie)
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

function describe (data) {
  if (data === undefined || data === null || data.method === '' || data.method === undefined) return ''
  return `${data.method} ${data.url} · ${data.statusCode}`
}

function statusClass (code) {
  const n = Number(code)
  if (n >= 500) return 'fdt-code-5xx'
  if (n >= 400) return 'fdt-code-4xx'
  if (n >= 300) return 'fdt-code-3xx'
  return n >= 200 ? 'fdt-code-2xx' : ''
}

function cssEscape (s) {
  return typeof CSS !== 'undefined' && typeof CSS.escape === 'function' ? CSS.escape(s) : s.replace(/["\\]/g, '\\$&')
}

function messageOf (err) {
  if (err instanceof Error) return err.message
  return String(err)
}
