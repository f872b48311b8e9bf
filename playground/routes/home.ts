import { readFile } from 'node:fs/promises'
import type { FastifyInstance } from 'fastify'
import { html, layout, type LayoutContext, type SafeHtml } from '../lib/html.ts'
import { LEAK_SCENARIOS } from './leaks.ts'

interface Scenario {
  title: string
  /** Main link. */
  href: string
  /** What the route does, one line. */
  does: SafeHtml | string
  /** What the Memory panel should show, one line. */
  expect: SafeHtml | string
  /** Extra links: [href, label]. */
  more?: Array<[string, string]>
  tag: 'heap' | 'external' | 'gc' | 'json' | 'stream' | 'time' | 'off'
}

const SCENARIOS: Scenario[] = [
  {
    title: 'Retain memory',
    href: '/retain?mb=10',
    does: 'Keeps 10 MiB of arrays in a module-level list after the response.',
    expect: html`Heap delta <strong>≈ +10 MiB</strong>, allocated about the same.`,
    more: [['/retain?mb=50', '50 MiB'], ['/retain/clear', 'Release']],
    tag: 'heap'
  },
  {
    title: 'Short-lived spike',
    href: '/spike?mb=50',
    does: 'Builds 50 MiB in a local array and drops it before replying.',
    expect: html`Peak <strong>≈ +50 MiB</strong>, heap delta ≈ 0, several GCs.`,
    more: [['/spike?mb=200', '200 MiB']],
    tag: 'gc'
  },
  {
    title: 'Buffers',
    href: '/buffers?mb=8',
    does: 'Keeps an 8 MiB Buffer: its bytes live outside the JS heap.',
    expect: html`External <strong>≈ +8 MiB</strong>, heap delta ≈ 0.`,
    more: [['/buffers?mb=64', '64 MiB'], ['/buffers/clear', 'Release']],
    tag: 'external'
  },
  {
    title: 'A small leak',
    href: '/leak',
    does: 'Leaks 100 KiB into a module-level array on every call.',
    expect: html`Heap delta <strong>≈ +100 KiB</strong> a call; the history shows the heap creeping up.`,
    tag: 'heap'
  },
  {
    title: 'Allocations by function',
    href: '/allocations',
    does: html`<code>buildReport()</code> allocates ~2 MiB, <code>parseRecords()</code> in a fake dependency ~1 MiB.`,
    expect: html`Allocated <strong>≈ 3 MiB</strong>, heap delta ≈ 0.`,
    tag: 'gc'
  },
  {
    title: 'Slow and overlapping',
    href: '/slow',
    does: 'Allocates, awaits 200 ms, allocates again. Open several at once.',
    expect: html`Duration ≈ 200 ms; overlapping requests are <strong>counted</strong>.`,
    more: [['/slow?ms=1000', '1 s']],
    tag: 'time'
  },
  {
    title: 'Streamed response',
    href: '/stream',
    does: 'Sends 20 HTML chunks from a Readable stream, one every 50 ms.',
    expect: html`No toolbar injected (streams pass untouched), but the request is <strong>recorded</strong>.`,
    tag: 'stream'
  },
  {
    title: 'JSON API',
    href: '/api/items',
    does: 'Returns 50 small items as JSON. Try it with the button below.',
    expect: html`No toolbar in JSON; a <code>Server-Timing</code> header and a history entry.`,
    tag: 'json'
  },
  {
    title: 'Opted out',
    href: '/opt-out',
    does: html`A route with <code>config: { debugToolbar: false }</code>.`,
    expect: html`<strong>Nothing</strong>: no toolbar, no header, not in the history.`,
    tag: 'off'
  }
]

const TAG_LABEL: Record<Scenario['tag'], string> = {
  heap: 'JS heap',
  external: 'external',
  gc: 'allocations',
  json: 'JSON',
  stream: 'stream',
  time: 'timing',
  off: 'opt-out'
}

/** Static files the pages use; served with the toolbar opted out so they do not fill the history. */
const ASSETS: Array<{ url: string, file: string, type: string }> = [
  { url: '/style.css', file: 'style.css', type: 'text/css; charset=utf-8' },
  { url: '/playground.js', file: 'playground.js', type: 'text/javascript; charset=utf-8' },
  { url: '/favicon.svg', file: 'favicon.svg', type: 'image/svg+xml' }
]

