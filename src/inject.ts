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

/** findInsertion's answer for a fragment: no doctype, `<html>`, `<body>` or `</body>` outside raw text. */
export const NOT_A_DOCUMENT = -1
/** findInsertion's answer for a page with no `</body>` that ends inside a comment, tag or raw-text element. */
export const UNSAFE_END = -2

/** Why a page got no snippet, for the record's notes; '' for an insertion point. */
export function skipReason (at: number): string {
  if (at === NOT_A_DOCUMENT) return 'The toolbar was not injected: the response is an HTML fragment (no doctype, <html> or <body>).'
  if (at === UNSAFE_END) return 'The toolbar was not injected: the page has no </body> and ends inside a comment, tag or <script>-like element.'
  return ''
}

/** True when `word` (lower-case letters) is at `at`, in any case. */
function nameAt (html: string, at: number, word: string): boolean {
  for (let k = 0; k < word.length; k++) if ((html.charCodeAt(at + k) | 0x20) !== word.charCodeAt(k)) return false
  return true
}

/** True for the characters that end a tag name: whitespace, `/`, `>`; and the end of the page. */
function endsName (c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 12 || c === 13 || c === 47 || c === 62 || Number.isNaN(c)
}

/** True when an end tag `</word` (any case, then a name delimiter) is at `at`. */
function endTagAt (html: string, at: number, word: string): boolean {
  return html.charCodeAt(at) === 60 && html.charCodeAt(at + 1) === 47 && nameAt(html, at + 2, word) && endsName(html.charCodeAt(at + 2 + word.length))
}

/** Index of the `</name` that ends a raw-text element whose content starts at `from`, or -1. */
function rawTextEnd (html: string, from: number, name: string): number {
  for (let p = html.indexOf('</', from); p !== -1; p = html.indexOf('</', p + 2)) {
    if (nameAt(html, p + 2, name) && endsName(html.charCodeAt(p + 2 + name.length))) return p
  }
  return -1
}

/**
 * The same for a script, whose content may hold `<!--`: after it, a `<script` keeps a later
 * `</script>` from ending the element until a `-->` (the parser's escaped states).
 */
function scriptEnd (html: string, from: number): number {
  let p = from
  let end = -2 // the first `</script` at or after p; -2 until searched
  let close = -2 // the first `-->` at or after p
  for (;;) {
    if (end !== -1 && end < p) end = rawTextEnd(html, p, 'script')
    const open = html.indexOf('<!--', p)
    if (open === -1 || (end !== -1 && open > end)) return end
    // Escaped: the dashes of `<!--` count towards its `-->`.
    p = open + 2
    let doubled = false
    for (;;) {
      if (close !== -1 && close < p) close = html.indexOf('-->', p)
      const lt = html.indexOf('<', p)
      if (close !== -1 && (lt === -1 || close < lt)) { p = close + 3; break }
      if (lt === -1) return -1
      if (endTagAt(html, lt, 'script')) {
        if (!doubled) return lt
        doubled = false
        p = lt + 8
      } else if (!doubled && nameAt(html, lt + 1, 'script') && endsName(html.charCodeAt(lt + 7))) {
        doubled = true
        p = lt + 7
      } else {
        p = lt + 1
      }
    }
  }
}

/**
 * Index of the '>' that ends the tag opened at `lt`, past quoted attribute values (which may hold
 * '>'), or -1 when the page ends first.
 */
function tagEnd (html: string, lt: number): number {
  let j = lt + 1
  for (;;) {
    const gt = html.indexOf('>', j)
    if (gt === -1) return -1
    const eq = html.indexOf('=', j)
    if (eq === -1 || eq > gt) return gt
    let k = eq + 1
    let q = html.charCodeAt(k)
    while (q === 32 || q === 9 || q === 10 || q === 12 || q === 13) q = html.charCodeAt(++k)
    if (q === 34 || q === 39) {
      const close = html.indexOf(q === 34 ? '"' : "'", k + 1)
      if (close === -1) return -1
      j = close + 1
    } else {
      j = k
    }
  }
}

/** True when a tag (start or end) opens at `lt`: `<` then a letter, or `</` then a letter. */
function opensTag (html: string, lt: number): boolean {
  let c = html.charCodeAt(lt + 1)
  if (c === 47) c = html.charCodeAt(lt + 2)
  c |= 0x20
  return c >= 0x61 && c <= 0x7a
}

/**
 * What can change where a parser is: a comment, doctype or other `<!`/`<?` markup, a bogus `</`, a
 * start or end tag of an element that matters here, or a quoted attribute value holding a `<`.
 * Everything else (text and the other tags) is skipped inside the regular expression engine.
 */
