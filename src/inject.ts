/** Pure helpers that put the toolbar's snippet into an HTML response. */

/** Escape text for an HTML attribute value in double quotes. */
export function escapeAttribute (s: string): string {
  // Runs on every HTML response: most values need nothing, so test once before replacing.
  if (!NEEDS_ESCAPE.test(s)) return s
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

const NEEDS_ESCAPE = /[&"<>]/

/** True for a content type the toolbar may inject into: text/html and nothing else. */
export function isHtml (contentType: unknown): boolean {
  return typeof contentType === 'string' && /^\s*text\/html\s*(;|$)/i.test(contentType)
}

/** The charset named in a content type, lower-case; 'utf-8' when none is named. */
export function charsetOf (contentType: string): string {
  const m = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType)
  return m?.[1]?.toLowerCase() ?? 'utf-8'
}

const BODY_CLOSE = /^<\/body\s*>/i

/** Index of the last `</body>` (any case, optional spaces before `>`), or -1. */
export function lastBodyClose (html: string): number {
  let i = html.lastIndexOf('</')
  while (i !== -1) {
    if (BODY_CLOSE.test(html.slice(i, i + 16))) return i
    if (i === 0) return -1
    i = html.lastIndexOf('</', i - 1)
  }
  return -1
}

/**
 * Put `snippet` before the last `</body>`, or at the end when there is none. Joined rather than
 * concatenated: `+` makes a rope, and Fastify's `Buffer.byteLength` (for content-length) then walks
 * it on V8's slow path and flattens it, before Node flattens it again to write it. `join` copies the
 * page once into a flat string, which both then read on their fast paths: 3 µs less a 20 KB page.
 */
export function injectIntoString (html: string, snippet: string): string {
  const at = lastBodyClose(html)
  return at === -1 ? [html, snippet].join('') : [html.slice(0, at), snippet, html.slice(at)].join('')
}

/**
 * The same on bytes, for Buffer bodies in any ASCII-compatible charset: the search runs on a latin1
 * view (one character a byte) and the snippet is ASCII, so no byte of the page changes.
 */
export function injectIntoBuffer (body: Buffer, snippet: string): Buffer {
  const at = lastBodyClose(body.toString('latin1'))
  const bytes = Buffer.from(snippet, 'latin1')
  if (at === -1) return Buffer.concat([body, bytes])
  return Buffer.concat([body.subarray(0, at), bytes, body.subarray(at)])
}

/** The last content type injectableType was asked about, and its answer. */
let lastType: unknown = null
let lastAnswer = false

/**
 * True for a body the ASCII snippet can go into as is: text/html in an ASCII-compatible charset.
 * An app sends the same few content types again and again, so the answer for the last one is kept
 * (two regular expressions less on every page).
 */
export function injectableType (contentType: unknown): boolean {
  if (contentType === lastType) return lastAnswer
  const answer = isHtml(contentType) && canInjectCharset(charsetOf(contentType as string))
  lastType = contentType
  lastAnswer = answer
  return answer
}

/** Charsets where ASCII bytes stand for themselves, so the snippet can go in as is. */
const ASCII_COMPATIBLE = /^(utf-?8|us-ascii|ascii|iso-8859-\d+|latin1|windows-125\d|cp125\d|shift_jis|euc-jp|euc-kr|gb2312|gbk|gb18030|big5|koi8-[ru])$/

/** True when a page in this charset can take the ASCII snippet without re-encoding. */
export function canInjectCharset (charset: string): boolean {
  return ASCII_COMPATIBLE.test(charset)
}

/** The script tag that loads the toolbar for one request. Every value is escaped. */
export function toolbarSnippet (opts: { prefix: string, id: string, nonce?: string | undefined, subtitle: string, sampling?: boolean }): string {
  const nonce = opts.nonce ? ` nonce="${escapeAttribute(opts.nonce)}"` : ''
  // Without allocation sampling the toolbar leaves out its Sample switch, which would do nothing.
  const sampling = opts.sampling === false ? ' data-sampling="off"' : ''
  return `<script type="module" src="${escapeAttribute(opts.prefix)}/static/toolbar.js" data-debug-toolbar="${escapeAttribute(opts.id)}" data-prefix="${escapeAttribute(opts.prefix)}" data-subtitle="${escapeAttribute(opts.subtitle)}"${sampling}${nonce}></script>`
}