/** The home page and its static files. */
export async function homeRoutes (app: FastifyInstance, opts: { ctx: LayoutContext }): Promise<void> {
  const { ctx } = opts

  for (const asset of ASSETS) {
    const body = await readFile(new URL(`../public/${asset.file}`, import.meta.url))
    app.get(asset.url, { config: { debugToolbar: false } }, async (_request, reply) => {
      return reply.type(asset.type).header('cache-control', 'no-cache').send(body)
    })
  }

  app.get('/', async (_request, reply) => {
    const content = html`
    <section class="precise" aria-labelledby="precise-title">
      <div>
        <h2 id="precise-title">Precise mode <span id="precise-state" class="pill">off</span></h2>
        <p>Forces a full GC at the start and end of each request, so the heap delta is exactly what the request <em>retained</em>. Slower; set by the <code>fdt-precise=1</code> cookie or the <code>x-debug-toolbar-precise: 1</code> header.</p>
      </div>
      <button id="precise-toggle" class="btn" type="button">Turn precise mode on</button>
    </section>

    <section class="precise" aria-labelledby="sample-title">
      <div>
        <h2 id="sample-title">Allocation sampling</h2>
        <p>Every request you make here gets its allocation sites, 20 sampled requests a second at most (bursts of 40, so a page load is sampled whole); past that, the rest say they were over the budget. The toolbar's <em>Sample</em> switch (the <code>fdt-sample=1</code> cookie, or the <code>x-debug-toolbar-sample: 1</code> header) samples your own requests whatever the budget, and is what an app registered with <code>allocations: { requests: 'marked' }</code> needs before it samples anything.</p>
      </div>
    </section>

    <h2 class="section-title">Scenarios</h2>
    <ul class="cards">
      ${SCENARIOS.map((s) => html`
      <li class="card">
        <div class="card-head">
          <a class="card-title" href="${s.href}">${s.title}</a>
          <span class="tag tag-${s.tag}">${TAG_LABEL[s.tag]}</span>
        </div>
        <code class="route">${s.href}</code>
        <p>${s.does}</p>
        <p class="expect"><span class="expect-label">Memory panel</span> ${s.expect}</p>
        ${s.more ? html`<p class="card-links">${s.more.map(([href, label]) => html`<a href="${href}">${label}</a>`)}</p>` : ''}
      </li>`)}
    </ul>

    <h2 class="section-title" id="leaks-title">Leaks</h2>
    <p>Routes that keep memory in known ways, and two that do not. A leak test repeats one of them and reports what each call keeps: from a test suite, <code>measureLeak(app, '/leaks/timer')</code> from <code>fastify-debug-toolbar/testing</code>.</p>
    <ul class="cards" aria-labelledby="leaks-title">
      ${LEAK_SCENARIOS.map((s) => html`
      <li class="card">
        <div class="card-head">
          <a class="card-title" href="${s.path}">${s.title}</a>
          <span class="tag tag-heap">leak test</span>
        </div>
        <code class="route">${s.path}</code>
        <p>${s.does}</p>
        <p class="expect"><span class="expect-label">Leak test</span> ${s.reads}</p>
      </li>`)}
    </ul>

    <section class="api-demo" aria-labelledby="api-title" data-prefix="${ctx.prefix}">
      <h2 id="api-title">Call the JSON API from this page</h2>
      <p>The button runs <code>fetch('/api/items')</code>. The toolbar records that request too: the response carries its id in <code>x-debug-toolbar-id</code> and a summary in <code>Server-Timing</code>.</p>
      <p><button id="api-run" class="btn" type="button">Fetch /api/items</button></p>
      <div id="api-output" class="api-output" aria-live="polite" hidden></div>
    </section>

    <p class="note">Query numbers are validated: <a href="/retain?mb=abc">/retain?mb=abc</a> or <a href="/spike?mb=100000">/spike?mb=100000</a> answer 400.</p>`
    return reply.type('text/html; charset=utf-8').send(layout(ctx, {
      home: true,
      title: 'What does each request do to memory?',
      lead: html`Each scenario below exercises memory in a different way. Open one, then open the toolbar at the bottom of the page and read its <strong>Memory</strong> panel: heap delta, peak, bytes allocated, garbage collections and external memory. Every profiled request is also listed in the <a href="${ctx.prefix}/">request history</a>.`,
      content,
      scripts: ['/playground.js']
    }))
  })
}
