/**
 * fastify-debug-toolbar: the helpers the toolbar, the standalone pages and the flame graph share.
 * Nothing here writes HTML or a style attribute: it all runs under a strict CSP.
 */
/* global CSS, HTMLElement */

/** Create an element. Attribute values and children are text, never HTML; `style` is never set. */
export function h (tag, attrs, ...children) {
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

const BYTE_UNITS = ['B', 'kB', 'MB', 'GB', 'TB']

/** Bytes as pretty-bytes writes them on the server ('12.3 MB', '-4 kB', '0 B'); '–' for no number. */
export function formatBytes (n) {
  if (n == null || !Number.isFinite(n)) return '–'
  const neg = n < 0
  let v = Math.abs(n)
  let i = 0
  while (v >= 1000 && i < BYTE_UNITS.length - 1) {
    v /= 1000
    i++
  }
  return `${neg ? '-' : ''}${i === 0 ? Math.round(v) : Number(v.toPrecision(3))} ${BYTE_UNITS[i]}`
}

/** An Error for a failed toolbar response: the server's JSON `message` when it sent one, else the status line. */
export async function responseError (res) {
  let message = `${res.status} ${res.statusText}`.trim()
  try {
    const body = await res.json()
    if (typeof body?.message === 'string') message = body.message
  } catch {}
  return new Error(message)
}

/** What to show of a caught value. */
export function messageOf (err) {
  if (err instanceof Error) return err.message
  return String(err)
}

/** `s` escaped for a CSS attribute selector. */
export function cssEscape (s) {
  return typeof CSS !== 'undefined' && typeof CSS.escape === 'function' ? CSS.escape(s) : s.replace(/["\\]/g, '\\$&')
}

/**
 * Flip a "Show flame graph" button and show or hide its graph's container (the `.fdt-flame` of its
 * `.fdt-allocs` section). Returns the container when it is now shown, undefined otherwise.
 */
export function toggleFlameGraphButton (button) {
  const container = button.closest('.fdt-allocs')?.querySelector('.fdt-flame')
  if (!(container instanceof HTMLElement)) return undefined
  const open = button.getAttribute('aria-expanded') === 'true'
  button.setAttribute('aria-expanded', String(!open))
  button.textContent = open ? 'Show flame graph' : 'Hide flame graph'
  container.hidden = open
  return open ? undefined : container
}
