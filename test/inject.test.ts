import { test } from 'node:test'
import assert from 'node:assert/strict'
import { canInjectCharset, charsetOf, escapeAttribute, injectableType, injectIntoBuffer, injectIntoString, isHtml, findInsertion, NOT_A_DOCUMENT, skipReason, toolbarSnippet, UNSAFE_END } from '../src/inject.ts'

test('injects the toolbar before the last </body> of an HTML response', () => {
  assert.equal(injectIntoString('<body><p>a</p></body></html>', 'X'), '<body><p>a</p>X</body></html>')
})

test('finds </body> case-insensitively and with spaces before >', () => {
  assert.equal(injectIntoString('<BODY>a</BODY >', 'X'), '<BODY>aX</BODY >')
  assert.equal(findInsertion('<p>no closing tag</p>'), NOT_A_DOCUMENT)
})

test('uses the last of several </body> tags', () => {
  const html = '<body><pre>&lt;/body&gt; </body> in text</pre></body>'
  assert.equal(injectIntoString(html, 'X'), '<body><pre>&lt;/body&gt; </body> in text</pre>X</body>')
})

test('appends the snippet to a whole document that has no </body>', () => {
  assert.equal(injectIntoString('<!doctype html><h1>hi</h1>', 'X'), '<!doctype html><h1>hi</h1>X')
  assert.equal(injectIntoString('<html><body><p>hi', 'X'), '<html><body><p>hiX')
})

test('leaves HTML fragments untouched', () => {
  for (const fragment of ['<h1>hi</h1>', '<li>one</li><li>two</li>', '<tr><td>1</td></tr>', 'plain text', '<div title="<body>">x</div>', '<!-- <html> --><p>x</p>', '<script>"<body>"</script>']) {
    assert.equal(findInsertion(fragment), NOT_A_DOCUMENT, fragment)
    assert.equal(injectIntoString(fragment, 'X'), fragment)
  }
  assert.match(skipReason(NOT_A_DOCUMENT), /fragment/)
})

test('skips </body> inside scripts, styles, textareas, titles, templates, comments and attribute values', () => {
  const cases: Array<[string, string]> = [
    ['<!doctype html><body>a</body><script>var s = "x</body><img src=x onerror=alert(1)>"</script>', '<!doctype html><body>aX</body><script>var s = "x</body><img src=x onerror=alert(1)>"</script>'],
    ['<!doctype html><p>a<script>var s = "</body>"</script>', '<!doctype html><p>a<script>var s = "</body>"</script>X'],
    ['<html><body><style>p::after { content: "</body>" }</style></body>', '<html><body><style>p::after { content: "</body>" }</style>X</body>'],
    ['<html><body><textarea></body></textarea></body>', '<html><body><textarea></body></textarea>X</body>'],
    ['<html><title></BODY></title><body>a</body>', '<html><title></BODY></title><body>aX</body>'],
    ['<html><body>a</body><template></body></template>', '<html><body>aX</body><template></body></template>'],
    ['<html><body>a</body><!-- </body> -->', '<html><body>aX</body><!-- </body> -->'],
    ['<html><body>a</body><div title="</body>" data-x=\'</body>\'>', '<html><body>aX</body><div title="</body>" data-x=\'</body>\'>'],
    ['<html><body>a</body><noscript></body></noscript>', '<html><body>aX</body><noscript></body></noscript>'],
    ['<html><body>a</body><SCRIPT type="text/x">x</body></script >', '<html><body>aX</body><SCRIPT type="text/x">x</body></script >']
  ]
  for (const [page, expected] of cases) assert.equal(injectIntoString(page, 'X'), expected, page)
})

test('follows a script through <!-- and <script> inside it, as the parser does', () => {
  // Inside `<!--` a `<script>` makes the next `</script>` part of the text, until `-->`.
  const page = '<!doctype html><body>a</body><script><!-- <script></script> </body> --></script>'
  assert.equal(findInsertion(page), page.indexOf('</body>'))
  const closed = '<!doctype html><script><!-- x --></script><p>b</p></body>'
  assert.equal(findInsertion(closed), closed.lastIndexOf('</body>'))
  const early = '<!doctype html><script><!-- x </script><p>b</p></body>'
  assert.equal(findInsertion(early), early.lastIndexOf('</body>'), 'in the escaped state </script> still ends the script')
})