const MARKUP = /<(?:[!?]|\/(?![a-z])|\/?(?:script|style|textarea|title|template|xmp|iframe|noembed|noframes|noscript|plaintext|body|html|head)(?![^\t\n\f\r />]))|=[\t\n\f\r ]*(?:"[^"<]*<|'[^'<]*<)/gi

const DOCUMENT_START = /^\uFEFF?[\t\n\f\r ]*<(?:!doctype[\t\n\f\r >]|html[\t\n\f\r />])/i
const CLEAN_END = /<\/body[\t\n\f\r ]*>[\t\n\f\r ]*(?:<\/html[\t\n\f\r ]*>[\t\n\f\r ]*)?$/i
/** How far from the end quickInsertion looks for the closing tags. */
const CLEAN_END_SPAN = 64

/**
 * The usual page without a scan: it opens with a doctype or `<html>` and ends with `</body>` and
 * at most `</html>` and white space. The snippet goes before that `</body>`, so nothing of the page
 * but those closing tags follows it: even inside a script or comment left open, it is the same as
 * appending at the end. Other pages: undefined, and findInsertion scans them.
 */
function quickInsertion (html: string): number | undefined {
  if (!DOCUMENT_START.test(html)) return undefined
  const from = html.length > CLEAN_END_SPAN ? html.length - CLEAN_END_SPAN : 0
  const m = CLEAN_END.exec(from === 0 ? html : html.slice(from))
  if (m === null) return undefined
  const at = from + m.index
  // The markup just before must be a closed, ordinary tag (not a comment, `<!`/`<?` markup or a
  // raw-text element's start); else the scan decides.
  const lt = html.lastIndexOf('<', at - 1)
  if (lt === -1) return at
  const gt = html.indexOf('>', lt)
  if (gt === -1 || gt >= at) return undefined
  if (OPENS_RAW.test(html.slice(lt, lt + 12)) && !(html.startsWith('<!--', lt) && html.lastIndexOf('-->', gt) > lt + 3)) return undefined
  return at
}

const OPENS_RAW = /^<(?:[!?]|\/(?![a-z])|(?:script|style|textarea|title|template|xmp|iframe|noembed|noframes|noscript|plaintext)(?![^\t\n\f\r />]))/i

/**
 * Where the toolbar's snippet can go in an HTML page: before the last `</body>` that an HTML parser
 * would see as a tag (not inside a comment, an attribute value, a script, style, textarea, title or
 * template), else at the end of a page that ends in body text; NOT_A_DOCUMENT or UNSAFE_END when it
 * must not go in. The usual page is answered from its ends (quickInsertion); others are scanned
 * (scanInsertion). docs/performance.md has what each costs.
 */
export function findInsertion (html: string): number {
  return quickInsertion(html) ?? scanInsertion(html)
}

