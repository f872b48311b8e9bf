// Home page behaviour: the precise-mode toggle and the JSON API demo.
// A separate file (no inline script) so the page works under a strict Content-Security-Policy.

const PRECISE_COOKIE = 'fdt-precise'

function preciseOn () {
  return document.cookie.split(';').some((c) => c.trim() === `${PRECISE_COOKIE}=1`)
}

function showPrecise () {
  const on = preciseOn()
  const state = document.getElementById('precise-state')
  const button = document.getElementById('precise-toggle')
  if (state) {
    state.textContent = on ? 'on' : 'off'
    state.classList.toggle('on', on)
  }
  if (button) button.textContent = on ? 'Turn precise mode off' : 'Turn precise mode on'
}

function togglePrecise () {
  document.cookie = preciseOn()
    ? `${PRECISE_COOKIE}=; path=/; max-age=0; SameSite=Lax`
    : `${PRECISE_COOKIE}=1; path=/; SameSite=Lax`
  showPrecise()
}

function el (tag, text, className) {
  const node = document.createElement(tag)
  if (text !== undefined) node.textContent = String(text)
  if (className) node.className = className
  return node
}

function metaRow (list, label, value) {
  list.append(el('dt', label))
  const dd = el('dd')
  if (typeof value === 'string') dd.textContent = value
  else dd.append(value)
  list.append(dd)
}

async function callApi (button, output, prefix) {
  button.disabled = true
  output.hidden = false
  output.replaceChildren(el('p', 'Loading…'))
  const started = performance.now()
  try {
    const res = await fetch('/api/items', { headers: { accept: 'application/json' } })
    const body = await res.json()
    const ms = performance.now() - started
    const id = res.headers.get('x-debug-toolbar-id')

    const meta = el('dl', undefined, 'api-meta')
    metaRow(meta, 'Status', `${res.status} in ${ms.toFixed(1)} ms, ${body.count} items`)
    if (id) {
      const link = el('a', id)
      link.href = `${prefix}/api/requests/${encodeURIComponent(id)}`
      metaRow(meta, 'x-debug-toolbar-id', link)
    } else {
      metaRow(meta, 'x-debug-toolbar-id', 'missing: was this request profiled?')
    }
    metaRow(meta, 'Server-Timing', res.headers.get('server-timing') ?? 'missing')

    const table = el('table')
    const head = el('tr')
    for (const h of ['id', 'name', 'price', 'in stock', 'tags']) head.append(el('th', h))
    table.append(head)
    for (const item of body.items.slice(0, 5)) {
      const row = el('tr')
      row.append(el('td', item.id), el('td', item.name), el('td', item.price.toFixed(2)), el('td', item.inStock ? 'yes' : 'no'), el('td', item.tags.join(', ')))
      table.append(row)
    }
    output.replaceChildren(meta, table, el('p', `First 5 of ${body.count} items shown.`, 'hint'))
  } catch (err) {
    output.replaceChildren(el('p', `Request failed: ${err instanceof Error ? err.message : String(err)}`, 'error'))
  } finally {
    button.disabled = false
  }
}

const preciseButton = document.getElementById('precise-toggle')
if (preciseButton) {
  preciseButton.addEventListener('click', togglePrecise)
  showPrecise()
}

const apiButton = document.getElementById('api-run')
const apiOutput = document.getElementById('api-output')
if (apiButton && apiOutput) {
  const prefix = apiButton.closest('[data-prefix]')?.getAttribute('data-prefix') ?? '/__debug'
  apiButton.addEventListener('click', () => { callApi(apiButton, apiOutput, prefix) })
}
