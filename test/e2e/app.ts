/**
 * A small app for the browser tests: an HTML page with buttons that call fetch() and XHR, a JSON
 * route, and an HTML route that retains memory. No inline script or style, so it can run under a
 * strict CSP; the page's script is served from /page.js.
 */
import Fastify, { type FastifyInstance } from 'fastify'
import helmet from '@fastify/helmet'
import debugToolbar, { type DebugToolbarOptions } from '../../src/index.ts'

export interface TestAppOptions {
  /** Register @fastify/helmet with CSP nonces before the toolbar. @default false */
  csp?: boolean
  /** Log at this level to stdout (for debugging a failing test). @default no logging */
  logLevel?: 'error' | 'warn' | 'info'
  /** The toolbar's allocations option. @default the toolbar's default */
  allocations?: DebugToolbarOptions['allocations']
}

/** Arrays kept alive by /retain until the app closes; about 1 MiB each. */
const retained: number[][] = []

const PAGE_SCRIPT = `
const out = document.querySelector('#out')
document.querySelector('#load-fetch').addEventListener('click', async () => {
  const res = await fetch('/api/data?from=fetch')
  const body = await res.json()
  out.textContent = 'fetch: ' + body.items.length + ' items'
})
document.querySelector('#load-xhr').addEventListener('click', () => {
  const xhr = new XMLHttpRequest()
  xhr.open('GET', '/api/data?from=xhr')
  xhr.addEventListener('load', () => { out.textContent = 'xhr: ' + xhr.status })
  xhr.send()
})
`

/** The app's own CSS: deliberately hostile rules the toolbar's Shadow DOM must shrug off. */
const PAGE_CSS = `
* { font-family: Georgia, serif; }
button { background: hotpink; padding: 20px; }
div { border: 1px dashed gray; }
body { margin: 0; padding: 24px; font-size: 18px; line-height: 1.6; }
main { max-width: 720px; }
`

function page (title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${title}</title>
  <link rel="stylesheet" href="/page.css">
  <script type="module" src="/page.js"></script>
</head>
<body>
<main>
${body}
</main>
</body>
</html>`
}

/** Build the app (not listening). */
export async function buildTestApp (opts: TestAppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: opts.logLevel === undefined ? false : { level: opts.logLevel } })
  if (opts.csp === true) {
    await app.register(helmet, { enableCSPNonces: true })
  }
  await app.register(debugToolbar, { enabled: true, allocations: opts.allocations })

  app.get('/page.js', async (_request, reply) => reply.type('text/javascript; charset=utf-8').send(PAGE_SCRIPT))
  app.get('/page.css', async (_request, reply) => reply.type('text/css; charset=utf-8').send(PAGE_CSS))

  app.get('/', async (_request, reply) => {
    return reply.type('text/html; charset=utf-8').send(page('Test page', `
<h1>Test page</h1>
<p>A page whose buttons call the JSON route, so the toolbar can pick those requests up.</p>
<p><button type="button" id="load-fetch">Load with fetch()</button> <button type="button" id="load-xhr">Load with XHR</button></p>
<p id="out">nothing loaded yet</p>
<div class="page-box">${'<p>Some content to fill the page.</p>'.repeat(12)}</div>`))
  })

  app.get('/api/data', async (request) => {
    const from = (request.query as { from?: string }).from ?? 'direct'
    const items = Array.from({ length: 200 }, (_, i) => ({ i, label: `item ${i}`, from }))
    return { items }
  })

  app.get('/retain', async (_request, reply) => {
    // About 2 MiB of doubles, kept until the app closes.
    for (let k = 0; k < 2; k++) {
      const a: number[] = []
      for (let i = 0; i < 131_072; i++) a.push(i + 0.5)
      retained.push(a)
    }
    return reply.type('text/html; charset=utf-8').send(page('Retain', `
<h1>Retained about 2 MiB</h1>
<p>This request kept ${retained.length} arrays of doubles alive.</p>
<p><button type="button" id="load-fetch">Load with fetch()</button> <button type="button" id="load-xhr">Load with XHR</button></p>
<p id="out">nothing loaded yet</p>`))
  })

  app.get('/churn', async (_request, reply) => {
    // About 40 MB of short-lived garbage: young-generation GCs run inside the request.
    let kept = 0
    for (let k = 0; k < 40; k++) {
      const a: number[] = []
      for (let i = 0; i < 131_072; i++) a.push(i + 0.5)
      kept += a.length
    }
    return reply.type('text/html; charset=utf-8').send(page('Churn', `
<h1>Churned garbage</h1>
<p>This request allocated ${kept} doubles and kept none.</p>
<p><button type="button" id="load-fetch">Load with fetch()</button> <button type="button" id="load-xhr">Load with XHR</button></p>
<p id="out">nothing loaded yet</p>`))
  })

  app.get('/favicon.ico', async (_request, reply) => reply.code(204).send())

  app.addHook('onClose', async () => {
    retained.length = 0
  })
  return app
}