/** findInsertion's scan: a regular expression jumps to the few places that matter (see MARKUP). */
function scanInsertion (html: string): number {
  const n = html.length
  let document = false
  let lastBody = -1
  let templates = 0
  let unsafe = false
  let i = 0 // the parser is in body text (the data state) here
  let bang = -2 // the first `--!>` at or after i, kept until passed; -1 when there is none
  const re = MARKUP
  for (;;) {
    re.lastIndex = i
    const match = re.exec(html)
    const m = match === null ? n : match.index
    // Inside a tag that opened after i? Then the match is part of it (an attribute): skip the tag.
    // With no match, the same question for the end of the page.
    let lt = m === 0 ? -1 : html.lastIndexOf('<', m - 1)
    while (lt >= i && !opensTag(html, lt)) lt = lt === 0 ? -1 : html.lastIndexOf('<', lt - 1)
    if (lt >= i) {
      const end = tagEnd(html, lt)
      if (end === -1) { unsafe = true; break }
      if (end > m) { i = end + 1; continue }
    }
    if (match === null) break
    const c = html.charCodeAt(m + 1)
    if (html.charCodeAt(m) === 61 /* = */) { i = m + 1; continue } // a '="...<' in text
    if (c === 33 /* ! */ && html.charCodeAt(m + 2) === 45 && html.charCodeAt(m + 3) === 45) {
      // A comment: `<!-->` and `<!--->` end at once, else the first `-->` or `--!>`.
      if (html.charCodeAt(m + 4) === 62) { i = m + 5; continue }
      if (html.charCodeAt(m + 4) === 45 && html.charCodeAt(m + 5) === 62) { i = m + 6; continue }
      const a = html.indexOf('-->', m + 4)
      if (bang !== -1 && bang < m + 4) bang = html.indexOf('--!>', m + 4)
      if (a === -1 && bang === -1) { unsafe = true; break }
      i = a === -1 || (bang !== -1 && bang < a) ? bang + 4 : a + 3
      continue
    }
    if (c === 33 || c === 63 /* ? */ || (c === 47 && !opensTag(html, m))) {
      // `<!doctype ...>`, another `<!...>`, `<?...>` or `</` then not a letter: up to the first '>'.
      if (c === 47 && html.charCodeAt(m + 2) === 62) { i = m + 3; continue } // `</>` is dropped
      if (c === 33 && nameAt(html, m + 2, 'doctype')) document = true
      const end = html.indexOf('>', m + 2)
      if (end === -1) { unsafe = true; break }
      i = end + 1
      continue
    }
    const end = tagEnd(html, m)
    if (end === -1) { unsafe = true; break }
    i = end + 1
    if (c === 47) {
      if (nameAt(html, m + 2, 'body') && endsName(html.charCodeAt(m + 6))) {
        if (templates === 0) { lastBody = m; document = true }
      } else if (nameAt(html, m + 2, 'template') && endsName(html.charCodeAt(m + 10))) {
        if (templates > 0) templates--
      }
      continue
    }
    const name = match[0].slice(1).toLowerCase()
    if (name === 'body' || name === 'html' || name === 'head') {
      document = true
    } else if (name === 'template') {
      templates++
    } else if (name === 'plaintext') {
      unsafe = true // the rest of the page is text
      break
    } else {
      const close = name === 'script' ? scriptEnd(html, i) : rawTextEnd(html, i, name)
      if (close === -1) { unsafe = true; break }
      i = close
    }
  }
  if (lastBody !== -1) return lastBody
  if (!document) return NOT_A_DOCUMENT
  return unsafe ? UNSAFE_END : n
}

/**
 * Put `snippet` where findInsertion says; the page unchanged when it says not to. Joined rather than
 * concatenated: `+` makes a rope, and Fastify's `Buffer.byteLength` (for content-length) then walks
 * it on V8's slow path and flattens it, before Node flattens it again to write it. `join` copies the
 * page once into a flat string, which both then read on their fast paths: 3 µs less a 20 KB page.
 */
export function injectIntoString (html: string, snippet: string, at = findInsertion(html)): string {
  if (at < 0) return html
  return at === html.length ? [html, snippet].join('') : [html.slice(0, at), snippet, html.slice(at)].join('')
}

/**
 * The same as UTF-8 bytes (what Node would send for the string), outside the JS heap: given to
 * Fastify as the body, they are written as they are, where a string body is joined to the header
 * block and flattened once more (docs/performance.md).
 */
export function injectIntoBytes (html: string, snippet: string, at = findInsertion(html)): string | Buffer {
  if (at < 0) return html
  const before = html.slice(0, at)
  const after = html.slice(at)
  const head = Buffer.byteLength(before)
  const out = Buffer.allocUnsafe(head + snippet.length + Buffer.byteLength(after))
  out.write(before, 0, 'utf8')
  out.write(snippet, head, 'latin1')
  out.write(after, head + snippet.length, 'utf8')
  return out
}

/**
 * The same on bytes, for Buffer bodies in any ASCII-compatible charset: the search runs on a latin1
 * view (one character a byte) and the snippet is ASCII, so no byte of the page changes.
 */
export function injectIntoBuffer (body: Buffer, snippet: string, at = findInsertion(body.toString('latin1'))): Buffer {
  if (at < 0) return body
  const bytes = Buffer.from(snippet, 'latin1')
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

/**
 * The script tag that loads the toolbar: the same bytes for every request of a page (with the same
 * nonce), so caches and ETags keep working. The page learns its record id from Server-Timing.
 */
export function toolbarSnippet (opts: { prefix: string, nonce?: string | undefined, sampling?: boolean }): string {
  const nonce = opts.nonce ? ` nonce="${escapeAttribute(opts.nonce)}"` : ''
  // Without allocation sampling the toolbar leaves out its Sample switch, which would do nothing.
  const sampling = opts.sampling === false ? ' data-sampling="off"' : ''
  return `<script type="module" src="${escapeAttribute(opts.prefix)}/static/toolbar.js" data-debug-toolbar data-prefix="${escapeAttribute(opts.prefix)}"${sampling}${nonce}></script>`
}
