/**
 * fastify-debug-toolbar: the allocation flame graph. d3-flame-graph (its self-contained bundle,
 * served from the npm package under {prefix}/vendor/d3-flame-graph/) draws the request's call tree
 * as an icicle (callers above their callees, width = bytes); this module loads it without leaving a
 * global behind, adopts its stylesheet where the graph is drawn (inside the toolbar's Shadow DOM, or
 * the request page), and makes it usable from the keyboard:
 *
 *   Tab reaches one frame (at first the one that allocated most itself, the top site); arrow keys
 *   move (Down: into a callee, Up: to the caller, Left/Right: the neighbours on the same row), Home
 *   goes to the root and End back to the top site, Enter or Space zooms into a frame, Escape zooms
 *   back out.
 *
 * Used by drawer.js and page.js. No inline script or style attribute: the widget styles through
 * the CSSOM, which a CSP allows.
 */
/* global Element, ResizeObserver */
import { formatBytes, h } from './dom.js'

const WIDGET_FILE = 'd3-flamegraph.min.js'
/** Row height, px. */
const CELL_HEIGHT_PX = 20
/** Frames narrower than this are not drawn (nor reachable), px. */
const MIN_FRAME_PX = 2
const TRANSITION_MS = 200

let widget

/**
 * The widget's factory. Its UMD bundle, imported as a module, sets `flamegraph` on the global
 * object; we take it and put back whatever the page had there.
 */
function loadWidget (vendorBase) {
  widget ??= (async () => {
    const had = Object.prototype.hasOwnProperty.call(globalThis, 'flamegraph')
    const before = globalThis.flamegraph
    // A page with a global `exports` object gets it there instead.
    const exportsObject = typeof globalThis.exports === 'object' && globalThis.exports !== null ? globalThis.exports : undefined
    try {
      await import(`${vendorBase}${WIDGET_FILE}`)
      const factory = globalThis.flamegraph ?? exportsObject?.flamegraph
      if (typeof factory !== 'function') throw new Error('the flame graph widget did not load (is an AMD loader on the page?)')
      return factory
    } finally {
      if (had) globalThis.flamegraph = before
      else delete globalThis.flamegraph
      if (exportsObject !== undefined) delete exportsObject.flamegraph
    }
  })()
  widget.catch(() => { widget = undefined })
  return widget
}

/**
 * The little of a d3 selection the widget uses on the element it draws in: `datum` and `each`
 * (it selects inside with its own bundled d3), and `selectAll('svg').remove()` to destroy.
 */
function selectionOf (el) {
  return {
    datum (value) {
      const v = typeof value === 'function' ? value.call(el, el.__data__, 0, [el]) : value
      if (v === undefined || v === null) delete el.__data__
      else el.__data__ = v
      return this
    },
    each (fn) {
      fn.call(el, el.__data__, 0, [el])
      return this
    },
    selectAll (selector) {
      const nodes = [...el.querySelectorAll(selector)]
      return { remove () { for (const n of nodes) n.remove() } }
    },
    node () { return el }
  }
}

/**
 * Draw into `container` the flame graph its "Show flame graph" `button` names (data-src: the
 * toolbar's flamegraph.json, data-css: the widget's stylesheet). Returns `{ focus(), destroy() }`.
 * `prefix` is the toolbar's; `fetchJson(url)` fetches toolbar JSON (the page's own fetch).
 */
