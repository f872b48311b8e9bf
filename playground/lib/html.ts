/**
 * The playground's page layout. Pages are plain strings: no template engine, no inline script and
 * no inline style (the stylesheet and the script are served by the app), so a strict CSP can apply.
 */

/** Escape text for HTML element content and double-quoted attribute values. */
export function escapeHtml (value: unknown): string {
  return String(value)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
}

/**
 * Tagged template that escapes every interpolated value, except values wrapped by `raw()` (already
 * safe HTML) and arrays (joined, each item escaped the same way).
 */
export function html (strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0] ?? ''
  for (let i = 0; i < values.length; i++) {
    out += toHtml(values[i]) + (strings[i + 1] ?? '')
  }
  return new SafeHtml(out)
}

/** A string that is already HTML. */
export class SafeHtml {
  readonly value: string
  constructor (value: string) {
    this.value = value
  }

  toString (): string {
    return this.value
  }
}

/** Mark a string as safe HTML (only for strings this code built). */
export function raw (value: string): SafeHtml {
  return new SafeHtml(value)
}

function toHtml (value: unknown): string {
  if (value instanceof SafeHtml) return value.value
  if (Array.isArray(value)) return value.map(toHtml).join('')
  if (value === undefined || value === null || value === false) return ''
  return escapeHtml(value)
}

const MIB = 1024 * 1024

/** Bytes as MiB with one decimal, e.g. "10.0 MiB". */
export function mib (bytes: number): string {
  return `${(bytes / MIB).toFixed(1)} MiB`
}

/** Links every page shares. */
export interface LayoutContext {
  /** Where the toolbar lives, e.g. '/__debug'. */
  prefix: string
}

export interface PageOptions {
  title: string
  /** The request path shown as a badge in the heading, e.g. '/retain?mb=10'. */
  path?: string
  /** One or two sentences: what the page does. */
  lead: SafeHtml | string
  /** What the Memory panel should show for this request, one point per item. */
  expect?: Array<SafeHtml | string>
  /** The page's own content. */
  content?: SafeHtml
  /** Extra scripts (same-origin URLs) loaded as modules. */
  scripts?: string[]
  /** The home page has no back link. */
  home?: boolean
}

/** The page split where the content goes, so a streamed page can send the head first. */
export function layoutParts (ctx: LayoutContext, page: PageOptions): { head: string, tail: string } {
  const expect = page.expect && page.expect.length > 0
    ? html`<section class="callout" aria-labelledby="expect-title">
        <h2 id="expect-title">What the Memory panel should show</h2>
        <ul>${page.expect.map((item) => html`<li>${item}</li>`)}</ul>
        <p class="hint">Open the toolbar at the bottom of this page and pick the <strong>Memory</strong> panel. The toolbar counts in decimal units (1 MB = 1,000,000 bytes) and this page in binary ones (1 MiB = 1,048,576 bytes), so 10 MiB reads as about 10.5 MB.</p>
      </section>`
    : ''
  const head = html`<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${page.title} · fastify-debug-toolbar playground</title>
  <link rel="icon" href="/favicon.svg" type="image/svg+xml">
  <link rel="stylesheet" href="/style.css">
  ${(page.scripts ?? []).map((src) => html`<script type="module" src="${src}"></script>`)}
</head>
<body>
  <header class="topbar">
    <div class="wrap topbar-inner">
      <a class="brand" href="/">
        <span class="brand-mark" aria-hidden="true">fdt</span>
        <span>fastify-debug-toolbar <span class="brand-sub">playground</span></span>
      </a>
      <nav class="topnav" aria-label="Main">
        <a href="/">Scenarios</a>
        <a href="${ctx.prefix}/">Request history</a>
        <a href="${ctx.prefix}/api/requests">JSON API</a>
      </nav>
    </div>
  </header>
  <main class="wrap">
    ${page.home ? '' : html`<p class="back"><a href="/">← All scenarios</a></p>`}
    <h1>${page.title}${page.path ? html` <code class="route">${page.path}</code>` : ''}</h1>
    <p class="lead">${page.lead}</p>
    ${expect}
`
  const tail = html`
  </main>
  <footer class="footer">
    <div class="wrap">
      Every request here is profiled by <code>fastify-debug-toolbar</code>.
      Past requests: <a href="${ctx.prefix}/">${ctx.prefix}/</a>.
      Numbers are process-wide, so concurrent requests show up in each other's figures.
    </div>
  </footer>
</body>
</html>
`
  return { head: head.value, tail: tail.value }
}

/** A whole page. */
export function layout (ctx: LayoutContext, page: PageOptions): string {
  const { head, tail } = layoutParts(ctx, page)
  return head + (page.content?.value ?? '') + tail
}

/** A small definition list of facts about what the handler did. */
export function facts (items: Array<[string, SafeHtml | string | number]>): SafeHtml {
  return html`<dl class="facts">${items.map(([k, v]) => html`<div><dt>${k}</dt><dd>${v}</dd></div>`)}</dl>`
}

/** A row of action links (buttons). */
export function actions (links: Array<[string, string]>): SafeHtml {
  return html`<p class="actions">${links.map(([href, label], i) => html`<a class="${i === 0 ? 'btn' : 'btn btn-ghost'}" href="${href}">${label}</a>`)}</p>`
}
