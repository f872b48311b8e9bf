/**
 * fastify-debug-toolbar, the live page: the process's memory, GCs, requests and event-loop delay on
 * one time axis (uPlot), and a live request table. Data comes from `/api/process` once, then from
 * the `/api/process/events` stream; the stream is closed while paused or while the tab is hidden.
 */
import UPlot from '../vendor/uplot/uPlot.esm.js'
import { formatBytes as bytes } from './dom.js'

/* global DOMParser, EventSource, HTMLInputElement, location, history, getComputedStyle, requestAnimationFrame, devicePixelRatio, Element */

const section = document.querySelector('[data-fdt-live]')
if (section !== null) start(section)

/** Longest window kept on the page, in ms (the largest the page offers). */
const KEEP_MS = 15 * 60_000
/** Most requests kept on the page, and most table rows drawn. */
const MAX_REQUESTS = 5000
const MAX_ROWS = 300
const WINDOWS = { '1m': 60_000, '5m': 300_000, '15m': 900_000 }
const ROUTE_COLOURS = ['#2f80ed', '#eb5757', '#27ae60', '#f2994a', '#9b51e0', '#00a3a3', '#d4a017', '#e056a0', '#6d7f99', '#8bc34a']
const GC_COLOURS = { major: '#d1344f', minor: '#f2994a', incremental: '#9b8cc9', weakcb: '#8a9bb5' }
const MEASURES = {
  heapUsedDelta: { label: 'heap delta', format: signedBytes },
  durationMs: { label: 'duration', format: ms },
  allocatedBytes: { label: 'allocated', format: bytes }
}

/** The per-process chart's measures, by column; and the JSON columns of the readings, in the page's order. */
const PROCESS_MEASURES = { heapUsed: 'heap used', heapTotal: 'heap total', external: 'external', arrayBuffers: 'array buffers', rss: 'RSS' }
const COLUMNS = [['t', 't'], ['heapUsed', 'heapUsedBytes'], ['heapTotal', 'heapTotalBytes'], ['external', 'externalBytes'], ['arrayBuffers', 'arrayBuffersBytes'], ['rss', 'rssBytes'], ['loopMean', 'loopDelayMeanMs'], ['loopMax', 'loopDelayMaxMs']]
const PROCESS_COLOURS = ['#2f80ed', '#eb5757', '#27ae60', '#9b51e0', '#f2994a', '#00a3a3', '#d4a017', '#e056a0', '#6d7f99', '#8bc34a']

