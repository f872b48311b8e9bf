/**
 * fastify-debug-toolbar: the handle's sparkline, the JS heap over the last minute as a small inline
 * SVG. Built with DOM calls only (no markup strings, no style attribute): colours come from the
 * stylesheet, so it runs under a strict CSP.
 */
import { formatBytes } from './dom.js'

const SVG = 'http://www.w3.org/2000/svg'
/** The drawing's size in SVG units; the stylesheet sets the size on screen. */
const WIDTH = 60
const HEIGHT = 16
/** Room kept at the top and bottom so the stroke is never cut, in SVG units. */
const PAD = 1.5

/**
 * An <svg> drawing `values` (bytes) against `times` (ms) from the oldest reading (not before `fromMs`)
 * to `toMs`, one point per reading, a dot on the newest. Returns undefined below two readings.
 */
export function sparkline ({ t: times, heapUsedBytes: values, fromMs, toMs }) {
  if (!Array.isArray(times) || !Array.isArray(values)) return undefined
  const n = Math.min(times.length, values.length)
  if (n < 2) return undefined
  let lo = Infinity
  let hi = -Infinity
  for (let i = 0; i < n; i++) {
    lo = Math.min(lo, values[i])
    hi = Math.max(hi, values[i])
  }
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return undefined
  // From the oldest reading to now: a minute with readings only in its last seconds still fills the width.
  const start = Math.max(fromMs, Math.min(times[0], toMs - 1))
  const span = Math.max(1, toMs - start)
  // A flat heap is drawn as a level line in the middle, not along an edge.
  const range = hi - lo
  const x = (t) => round(Math.min(1, Math.max(0, (t - start) / span)) * WIDTH)
  const y = (v) => range <= 0 ? HEIGHT / 2 : round(HEIGHT - PAD - ((v - lo) / range) * (HEIGHT - 2 * PAD))
  const coords = []
  for (let i = 0; i < n; i++) coords.push(`${x(times[i])},${y(values[i])}`)
  const last = n - 1

  const svg = svgEl('svg', { class: 'fdt-spark', viewBox: `0 0 ${WIDTH} ${HEIGHT}`, 'aria-hidden': 'true', focusable: 'false', 'data-points': String(n) })
  const area = svgEl('polygon', { class: 'fdt-spark-area', points: `${x(times[0])},${HEIGHT} ${coords.join(' ')} ${x(times[last])},${HEIGHT}` })
  const line = svgEl('polyline', { class: 'fdt-spark-line', points: coords.join(' ') })
  const dot = svgEl('circle', { class: 'fdt-spark-dot', cx: String(x(times[last])), cy: String(y(values[last])), r: '1.6' })
  svg.append(area, line, dot)
  return svg
}

/** 'JS heap over the last minute: 31.2 MB to 34 MB, now 33.5 MB' for the handle's title and reader. */
export function sparklineLabel ({ heapUsedBytes: values }) {
  if (!Array.isArray(values) || values.length === 0) return ''
  const lo = Math.min(...values)
  const hi = Math.max(...values)
  return `JS heap over the last minute: ${formatBytes(lo)} to ${formatBytes(hi)}, now ${formatBytes(values[values.length - 1])}`
}

function svgEl (tag, attrs) {
  const el = document.createElementNS(SVG, tag)
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value)
  return el
}

function round (v) {
  return Math.round(v * 10) / 10
}
