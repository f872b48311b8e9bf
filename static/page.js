/**
 * fastify-debug-toolbar, the standalone pages' script (history, request, compare). The pages work
 * without it; it adds the allocation flame graph and applies a group-by choice as soon as it is made.
 */
import { mountFlameGraph } from './flamegraph.js'

/* global Element, HTMLFormElement, HTMLInputElement */

const script = document.querySelector('script[data-fdt-page]')
const prefix = script?.getAttribute('data-prefix') ?? '/__debug'
const nonce = script?.nonce ?? ''

document.addEventListener('click', (event) => {
  const button = event.target instanceof Element ? event.target.closest('[data-action="flamegraph"]') : null
  if (button !== null) toggleFlameGraph(button)
})

// A group-by radio applies at once; the Apply button stays for the filters and for no-script use.
document.addEventListener('change', (event) => {
  const input = event.target
  if (input instanceof HTMLInputElement && input.type === 'radio' && input.form instanceof HTMLFormElement && input.form.classList.contains('fdt-allocs-form')) {
    input.form.requestSubmit()
  }
})

async function toggleFlameGraph (button) {
  const section = button.closest('.fdt-allocs')
  const container = section?.querySelector('.fdt-flame')
  if (!container) return
  const open = button.getAttribute('aria-expanded') === 'true'
  button.setAttribute('aria-expanded', String(!open))
  button.textContent = open ? 'Show flame graph' : 'Hide flame graph'
  container.hidden = open
  if (open || container.childElementCount > 0) return
  container.textContent = 'Loading the flame graph…'
  try {
    const graph = await mountFlameGraph(container, {
      dataUrl: button.getAttribute('data-src'),
      cssHref: button.getAttribute('data-css'),
      vendorBase: `${prefix}/vendor/d3-flame-graph/`,
      nonce,
      fetchJson
    })
    graph.focus()
  } catch (err) {
    container.textContent = `Could not draw the flame graph: ${err instanceof Error ? err.message : String(err)}`
  }
}

async function fetchJson (url) {
  const res = await fetch(url, { credentials: 'same-origin', cache: 'no-store', headers: { accept: 'application/json' } })
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`
    try {
      const body = await res.json()
      if (typeof body?.message === 'string') message = body.message
    } catch {}
    throw new Error(message)
  }
  return res.json()
}