test('reads comments, bogus comments and tags the way the parser ends them', () => {
  const cases: Array<[string, string]> = [
    ['<!doctype html><body>a<!-- x --!> <p>b</p></body>', 'a<!-- x --!> <p>b</p>X</body>'],
    ['<!doctype html><body>a<!--></body>', 'a<!-->X</body>'],
    ['<!doctype html><body>a<!---></body>', 'a<!--->X</body>'],
    ['<!doctype html><body>a</ x </body>', 'a</ x </body>X'],
    ['<!doctype html><body><p title="a>b" data-x=\'<\' class=c>x = "1 < 2"</p></body>', '<p title="a>b" data-x=\'<\' class=c>x = "1 < 2"</p>X</body>'],
    ['<!doctype html><body><a href=x</body>>y</a></body>', '<a href=x</body>>y</a>X</body>'],
    ['<!DOCTYPE html><BODY>a</BODY>', 'aX</BODY>']
  ]
  for (const [page, tail] of cases) assert.ok(injectIntoString(page, 'X').endsWith(tail), `${page} -> ${injectIntoString(page, 'X')}`)
})

test('does not append to a document that ends inside a comment, tag or script', () => {
  for (const page of ['<!doctype html><p>a<script>var s = 1', '<!doctype html><p>a<!-- x', '<!doctype html><p>a<div title="x', '<!doctype html><plaintext>a</body>']) {
    assert.equal(findInsertion(page), UNSAFE_END, page)
    assert.equal(injectIntoString(page, 'X'), page)
  }
  assert.match(skipReason(UNSAFE_END), /ends inside/)
})

test('injects into Buffer bodies without changing any other byte', () => {
  const page = Buffer.concat([Buffer.from('<body>caf'), Buffer.from([0xe9]), Buffer.from('</body>')]) // latin1 é
  const out = injectIntoBuffer(page, 'X')
  assert.deepEqual(out, Buffer.concat([Buffer.from('<body>caf'), Buffer.from([0xe9]), Buffer.from('X</body>')]))
  const utf8 = Buffer.from('<body>日本語</body>')
  assert.equal(injectIntoBuffer(utf8, 'X').toString('utf8'), '<body>日本語X</body>')
})

test('only text/html is HTML; charsets are read from the content type', () => {
  assert.equal(isHtml('text/html; charset=utf-8'), true)
  assert.equal(isHtml('TEXT/HTML'), true)
  assert.equal(isHtml('application/xhtml+xml'), false)
  assert.equal(isHtml('text/htmlx'), false)
  assert.equal(isHtml(undefined), false)
  assert.equal(charsetOf('text/html; charset="ISO-8859-1"'), 'iso-8859-1')
  assert.equal(charsetOf('text/html'), 'utf-8')
  assert.equal(canInjectCharset('windows-1252'), true)
  assert.equal(canInjectCharset('utf-16le'), false)
})

test('injectableType answers for each content type, asked in any order and again', () => {
  const cases: Array<[unknown, boolean]> = [
    ['text/html; charset=utf-8', true],
    ['text/html; charset=utf-8', true],
    ['text/html; charset=utf-16le', false],
    ['text/html; charset=utf-16le', false],
    ['application/json; charset=utf-8', false],
    ['text/html', true],
    [undefined, false],
    ['TEXT/HTML; charset=windows-1252', true],
    [null, false],
    ['text/html; charset=utf-8', true]
  ]
  for (const [type, expected] of cases) assert.equal(injectableType(type), expected, String(type))
})

test('the snippet escapes every attribute value and is the same for every request of a page', () => {
  const s = toolbarSnippet({ prefix: '/__debug"x', nonce: '"><script>' })
  assert.doesNotMatch(s, /"><script>/)
  assert.match(s, /nonce="&quot;&gt;&lt;script&gt;"/)
  assert.match(s, /data-prefix="\/__debug&quot;x"/)
  assert.doesNotMatch(s, /data-sampling/, 'sampling on unless said otherwise')
  assert.match(toolbarSnippet({ prefix: '/p', sampling: false }), / data-sampling="off"/)
  assert.equal(toolbarSnippet({ prefix: '/p' }), '<script type="module" src="/p/static/toolbar.js" data-debug-toolbar data-prefix="/p"></script>')
  assert.equal(escapeAttribute('plain'), 'plain')
  assert.equal(escapeAttribute('&"<>'), '&amp;&quot;&lt;&gt;')
})