export async function mountFlameGraph (container, button, { prefix, nonce = '', fetchJson }) {
  const dataUrl = button.getAttribute('data-src') ?? ''
  const cssHref = button.getAttribute('data-css') ?? ''
  const [factory, data] = await Promise.all([loadWidget(`${prefix}/vendor/d3-flame-graph/`), fetchJson(dataUrl)])
  const total = Math.max(1, Number(data.totalBytes) || 0)

  const css = h('link', { rel: 'stylesheet', href: cssHref })
  if (nonce !== '') css.nonce = nonce
  const help = h('p', { class: 'fdt-flame-help', id: 'fdt-flame-help' },
    `${Number(data.frames)} frames, ${formatBytes(data.totalBytes)} sampled. Width is bytes; callers above callees. `,
    h('span', { class: 'fdt-flame-keys' }, 'Keys: arrows move, Enter zooms in, Escape zooms out, Home goes to the root, End to the top site.'))
  const chartEl = h('div', { class: 'fdt-flame-chart', role: 'group', 'aria-label': 'Allocation flame graph', 'aria-describedby': 'fdt-flame-help' })
  const details = h('p', { class: 'fdt-flame-details', 'aria-live': 'polite' })
  container.replaceChildren(css, help, chartEl, details)

  const reduceMotion = typeof window.matchMedia === 'function' && window.matchMedia('(prefers-reduced-motion: reduce)').matches
  let current
  let zoomed
  /** What the details line says when no frame is hovered: the focused frame, or the last zoom. */
  let message = ''

  const chart = factory()
    .width(widthOf(chartEl))
    .cellHeight(CELL_HEIGHT_PX)
    .minFrameSize(MIN_FRAME_PX)
    .transitionDuration(reduceMotion ? 0 : TRANSITION_MS)
    .selfValue(true)
    .inverted(true)
    .sort(false)
    .title('')
    .setLabelHandler((d) => describe(d, total))
    .setColorMapper((d) => colorOf(d.data))
    // Hovering shows a frame's label; leaving it shows what the keyboard last said again.
    .setDetailsHandler((text) => { details.textContent = text ?? message })
    .onClick((d) => {
      // Mouse clicks zoom inside the widget; keep focus and state in step.
      zoomed = d.parent ? d : undefined
      current = d
      sync()
    })

  chartEl.__data__ = data.root
  chart(selectionOf(chartEl))
  const root = chartEl.__data__
  // Start on the top site: the frame that allocated most itself, where the table's first row points.
  current = heaviestSelf(root)
  sync()

  chartEl.addEventListener('keydown', onKeydown)
  chartEl.addEventListener('focusin', (event) => {
    const g = frameOf(event.target)
    if (g === null) return
    current = g.__data__
    say(describe(current, total))
    sync()
  })

  let lastWidth = widthOf(chartEl)
  const resize = typeof ResizeObserver === 'function'
    ? new ResizeObserver(() => {
      const w = widthOf(chartEl)
      if (Math.abs(w - lastWidth) < 2) return
      lastWidth = w
      chart.width(w).update()
      sync()
    })
    : undefined
  resize?.observe(chartEl)

  function onKeydown (event) {
    const g = frameOf(event.target)
    if (g === null) return
    const d = g.__data__
    let next
    switch (event.key) {
      case 'ArrowDown': next = widestChild(d); break
      case 'ArrowUp': next = d.parent ?? undefined; break
      case 'ArrowLeft': next = neighbour(d, -1); break
      case 'ArrowRight': next = neighbour(d, 1); break
      case 'Home': next = root; break
      case 'End': next = heaviestSelf(root); break
      case 'Enter':
      case ' ':
        event.preventDefault()
        zoomTo(d)
        return
      case 'Escape':
        // Zoomed: zoom out and keep the drawer open; otherwise let the toolbar close it.
        if (zoomed === undefined) return
        event.preventDefault()
        zoomOut(d)
        return
      default:
        return
    }
    event.preventDefault()
    if (next !== undefined && rendered().has(next)) focusNode(next)
  }

  function zoomTo (d) {
    if (d === root) chart.resetZoom()
    else chart.zoomTo(d)
    zoomed = d === root ? undefined : d
    current = d
    sync()
    focusNode(d)
    say(`${zoomed === undefined ? 'Whole graph' : `Zoomed into ${d.data.name}`}. ${describe(d, total)}`)
  }

  /** Back to the whole graph, focus staying on the frame it was on. */
  function zoomOut (d) {
    chart.resetZoom()
    zoomed = undefined
    focusNode(d)
    say(`Whole graph. ${describe(d, total)}`)
  }

  function say (text) {
    message = text
    details.textContent = text
  }

  /** The frames drawn now, by their node. */
  function rendered () {
    const map = new Map()
    for (const g of chartEl.querySelectorAll('g.frame')) {
      if (g.__data__ !== undefined && g.__data__.x1 - g.__data__.x0 > 0) map.set(g.__data__, g)
    }
    return map
  }

  /** One frame in the tab order (roving tabindex), each labelled for screen readers. */
  function sync () {
    const frames = rendered()
    if (!frames.has(current)) current = zoomed ?? root
    for (const [d, g] of frames) {
      g.setAttribute('tabindex', d === current ? '0' : '-1')
      g.setAttribute('role', 'button')
      g.setAttribute('aria-label', describe(d, total))
      g.classList.toggle('fdt-flame-current', d === current)
      if (d === zoomed) g.setAttribute('aria-pressed', 'true')
      else g.removeAttribute('aria-pressed')
    }
  }

  function focusNode (d) {
    current = d
    sync()
    const g = rendered().get(d)
    if (g === undefined) return
    // Scroll the chart, not the page: a frame's row (its depth) does not move while zooming.
    g.focus({ preventScroll: true })
    const frame = g.getBoundingClientRect()
    const box = chartEl.getBoundingClientRect()
    if (frame.top < box.top) chartEl.scrollTop -= box.top - frame.top + CELL_HEIGHT_PX
    else if (frame.bottom > box.bottom) chartEl.scrollTop += frame.bottom - box.bottom + CELL_HEIGHT_PX
  }

  function heaviestSelf (top) {
    let best = top
    for (const d of rendered().keys()) if (Number(d.data.value) > Number(best.data.value)) best = d
    return best
  }

  function widestChild (d) {
    const frames = rendered()
    let best
    for (const c of d.children ?? []) {
      if (frames.has(c) && (best === undefined || c.x1 - c.x0 > best.x1 - best.x0)) best = c
    }
    return best
  }

  function neighbour (d, step) {
    const row = [...rendered().keys()].filter((n) => n.depth === d.depth).sort((a, b) => a.x0 - b.x0)
    return row[row.indexOf(d) + step]
  }

  return {
    /** Bring the graph into view and focus the current frame (at first the top site). */
    focus () {
      container.scrollIntoView({ block: 'nearest' })
      focusNode(current)
    },
    destroy () {
      resize?.disconnect()
      chart.destroy()
      container.replaceChildren()
    }
  }
}