function start (root) {
  const prefix = root.getAttribute('data-prefix') ?? '/__debug'
  const intervalMs = Number(root.getAttribute('data-interval-ms')) || 250
  let token = document.querySelector('[data-live-snapshot] input[name="token"]')?.value ?? ''
  const statusEl = document.querySelector('[data-live-status]')
  const tip = root.querySelector('[data-live-tip]')
  const tbody = root.querySelector('[data-live-table] tbody')
  const countEl = root.querySelector('[data-live-count]')
  const filtersForm = root.querySelector('[data-live-filters]')
  const routesEl = root.querySelector('[data-live-routes]')
  // With the Redis store: every process's readings, beside this one's.
  const shared = root.hasAttribute('data-shared')
  const selfLabel = root.getAttribute('data-process') ?? 'this process'
  const peersNote = root.querySelector('[data-live-peers-note]')
  const processesEl = root.querySelector('[data-chart="processes"]')

  const state = {
    window: root.getAttribute('data-window') ?? '5m',
    measure: 'heapUsedDelta',
    processMeasure: 'heapUsed',
    follow: true,
    range: { min: 0, max: 0 },
    paused: false,
    sort: { key: 'startedAt', desc: true },
    filter: readFilter(),
    hover: null,
    pointerOver: false
  }
  /** Columns of readings, times in epoch ms. */
  const s = { t: [], heapUsed: [], heapTotal: [], external: [], arrayBuffers: [], rss: [], loopMean: [], loopMax: [] }
  let gcs = []
  /** Requests by id, and in time order. */
  const byId = new Map()
  let requests = []
  const routeColour = new Map()
  /** The other processes' readings by series id: { label, s (columns as above), gcs }. */
  const peers = new Map()
  let processChart = null
  let processKey = ''
  /** The per-process chart's lines, in its series' order. */
  let processLines = []
  let source = null
  let renderQueued = false

  // Charts.
  const axisStroke = tokenColour(root, '--fdt-muted', '#6d7f99')
  const gridStroke = tokenColour(root, '--fdt-border', '#dbe3ee')
  const axis = (values, size = 72) => ({ stroke: axisStroke, grid: { stroke: gridStroke, width: 1 }, ticks: { stroke: gridStroke }, values, size })
  const timeAxis = { stroke: axisStroke, grid: { stroke: gridStroke, width: 1 }, ticks: { stroke: gridStroke } }
  const cursor = {
    sync: { key: 'fdt-watch' },
    drag: { x: true, y: false, setScale: false, dist: 5 },
    bind: { dblclick: () => null },
    points: { show: false }
  }
  const bytesAxis = (u, splits) => splits.map((v) => bytes(v))
  const width = () => Math.max(320, root.clientWidth)

  const memory = new UPlot({
    width: width(),
    height: 250,
    ms: 1,
    cursor,
    scales: { x: { time: true, auto: false } },
    series: [
      { value: (u, v) => v == null ? '–' : new Date(v).toLocaleTimeString() },
      { label: 'heap used', stroke: '#2f80ed', width: 2, fill: 'rgba(47,128,237,0.10)', value: (u, v) => bytes(v) },
      { label: 'heap total', stroke: '#7aa7e8', width: 1, dash: [4, 3], value: (u, v) => bytes(v) },
      { label: 'external', stroke: '#27ae60', width: 1.5, value: (u, v) => bytes(v) },
      { label: 'array buffers', stroke: '#00a3a3', width: 1, value: (u, v) => bytes(v) },
      { label: 'RSS', stroke: '#9b51e0', width: 1.5, value: (u, v) => bytes(v) }
    ],
    axes: [timeAxis, axis(bytesAxis)],
    hooks: { draw: [drawGcs], setCursor: [hoverGc], setSelect: [zoomToSelection] }
  }, [[], [], [], [], [], []], root.querySelector('[data-chart="memory"]'))

  const marks = new UPlot({
    width: width(),
    height: 140,
    ms: 1,
    cursor,
    legend: { show: false },
    // arcsinh: small marks stay visible beside a large one, of either sign.
    scales: { x: { time: true, auto: false }, y: { auto: false, distr: 4, asinh: 1 } },
    series: [{}, { label: 'requests', stroke: 'transparent' }],
    axes: [timeAxis, { ...axis((u, splits) => splits.map((v) => MEASURES[state.measure].format(v))), splits: markSplits, filter: (u, splits) => splits, space: 8 }],
    hooks: { draw: [drawMarks], setCursor: [hoverMark], setSelect: [zoomToSelection] }
  }, [[], []], root.querySelector('[data-chart="requests"]'))

  const loop = new UPlot({
    width: width(),
    height: 130,
    ms: 1,
    cursor,
    // From 0, and at least 5 ms tall, so the axis always has a top label.
    scales: { x: { time: true, auto: false }, y: { range: (u, min, max) => [0, Math.max(5, (max ?? 0) * 1.15)] } },
    series: [
      { value: (u, v) => v == null ? '–' : new Date(v).toLocaleTimeString() },
      { label: 'event-loop delay, mean', stroke: '#f2994a', width: 1.5, value: (u, v) => ms(v) },
      { label: 'max', stroke: '#eb5757', width: 1, value: (u, v) => ms(v) }
    ],
    axes: [timeAxis, axis((u, splits) => splits.map((v) => ms(v)))],
    hooks: { setSelect: [zoomToSelection] }
  }, [[], [], []], root.querySelector('[data-chart="loop"]'))

  let charts = [memory, marks, loop]
  for (const u of charts) wireChart(u)
  window.addEventListener('resize', () => { for (const u of charts) u.setSize({ width: width(), height: u.height }) })

  // Controls.
  root.addEventListener('change', (event) => {
    const input = event.target
    if (!(input instanceof HTMLInputElement) || input.type !== 'radio') return
    if (input.name === 'window' && Object.hasOwn(WINDOWS, input.value)) {
      state.window = input.value
      state.follow = true
      syncUrl()
      render()
    } else if (input.name === 'measure' && Object.hasOwn(MEASURES, input.value)) {
      state.measure = input.value
      render()
    } else if (input.name === 'processMeasure' && Object.hasOwn(PROCESS_MEASURES, input.value)) {
      state.processMeasure = input.value
      render()
    }
  })
  root.addEventListener('click', (event) => {
    const button = event.target instanceof Element ? event.target.closest('button[data-live], button[data-sort]') : null
    if (button === null) return
    const sortKey = button.getAttribute('data-sort')
    if (sortKey !== null) {
      state.sort = { key: sortKey, desc: state.sort.key === sortKey ? !state.sort.desc : true }
      for (const th of root.querySelectorAll('[data-live-table] th')) th.removeAttribute('aria-sort')
      button.parentElement.setAttribute('aria-sort', state.sort.desc ? 'descending' : 'ascending')
      renderTable()
      return
    }
    const action = button.getAttribute('data-live')
    if (action === 'pan-back') pan(-0.5)
    else if (action === 'pan-forward') pan(0.5)
    else if (action === 'follow') { state.follow = true; render() } else if (action === 'pause') setPaused(!state.paused, button)
    else if (action === 'gc') forceGc(button)
  })
  filtersForm?.addEventListener('input', () => {
    state.filter = readFilter()
    syncUrl()
    render()
  })
  filtersForm?.addEventListener('submit', (event) => { event.preventDefault() })
  // After a snapshot the server knows its real cost per MiB: fetch it once the download is likely done.
  document.querySelector('[data-live-snapshot]')?.addEventListener('submit', () => {
    for (const delayMs of [2000, 10_000, 30_000]) setTimeout(() => { fetchJson(`${prefix}/api/process?window=1m`).then(merge, () => {}) }, delayMs)
  })
  root.addEventListener('keydown', (event) => {
    if (!(event.target instanceof Element) || event.target.closest('.fdt-watch-chart') === null) return
    if (event.key === 'ArrowLeft') pan(-0.25)
    else if (event.key === 'ArrowRight') pan(0.25)
    else if (event.key === '+' || event.key === '=') zoom(0.5, (state.range.min + state.range.max) / 2)
    else if (event.key === '-') zoom(2, (state.range.min + state.range.max) / 2)
    else return
    event.preventDefault()
  })
  document.addEventListener('visibilitychange', () => {
    if (state.paused) return
    if (document.hidden) disconnect('Paused while the tab is hidden')
    else connect()
  })

  // Where a request's mark is drawn, in viewport pixels (for keyboard-free checks and tests).
  root.fdtMarkPoint = (id) => {
    const r = byId.get(id)
    if (r === undefined) return null
    const over = marks.over.getBoundingClientRect()
    return { x: over.left + marks.valToPos(r.startedAt, 'x'), y: over.top + marks.valToPos(r[state.measure], 'y') }
  }

  connect()

  // The stream.

  async function connect () {
    disconnect()
    setStatus('Connecting…')
    try {
      merge(await fetchJson(`${prefix}/api/process?window=15m`))
    } catch (err) {
      setStatus(`Could not read the process series: ${err.message}`)
    }
    if (state.paused || document.hidden) return
    const es = new EventSource(`${prefix}/api/process/events`)
    source = es
    let dropped = false
    es.addEventListener('open', () => {
      setStatus('Live')
      // After a reconnection (a restart, a network blip): fill the gap; a restarted server has a new token.
      if (dropped) {
        fetchJson(`${prefix}/api/process?window=15m`).then(merge, () => {})
        refreshToken().catch(() => {})
      }
      dropped = false
    })
    es.addEventListener('error', () => {
      dropped = true
      setStatus('Reconnecting…')
    })
    es.addEventListener('samples', (e) => { addSamples(JSON.parse(e.data)); queueRender() })
    es.addEventListener('gcs', (e) => { gcs.push(...JSON.parse(e.data)); queueRender() })
    es.addEventListener('requests', (e) => { addRequests(JSON.parse(e.data)); queueRender() })
    es.addEventListener('peers', (e) => {
      const body = JSON.parse(e.data)
      mergePeers(body.peers, body.peersProblem)
      queueRender()
    })
  }

  function disconnect (why) {
    if (source !== null) source.close()
    source = null
    if (why !== undefined) setStatus(why)
  }

  function setPaused (paused, button) {
    state.paused = paused
    button.setAttribute('aria-pressed', String(paused))
    button.textContent = paused ? 'Resume' : 'Pause'
    if (paused) disconnect('Paused')
    else connect()
  }

  function setStatus (text) {
    if (statusEl !== null) statusEl.textContent = text
    root.setAttribute('data-state', text === 'Live' ? 'live' : 'idle')
  }

  // Data.

  function merge (body) {
    const c = body.samples
    const last = s.t.length > 0 ? s.t[s.t.length - 1] : -Infinity
    for (let i = 0; i < c.t.length; i++) {
      if (c.t[i] <= last) continue
      pushSample(c.t[i], c.heapUsedBytes[i], c.heapTotalBytes[i], c.externalBytes[i], c.arrayBuffersBytes[i], c.rssBytes[i], c.loopDelayMeanMs[i], c.loopDelayMaxMs[i])
    }
    const lastGc = gcs.length > 0 ? gcs[gcs.length - 1].t : -Infinity
    for (const g of body.gcs) if (g.t > lastGc) gcs.push(g)
    addRequests(body.requests)
    if (body.shared === true) mergePeers(body.peers, body.peersProblem)
    const form = document.querySelector('[data-live-snapshot]')
    if (form !== null && body.snapshot !== undefined) {
      form.setAttribute('data-ms-per-mib', String(body.snapshot.msPerMiB))
      form.setAttribute('data-measured', String(body.snapshot.measured))
    }
    render()
  }

  function addSamples (list) {
    const last = s.t.length > 0 ? s.t[s.t.length - 1] : -Infinity
    for (const x of list) {
      if (x.t <= last) continue
      pushSample(x.t, x.heapUsedBytes, x.heapTotalBytes, x.externalBytes, x.arrayBuffersBytes, x.rssBytes, x.loopDelayMeanMs, x.loopDelayMaxMs)
    }
  }

  function mergePeers (list, problem) {
    for (const p of list ?? []) {
      let entry = peers.get(p.id)
      if (entry === undefined) {
        entry = { label: `${p.pid}@${p.hostname}`, s: Object.fromEntries(COLUMNS.map(([k]) => [k, []])), gcs: [] }
        peers.set(p.id, entry)
      }
      const c = p.samples
      const last = entry.s.t.length > 0 ? entry.s.t[entry.s.t.length - 1] : -Infinity
      for (let i = 0; i < c.t.length; i++) {
        if (c.t[i] <= last) continue
        for (const [k, json] of COLUMNS) entry.s[k].push(c[json][i])
      }
      const lastGc = entry.gcs.length > 0 ? entry.gcs[entry.gcs.length - 1].t : -Infinity
      for (const g of p.gcs) if (g.t > lastGc) entry.gcs.push(g)
    }
    if (problem !== undefined && peersNote !== null) {
      peersNote.textContent = problem === null ? '' : `Showing this process only: ${problem}.`
      root.toggleAttribute('data-peers-down', problem !== null)
    }
  }

  function pushSample (...row) {
    const keys = Object.keys(s)
    for (let k = 0; k < keys.length; k++) s[keys[k]].push(row[k])
  }

  function addRequests (list) {
    for (const r of list) {
      if (!routeColour.has(r.route || r.url)) routeColour.set(r.route || r.url, ROUTE_COLOURS[routeColour.size % ROUTE_COLOURS.length])
      if (!byId.has(r.id)) requests.push(r)
      byId.set(r.id, r)
    }
    requests.sort((a, b) => a.startedAt - b.startedAt)
    if (requests.length > MAX_REQUESTS) {
      for (const r of requests.splice(0, requests.length - MAX_REQUESTS)) byId.delete(r.id)
    }
  }

  function trim () {
    const cutoff = Date.now() - KEEP_MS
    let n = 0
    while (n < s.t.length && s.t[n] < cutoff) n++
    if (n > 0) for (const k of Object.keys(s)) s[k].splice(0, n)
    gcs = gcs.filter((g) => g.t >= cutoff)
    for (const [id, p] of peers) {
      let k = 0
      while (k < p.s.t.length && p.s.t[k] < cutoff) k++
      if (k > 0) for (const key of Object.keys(p.s)) p.s[key].splice(0, k)
      p.gcs = p.gcs.filter((g) => g.t >= cutoff)
      if (p.s.t.length === 0) peers.delete(id)
    }
    const keep = requests.filter((r) => r.startedAt >= cutoff)
    if (keep.length !== requests.length) {
      for (const r of requests) if (r.startedAt < cutoff) byId.delete(r.id)
      requests = keep
    }
  }

  function readFilter () {
    const form = filtersForm
    const value = (name) => form?.elements.namedItem(name)?.value?.trim() ?? ''
    const f = {}
    if (value('route') !== '') f.route = value('route')
    if (value('method') !== '') f.method = value('method')
    if (/^[1-5](\d\d|xx)$/i.test(value('status'))) f.status = value('status').toLowerCase()
    const kib = Number(value('minHeapDeltaKiB'))
    if (value('minHeapDeltaKiB') !== '' && Number.isFinite(kib)) f.minHeapDeltaBytes = Math.round(kib * 1024)
    const minMs = Number(value('minDurationMs'))
    if (value('minDurationMs') !== '' && Number.isFinite(minMs)) f.minDurationMs = minMs
    if (/^\d+$/.test(value('pid'))) f.pid = Number(value('pid'))
    return f
  }

  function passes (r) {
    const f = state.filter
    if (f.route !== undefined && !r.route.includes(f.route) && !r.url.includes(f.route)) return false
    if (f.method !== undefined && r.method !== f.method) return false
    if (f.status !== undefined) {
      const code = String(r.statusCode)
      if (f.status.endsWith('xx') ? code[0] !== f.status[0] : code !== f.status) return false
    }
    if (f.minHeapDeltaBytes !== undefined && r.heapUsedDelta < f.minHeapDeltaBytes) return false
    if (f.minDurationMs !== undefined && r.durationMs < f.minDurationMs) return false
    if (f.pid !== undefined && r.pid !== f.pid) return false
    return true
  }

  function syncUrl () {
    const q = new URLSearchParams()
    if (state.window !== '5m') q.set('window', state.window)
    const f = state.filter
    for (const [k, v] of Object.entries(f)) q.set(k, String(v))
    const search = q.toString()
    history.replaceState(null, '', search === '' ? location.pathname : `${location.pathname}?${search}`)
  }

  // Drawing.

  function queueRender () {
    if (renderQueued) return
    renderQueued = true
    requestAnimationFrame(() => {
      renderQueued = false
      render()
    })
  }

  function render () {
    trim()
    // The axis holds still under the pointer, so what it points at stays put.
    if (state.follow && !state.pointerOver) {
      const now = Math.max(Date.now(), s.t.length > 0 ? s.t[s.t.length - 1] : 0)
      state.range = { min: now - WINDOWS[state.window], max: now + intervalMs }
    }
    memory.setData([s.t, s.heapUsed, s.heapTotal, s.external, s.arrayBuffers, s.rss], false)
    loop.setData([s.t, s.loopMean, s.loopMax], false)
    marks.setData([s.t, s.t.map(() => null)], false)
    renderProcesses()
    applyRange()
    renderTable()
    renderRoutes()
    renderSnapshotNote()
  }

  /** One line per process for the chosen measure; the chart is made again when a process comes or goes. */
  function renderProcesses () {
    if (!shared || processesEl === null) return
    const list = [{ id: '', label: `${selfLabel} (serving this page)`, s, gcs }, ...[...peers].map(([id, p]) => ({ id, ...p })).sort((a, b) => a.label.localeCompare(b.label))]
    processLines = list
    const key = list.map((p) => p.id).join(' ')
    if (key !== processKey || processChart === null) {
      if (processChart !== null) {
        charts = charts.filter((u) => u !== processChart)
        processChart.destroy()
      }
      processChart = new UPlot({
        width: width(),
        height: 220,
        ms: 1,
        cursor,
        scales: { x: { time: true, auto: false } },
        series: [
          { value: (u, v) => v == null ? '–' : new Date(v).toLocaleTimeString() },
          ...list.map((p, i) => ({ label: p.label, stroke: PROCESS_COLOURS[i % PROCESS_COLOURS.length], width: i === 0 ? 2.5 : 1.5, spanGaps: true, value: (u, v) => v == null ? '–' : bytes(v) }))
        ],
        axes: [timeAxis, axis(bytesAxis)],
        hooks: { draw: [drawProcessGcs], setSelect: [zoomToSelection] }
      }, list.map(() => []).concat([[]]), processesEl)
      wireChart(processChart)
      charts.push(processChart)
      processKey = key
      processesEl.setAttribute('data-processes', String(list.length))
    }
    const m = state.processMeasure
    processChart.setData(UPlot.join(list.map((p) => [p.s.t, p.s[m]])), false)
    // Readings per line, in the legend's order (for checks without reading the canvas).
    processesEl.setAttribute('data-readings', list.map((p) => p.s.t.length).join(' '))
  }

  /** The heap snapshot's expected pause, from the newest reading (the page's first text is from when it loaded). */
  function renderSnapshotNote () {
    const form = document.querySelector('[data-live-snapshot]')
    const note = form?.querySelector('[data-live-snapshot-note]')
    const heap = s.heapUsed[s.heapUsed.length - 1]
    if (form == null || note == null || heap === undefined) return
    const msPerMiB = Number(form.getAttribute('data-ms-per-mib'))
    const maxHeap = Number(form.getAttribute('data-max-heap-bytes'))
    const pauseMs = (heap / (1024 * 1024)) * msPerMiB
    const allowed = heap <= maxHeap
    form.querySelector('button[type="submit"]').disabled = !allowed
    const rate = form.getAttribute('data-measured') === 'true' ? 'measured on the last snapshot' : 'a first estimate until one is taken'
    const strong = el('strong', ms(pauseMs))
    note.replaceChildren(...(allowed
      ? ['Pauses the process about ', strong, ` for the ${bytes(heap)} heap (${msPerMiB} ms per MiB, ${rate}); open the .heapsnapshot in Chrome DevTools' Memory tab.`]
      : [`Refused: the heap (${bytes(heap)}) is above the live.maxSnapshotHeapBytes limit (${bytes(maxHeap)}); a snapshot would pause the process about `, strong, '.']))
  }

  function applyRange () {
    const { min, max } = state.range
    for (const u of charts) u.setScale('x', { min, max })
    const values = visibleRequests().map((r) => r[state.measure])
    // Room above the highest mark's dot (the scale is arcsinh: a factor, not an offset).
    const lo = Math.min(0, ...values) * 1.5
    const hi = Math.max(0, ...values) * 1.5
    marks.setScale('y', { min: lo, max: hi === lo ? lo + 1 : hi })
  }

  function visibleRequests () {
    const { min, max } = state.range
    return requests.filter((r) => r.startedAt >= min && r.startedAt <= max && passes(r))
  }

  /** Ticks at zero and at the largest marks of each sign (an arcsinh axis's own ticks crowd a short chart). */
  function markSplits (u) {
    const { min, max } = u.scales.y
    const out = [0]
    if (min < 0) out.unshift(min / 1.5)
    if (max > 0 && max / 1.5 > 0) out.push(max / 1.5)
    return out
  }

  function drawMarks (u) {
    const ctx = u.ctx
    const { left, top, width: w, height: h } = u.bbox
    const dpr = devicePixelRatio || 1
    ctx.save()
    ctx.beginPath()
    ctx.rect(left, top, w, h)
    ctx.clip()
    const y0 = u.valToPos(0, 'y', true)
    ctx.strokeStyle = gridStroke
    ctx.lineWidth = dpr
    ctx.beginPath()
    ctx.moveTo(left, y0)
    ctx.lineTo(left + w, y0)
    ctx.stroke()
    for (const r of visibleRequests()) {
      const x = u.valToPos(r.startedAt, 'x', true)
      const y = u.valToPos(r[state.measure], 'y', true)
      const colour = routeColour.get(r.route || r.url) ?? ROUTE_COLOURS[0]
      const hovered = state.hover?.kind === 'request' && state.hover.item.id === r.id
      ctx.strokeStyle = colour
      ctx.fillStyle = colour
      ctx.lineWidth = (hovered ? 3 : 2) * dpr
      ctx.beginPath()
      ctx.moveTo(x, y0)
      ctx.lineTo(x, y)
      ctx.stroke()
      ctx.beginPath()
      ctx.arc(x, y, (hovered ? 5 : 3.5) * dpr, 0, 2 * Math.PI)
      ctx.fill()
    }
    ctx.restore()
  }

  function drawGcs (u) {
    drawGcTicks(u, [{ gcs, colourOf: (g) => GC_COLOURS[g.kind] ?? GC_COLOURS.minor }])
  }

  /** Each process's GCs as ticks at the foot of the per-process chart, in its line's colour (majors taller). */
  function drawProcessGcs (u) {
    drawGcTicks(u, processLines.map((p, i) => ({ gcs: p.gcs, colourOf: () => PROCESS_COLOURS[i % PROCESS_COLOURS.length] })))
  }

  /** GCs in the visible range as ticks rising from the plot's foot, clipped to the plot (majors taller and thicker). */
  function drawGcTicks (u, groups) {
    const ctx = u.ctx
    const { left, top, width: w, height: h } = u.bbox
    const dpr = devicePixelRatio || 1
    const { min, max } = state.range
    ctx.save()
    ctx.beginPath()
    ctx.rect(left, top, w, h)
    ctx.clip()
    for (const { gcs: list, colourOf } of groups) {
      for (const g of list) {
        if (g.t < min || g.t > max) continue
        const x = u.valToPos(g.t, 'x', true)
        ctx.strokeStyle = colourOf(g)
        ctx.lineWidth = (g.kind === 'major' ? 2 : 1) * dpr
        ctx.beginPath()
        ctx.moveTo(x, top + h)
        ctx.lineTo(x, top + h - (g.kind === 'major' ? 14 : 8) * dpr)
        ctx.stroke()
      }
    }
    ctx.restore()
  }

  function nearest (list, u, timeOf, maxPx) {
    const left = u.cursor.left
    if (left == null || left < 0) return null
    let best = null
    let bestPx = maxPx
    for (const item of list) {
      const px = Math.abs(u.valToPos(timeOf(item), 'x') - left)
      if (px <= bestPx) {
        best = item
        bestPx = px
      }
    }
    return best
  }

  /** The request whose stem passes within 6 px of the pointer; where stems overlap, the one whose dot is nearest. */
  function hoverMark (u) {
    const { left, top } = u.cursor
    let best = null
    if (left != null && left >= 0 && top != null) {
      const y0 = u.valToPos(0, 'y')
      let bestDot = Infinity
      for (const r of visibleRequests()) {
        const x = u.valToPos(r.startedAt, 'x')
        const y = u.valToPos(r[state.measure], 'y')
        const offStem = Math.max(0, Math.min(y0, y) - top, top - Math.max(y0, y))
        if (Math.hypot(x - left, offStem) > 6) continue
        const dot = Math.hypot(x - left, y - top)
        if (dot < bestDot) {
          best = r
          bestDot = dot
        }
      }
    }
    setHover(best === null ? null : { kind: 'request', item: best }, u)
  }

  function hoverGc (u) {
    const { min, max } = state.range
    const g = nearest(gcs.filter((x) => x.t >= min && x.t <= max), u, (x) => x.t, 4)
    setHover(g === null ? null : { kind: 'gc', item: g }, u)
  }

  function setHover (hover, u) {
    const same = state.hover?.item === hover?.item
    if (hover === null && state.hover !== null && state.hover.chart !== u) return
    state.hover = hover === null ? null : { ...hover, chart: u }
    if (!same) marks.redraw(false, false)
    if (hover === null) {
      tip.hidden = true
      return
    }
    tip.replaceChildren(...(hover.kind === 'request' ? requestTip(hover.item) : gcTip(hover.item)))
    tip.hidden = false
    const over = u.over.getBoundingClientRect()
    const box = root.getBoundingClientRect()
    const x = over.left - box.left + u.valToPos(hover.kind === 'request' ? hover.item.startedAt : hover.item.t, 'x')
    tip.style.left = `${Math.min(Math.max(0, x + 12), box.width - 280)}px`
    tip.style.top = `${over.top - box.top + (u.cursor.top ?? 0) + 12}px`
  }

  function requestTip (r) {
    return [
      el('strong', `${r.method} ${r.url}`),
      el('span', `${r.statusCode} · ${ms(r.durationMs)} · ${new Date(r.startedAt).toLocaleTimeString()}`),
      el('span', `heap ${signedBytes(r.heapUsedDelta)} · allocated ${bytes(r.allocatedBytes)} · ${r.gcCount} GC${r.gcCount === 1 ? '' : 's'}`),
      el('span', r.route !== '' && r.route !== r.url ? `route ${r.route} · click to open` : 'click to open', 'fdt-muted')
    ]
  }

  function gcTip (g) {
    return [
      el('strong', `${g.kind} GC`),
      el('span', `pause ${ms(g.durationMs)} · ${new Date(g.t).toLocaleTimeString()}`),
      el('span', `heap ${bytes(g.heapUsedBefore)} → ${bytes(g.heapUsedAfter)} (${signedBytes(g.heapUsedAfter - g.heapUsedBefore)})`)
    ]
  }

  function wireChart (u) {
    u.over.tabIndex = 0
    u.over.parentElement?.parentElement?.setAttribute('tabindex', '-1')
    let downAt = null
    u.over.addEventListener('mousedown', (e) => { downAt = [e.clientX, e.clientY] })
    u.over.addEventListener('click', (e) => {
      const moved = downAt !== null && Math.hypot(e.clientX - downAt[0], e.clientY - downAt[1]) > 3
      downAt = null
      if (moved || u !== marks) return
      if (state.hover?.kind === 'request') location.href = `${prefix}/requests/${encodeURIComponent(state.hover.item.id)}`
    })
    u.over.addEventListener('dblclick', () => { state.follow = true; render() })
    u.over.addEventListener('mouseenter', () => { state.pointerOver = true })
    u.over.addEventListener('mouseleave', () => {
      state.pointerOver = false
      if (state.hover?.chart === u) setHover(null, u)
    })
    u.over.addEventListener('wheel', (e) => {
      e.preventDefault()
      zoom(e.deltaY > 0 ? 1.25 : 0.8, u.posToVal(e.offsetX, 'x'))
    }, { passive: false })
  }

  function zoomToSelection (u) {
    const sel = u.select
    if (sel.width < 5) return
    const min = u.posToVal(sel.left, 'x')
    const max = u.posToVal(sel.left + sel.width, 'x')
    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false)
    state.follow = false
    state.range = { min, max }
    applyRange()
  }

  function zoom (factor, at) {
    const { min, max } = state.range
    const span = Math.min(KEEP_MS, Math.max(2000, (max - min) * factor))
    const ratio = (at - min) / (max - min)
    state.follow = false
    state.range = { min: at - span * ratio, max: at + span * (1 - ratio) }
    applyRange()
  }

  function pan (fraction) {
    const { min, max } = state.range
    const shift = (max - min) * fraction
    state.follow = false
    state.range = { min: min + shift, max: max + shift }
    applyRange()
  }

  function renderRoutes () {
    if (routesEl === null) return
    const counts = new Map()
    for (const r of requests) counts.set(r.route || r.url, (counts.get(r.route || r.url) ?? 0) + 1)
    const top = [...counts].sort((a, b) => b[1] - a[1]).slice(0, 12)
    routesEl.replaceChildren(...top.map(([route, n]) => {
      const chip = el('span', `${route} (${n})`, 'fdt-watch-route')
      const swatch = el('span', '', 'fdt-watch-swatch')
      swatch.style.background = routeColour.get(route) ?? ROUTE_COLOURS[0]
      chip.prepend(swatch)
      return chip
    }))
  }

  function renderTable () {
    const { key, desc } = state.sort
    const rows = requests.filter(passes)
    rows.sort((a, b) => {
      const x = a[key]
      const y = b[key]
      const c = typeof x === 'string' ? x.localeCompare(y) : x - y
      return desc ? -c : c
    })
    const shown = rows.slice(0, MAX_ROWS)
    tbody.replaceChildren(...shown.map(row))
    if (countEl !== null) countEl.textContent = `${rows.length} request${rows.length === 1 ? '' : 's'} since this page opened or in the last 15 minutes${rows.length > MAX_ROWS ? `, first ${MAX_ROWS} shown` : ''}${state.paused ? ' (paused)' : ''}.`
  }

  function processCell (r) {
    const cell = td(String(r.pid), 'fdt-num fdt-process')
    cell.title = `process ${r.pid} on ${r.hostname}`
    return cell
  }

  function row (r) {
    const tr = document.createElement('tr')
    tr.setAttribute('data-request-id', r.id)
    const link = el('a', r.url)
    link.href = `${prefix}/requests/${encodeURIComponent(r.id)}`
    const url = document.createElement('td')
    url.className = 'fdt-url'
    url.append(link)
    if (r.route !== '' && r.route !== r.url) url.append(el('span', r.route, 'fdt-route'))
    const dot = el('span', '', 'fdt-watch-swatch')
    dot.style.background = routeColour.get(r.route || r.url) ?? ROUTE_COLOURS[0]
    const method = td(r.method)
    method.prepend(dot)
    const code = r.statusCode
    tr.append(
      td(new Date(r.startedAt).toLocaleTimeString(), 'fdt-time'),
      method,
      url,
      td(String(code), `fdt-code-cell fdt-code-${Math.floor(code / 100)}xx`),
      td(ms(r.durationMs), 'fdt-num'),
      td(signedBytes(r.heapUsedDelta), `fdt-num ${r.heapUsedDelta > 0 ? 'fdt-up' : r.heapUsedDelta < 0 ? 'fdt-down' : ''}`),
      td(bytes(r.allocatedBytes), 'fdt-num'),
      td(String(r.gcCount), 'fdt-num'),
      processCell(r)
    )
    return tr
  }

  // Process actions.

  /** Take the token from a fresh copy of this page (the server makes a new one when it restarts) into every form. */
  async function refreshToken () {
    const res = await fetch(`${prefix}/`, { credentials: 'same-origin', cache: 'no-store', headers: { accept: 'text/html' } })
    if (!res.ok) return
    // Parsed, not rendered: nothing in it runs.
    const fresh = new DOMParser().parseFromString(await res.text(), 'text/html').querySelector('[data-live-snapshot] input[name="token"]')?.getAttribute('value')
    if (typeof fresh !== 'string' || fresh === '' || fresh === token) return
    token = fresh
    for (const input of document.querySelectorAll('form input[name="token"]')) input.value = fresh
  }

  async function forceGc (button) {
    const out = root.querySelector('[data-live-gc-result]')
    button.disabled = true
    out.textContent = 'Collecting…'
    try {
      const res = await fetch(`${prefix}/api/process/gc`, { method: 'POST', credentials: 'same-origin', headers: { 'x-debug-toolbar-token': token, accept: 'application/json' } })
      const body = await res.json()
      if (!res.ok) throw new Error(body?.message ?? `${res.status}`)
      out.textContent = `Freed ${bytes(Math.max(0, body.freedBytes))}: heap ${bytes(body.heapUsedBefore)} → ${bytes(body.heapUsedAfter)} in ${ms(body.durationMs)}`
      out.setAttribute('data-freed-bytes', String(body.freedBytes))
    } catch (err) {
      out.textContent = `Could not force a GC: ${err.message}`
    } finally {
      button.disabled = false
    }
  }
}

