/**
 * fastify-debug-toolbar: the drawer above the bar, which shows one panel at a time. A panel is
 * server-rendered HTML (every value escaped) fetched for the record shown; a slow answer for a
 * panel or record no longer shown is dropped.
 */
/* global HTMLElement, HTMLInputElement, FormData, URLSearchParams */
import { cssEscape, h, messageOf, toggleFlameGraphButton } from './dom.js'

/** When a panel says its figures are not final yet (GCs still being reported), reload it once after this many ms. */
const REFRESH_WHEN_NOT_FINAL_MS = 400

/**
 * The drawer. `shownId()` is the record the toolbar shows, `summaryOf(id)` its 'GET /path · 200',
 * `titleOf(panel)` a panel's title; `requests` (PageRequests) heads the History panel; `onToggle()`
 * runs whenever a panel opens or closes.
 */
export function createDrawer ({ prefix, nonce, client, requests, shownId, summaryOf, titleOf, onToggle }) {
  const state = {
    /** The open panel's id, or undefined when the drawer is closed. */
    openPanel: undefined,
    /** Bumped on every panel load, so a slow answer for an older one is dropped. */
    panelToken: 0,
    /** The button that opened the drawer, focused again when it closes. */
    opener: undefined,
    /** The open panel's query (the Memory panel's group-by and filters), '' for none. */
    panelQuery: '',
    /** The flame graph drawn in the open panel, if any. */
    flameGraph: undefined
  }

  const title = h('h2', { class: 'fdt-drawer-title', id: 'fdt-drawer-title' })
  const sub = h('p', { class: 'fdt-drawer-sub' })
  const pageLink = h('a', { class: 'fdt-drawer-link', target: '_blank', rel: 'noopener' }, 'Full page')
  const jsonLink = h('a', { class: 'fdt-drawer-link', target: '_blank', rel: 'noopener' }, 'JSON')
  const close = h('button', { type: 'button', class: 'fdt-close', 'data-action': 'close', 'aria-label': 'Close panel', title: 'Close (Esc)' }, '×')
  const body = h('div', { class: 'fdt-drawer-body' })
  const element = h('section', {
    class: 'fdt-drawer',
    id: 'fdt-drawer',
    role: 'dialog',
    'aria-labelledby': 'fdt-drawer-title',
    tabindex: '-1',
    hidden: true
  },
  h('header', { class: 'fdt-drawer-header' },
    h('div', { class: 'fdt-drawer-heading' }, title, sub),
    h('div', { class: 'fdt-drawer-actions' }, pageLink, jsonLink, close)),
  body)

  /** Open a panel and move focus into it; `opener` gets focus back on close. */
  async function open (panel, opener) {
    const token = ++state.panelToken
    const forId = shownId()
    if (state.openPanel === undefined || opener.closest('.fdt-drawer') === null) state.opener = opener
    if (state.openPanel !== panel) state.panelQuery = ''
    state.openPanel = panel
    element.hidden = false
    title.textContent = titleOf(panel)
    showRecord(forId)
    onToggle()
    body.setAttribute('aria-busy', 'true')
    body.replaceChildren(h('p', { class: 'fdt-loading' }, 'Loading…'))
    element.focus()
    try {
      await render(panel, forId, token, true)
    } finally {
      if (token === state.panelToken) body.removeAttribute('aria-busy')
    }
  }

  function showRecord (forId) {
    sub.textContent = summaryOf(forId)
    pageLink.href = `${prefix}/requests/${encodeURIComponent(forId)}`
    jsonLink.href = `${prefix}/api/requests/${encodeURIComponent(forId)}`
  }

  async function render (panel, forId, token, refreshIfNotFinal) {
    try {
      const query = state.panelQuery === '' ? '' : `?${state.panelQuery}`
      const html = await client.getText(`/requests/${encodeURIComponent(forId)}/panels/${encodeURIComponent(panel)}${query}`)
      if (token !== state.panelToken) return
      dropFlameGraph()
      // Server-rendered with every value escaped; innerHTML never runs scripts.
      body.innerHTML = html
      if (panel === 'history') body.prepend(requests.section(shownId()))
      if (refreshIfNotFinal && body.querySelector('[data-final="false"]') !== null) {
        // Not while a flame graph is drawn or loading: redrawing the panel would throw it away.
        setTimeout(() => { if (token === state.panelToken && state.flameGraph === undefined) render(panel, forId, token, false) }, REFRESH_WHEN_NOT_FINAL_MS)
      }
    } catch (err) {
      if (token !== state.panelToken) return
      body.replaceChildren(h('div', { class: 'fdt-error' }, h('strong', {}, `Could not load the ${titleOf(panel)} panel. `), messageOf(err)))
    }
  }

  /** Close the drawer; returns the panel it showed and the button that opened it, or undefined when it was closed. */
  function closePanel () {
    if (state.openPanel === undefined) return undefined
    const panel = state.openPanel
    state.openPanel = undefined
    state.panelToken++
    element.hidden = true
    dropFlameGraph()
    body.replaceChildren()
    onToggle()
    return { panel, opener: state.opener }
  }

  /** Reload the open panel with its form's query (the Memory panel's group-by and filters); `active` had focus. */
  function submit (form, active) {
    if (state.openPanel === undefined) return
    const params = new URLSearchParams()
    for (const [name, value] of new FormData(form)) {
      if (typeof value === 'string' && value.trim() !== '') params.set(name, value.trim())
    }
    // Focus goes back to the same control once the panel is redrawn.
    const again = active instanceof HTMLInputElement && active.form === form
      ? (active.type === 'radio' ? `[name="${cssEscape(active.name)}"][value="${cssEscape(active.value)}"]` : `[name="${cssEscape(active.name)}"]`)
      : 'button[type="submit"]'
    state.panelQuery = params.toString()
    const token = ++state.panelToken
    const panel = state.openPanel
    body.setAttribute('aria-busy', 'true')
    render(panel, shownId(), token, false).finally(() => {
      if (token !== state.panelToken) return
      body.removeAttribute('aria-busy')
      const control = body.querySelector(`form[data-fdt-panel-form] ${again}`)
      if (control instanceof HTMLElement) control.focus()
    })
  }

  /**
   * The toolbar now shows another record: reload the open panel for it. `hasFocus()` says whether
   * focus is still in the toolbar; when it was and the reload dropped it, it goes to the drawer.
   */
  function switchRecord (hadFocus, hasFocus) {
    if (state.openPanel === undefined) return
    const token = ++state.panelToken
    const forId = shownId()
    const panel = state.openPanel
    showRecord(forId)
    body.setAttribute('aria-busy', 'true')
    render(panel, forId, token, true).finally(() => {
      if (token !== state.panelToken) return
      body.removeAttribute('aria-busy')
      if (hadFocus && !hasFocus()) element.focus()
    })
  }

  /** The record's summary arrived: say it under the title. */
  function refreshSummary () {
    if (state.openPanel !== undefined) sub.textContent = summaryOf(shownId())
  }

  /** Redraw the page's requests above the History panel, when it is open. */
  function refreshRequests () {
    const live = body.querySelector('.fdt-live')
    if (live !== null) live.replaceWith(requests.section(shownId()))
  }

  // The allocation flame graph (static/flamegraph.js, loaded the first time it is asked for).

  async function toggleFlameGraph (button) {
    const container = toggleFlameGraphButton(button)
    if (container === undefined || state.flameGraph !== undefined) return
    const token = state.panelToken
    const loading = { destroy () {}, focus () {} }
    state.flameGraph = loading
    container.replaceChildren(h('p', { class: 'fdt-loading' }, 'Loading the flame graph…'))
    try {
      const { mountFlameGraph } = await import('./flamegraph.js')
      if (token !== state.panelToken || state.flameGraph !== loading) return
      const graph = await mountFlameGraph(container, button, {
        prefix,
        nonce,
        fetchJson: (url) => client.getJson(url.slice(prefix.length), false)
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

  return {
    element,
    /** The open panel's id, or undefined when the drawer is closed. */
    get openPanel () { return state.openPanel },
    open,
    close: closePanel,
    submit,
    switchRecord,
    refreshSummary,
    refreshRequests,
    toggleFlameGraph
  }
}
