/**
 * fastify-debug-toolbar, the leak-test report page: while the test runs, shows its progress (read
 * every second from the JSON API) and reloads the page once it has ended. The page works without it.
 */
const host = document.querySelector('[data-fdt-leak-test]')
const POLL_MS = 1000
const PHASES = { 'warm-up': 'warm-up call', calls: 'call', snapshot: 'heap snapshot', sampling: 'sampler call', analysis: 'snapshot analysis' }

if (host !== null && host.getAttribute('data-status') === 'running') poll()

async function poll () {
  const prefix = host.getAttribute('data-prefix') ?? '/__debug'
  const id = host.getAttribute('data-fdt-leak-test')
  const out = document.querySelector('[data-leak-progress]')
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS))
    try {
      const res = await fetch(`${prefix}/api/leak-tests/${encodeURIComponent(id)}`, { credentials: 'same-origin', cache: 'no-store', headers: { accept: 'application/json' } })
      if (!res.ok) continue
      const test = await res.json()
      if (test.status !== 'running') {
        window.location.reload()
        return
      }
      const p = test.progress
      if (out !== null && p !== undefined) out.textContent = `Running: ${PHASES[p.phase] ?? p.phase} ${p.done} of ${p.total}…`
    } catch {}
  }
}
