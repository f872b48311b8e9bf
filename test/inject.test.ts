import { test } from 'node:test'
import assert from 'node:assert/strict'
import { canInjectCharset, charsetOf, escapeAttribute, injectableType, injectIntoBuffer, injectIntoString, isHtml, lastBodyClose, toolbarSnippet } from '../src/inject.ts'

test('injects the toolbar before the last </body> of an HTML response', () => {
  assert.equal(injectIntoString('<body><p>a</p></body></html>', 'X'), '<body><p>a</p>X</body></html>')
})

test('finds </body> case-insensitively and with spaces before >', () => {
  assert.equal(injectIntoString('<BODY>a</BODY >', 'X'), '<BODY>aX</BODY >')
  assert.equal(lastBodyClose('<p>no closing tag</p>'), -1)
})

test('uses the last of several </body> tags', () => {
  const html = '<body><pre>&lt;/body&gt; </body> in text</pre></body>'
  assert.equal(injectIntoString(html, 'X'), '<body><pre>&lt;/body&gt; </body> in text</pre>X</body>')
})

test('appends the snippet when the page has no </body>', () => {
  assert.equal(injectIntoString('<h1>hi</h1>', 'X'), '<h1>hi</h1>X')
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

test('the snippet escapes every attribute value', () => {
  const s = toolbarSnippet({ prefix: '/__debug', id: 'a"b', nonce: '"><script>', subtitle: '<x>' })
  assert.doesNotMatch(s, /"><script>/)
  assert.match(s, /nonce="&quot;&gt;&lt;script&gt;"/)
  assert.doesNotMatch(s, /data-sampling/, 'sampling on unless said otherwise')
  assert.match(toolbarSnippet({ prefix: '/p', id: 'x', subtitle: '', sampling: false }), / data-sampling="off"/)
  assert.equal(escapeAttribute('plain'), 'plain')
  assert.equal(escapeAttribute('&"<>'), '&amp;&quot;&lt;&gt;')
})
