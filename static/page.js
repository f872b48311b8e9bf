/**
 * fastify-debug-toolbar, the standalone pages' script (history, request, compare). The pages work
 * without it; it adds the allocation flame graph and applies a group-by choice as soon as it is made.
 */
/* global Element, HTMLFormElement, HTMLInputElement */
import { messageOf, responseError, toggleFlameGraphButton } from './dom.js'
import { mountFlameGraph } from './flamegraph.js'

const script = document.querySelector('script[data-fdt-page]')
const prefix = script?.getAttribute('data-prefix') ?? '/__debug'
const nonce = script?.nonce ?? ''

document.addEventListener('click', (event) => {
  const button = event.target instanceof Element ? event.target.closest('[data-action="flamegraph"]') : null
  if (button !== null) toggleFlameGraph(button)
  const leak = event.target instanceof Element ? event.target.closest('[data-action="leak-test"], [data-action="leak-cancel"]') : null
  const container = leak?.closest('[data-fdt-leak]')
  if (leak == null || container == null) return
  // The request page repeats the request from itself, as the toolbar does.
  import('./leak-test.js')
    .then((m) => leak.getAttribute('data-action') === 'leak-test' ? m.startLeakTest(container, { prefix, fetchFn: window.fetch.bind(window) }) : m.cancelLeakTest(container, { prefix }))
    .catch(() => {})
})

// A group-by radio applies at once; the Apply button stays for the filters and for no-script use.
document.addEventListener('change', (event) => {
  const input = event.target
  if (input instanceof HTMLInputElement && input.type === 'radio' && input.form instanceof HTMLFormElement && input.form.classList.contains('fdt-allocs-form')) {
    input.form.requestSubmit()
  }
})

async function toggleFlameGraph (button) {
  const container = toggleFlameGraphButton(button)
  if (container === undefined || container.childElementCount > 0) return
  container.textContent = 'Loading the flame graph…'
  try {
    const graph = await mountFlameGraph(container, button, { prefix, nonce, fetchJson })
    graph.focus()
  } catch (err) {
    container.textContent = `Could not draw the flame graph: ${messageOf(err)}`
  }
}

async function fetchJson (url) {
  const res = await fetch(url, { credentials: 'same-origin', cache: 'no-store', headers: { accept: 'application/json' } })
  if (!res.ok) throw await responseError(res)
  return res.json()
}