// Small helpers.

/** A colour token as the canvas can use it (light-dark() resolved by the browser). */
function tokenColour (parent, name, fallback) {
  const probe = document.createElement('span')
  probe.hidden = true
  probe.style.color = `var(${name}, ${fallback})`
  parent.append(probe)
  const colour = getComputedStyle(probe).color
  probe.remove()
  return colour || fallback
}

function el (tag, text, className) {
  const e = document.createElement(tag)
  e.textContent = text
  if (className !== undefined) e.className = className
  return e
}

function td (text, className) {
  return el('td', text, className)
}

async function fetchJson (url) {
  const res = await fetch(url, { credentials: 'same-origin', cache: 'no-store', headers: { accept: 'application/json' } })
  if (!res.ok) throw new Error(`${res.status} ${res.statusText}`)
  return res.json()
}

function signedBytes (n) {
  if (n === 0) return '0 B'
  return n > 0 ? `+${bytes(n)}` : bytes(n)
}

function ms (n) {
  if (n == null || !Number.isFinite(n)) return '–'
  if (n === 0) return '0 ms'
  if (Math.abs(n) >= 1000) return `${(n / 1000).toFixed(2)} s`
  if (Math.abs(n) >= 10) return `${n.toFixed(1)} ms`
  if (Math.abs(n) >= 1) return `${n.toFixed(2)} ms`
  return `${n.toFixed(3)} ms`
}