// Helpers.

function frameOf (target) {
  return target instanceof Element ? target.closest('g.frame') : null
}

function widthOf (el) {
  return Math.max(240, Math.floor(el.getBoundingClientRect().width))
}

/** 'buildReport, playground/lib/report.ts:28: 1.71 MB (59.7%), 1.71 MB in itself, 100 samples' */
function describe (d, total) {
  const n = d.data
  const where = n.location ? `, ${n.location}` : ''
  const share = Math.round((Number(n.total) / total) * 1000) / 10
  return `${n.name}${where}: ${formatBytes(n.total)} (${share}%), ${formatBytes(n.value)} in itself${n.samples > 0 ? `, ${n.samples} sample${n.samples === 1 ? '' : 's'}` : ''}`
}

/** Frame colours by kind of code, light enough for the widget's black labels; the name varies the shade. */
function colorOf (n) {
  const v = hash(String(n.name))
  switch (n.category) {
    case 'app': return `hsl(${22 + v * 22} 88% ${60 + v * 8}%)`
    case 'dependency': return `hsl(${198 + v * 24} 70% ${70 + v * 8}%)`
    case 'node': return `hsl(${100 + v * 30} 45% ${64 + v * 8}%)`
    default: return `hsl(220 8% ${72 + v * 8}%)`
  }
}

function hash (s) {
  let sum = 0
  for (let i = 0; i < s.length && i < 12; i++) sum = (sum * 31 + s.charCodeAt(i)) % 1000
  return sum / 1000
}
