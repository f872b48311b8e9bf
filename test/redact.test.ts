import { test } from 'node:test'
import assert from 'node:assert/strict'
import { REDACTED, redactCookieHeader, redactQuery, redactUrl } from '../src/redact.ts'
import { captureHeaderBlock, captureHeaderMap, createRedactor, scanRequestHeaders } from '../src/headers.ts'

const names = new Set(['authorization', 'cookie', 'set-cookie', 'proxy-authorization', 'x-api-key', 'token'])

const redactor = createRedactor(names)

test('redacts configured headers and keeps cookie names without values', () => {
  const out = captureHeaderMap({ Authorization: 'Bearer s3cret', 'x-api-key': 'k', cookie: 'sid=abc; theme=dark', accept: 'text/html', 'set-cookie': ['a=1', 'b=2'], n: 5 }, redactor).toJSON()
  assert.equal(out.authorization, REDACTED)
  assert.equal(out['x-api-key'], REDACTED)
  assert.equal(out.cookie, `sid=${REDACTED}; theme=${REDACTED}`)
  assert.equal(out['set-cookie'], REDACTED)
  assert.equal(out.accept, 'text/html')
  assert.equal(out.n, '5')
  assert.doesNotMatch(JSON.stringify(out), /s3cret|abc|dark/)
})

test('the request scan redacts rawHeaders in any case, joins repeats and reads the toolbar\'s own headers', () => {
  const scan = scanRequestHeaders([
    'Host', 'localhost', 'AUTHORIZATION', 'Bearer s3cret', 'Cookie', 'sid=abc; fdt-precise=1', 'cookie', 'theme=dark',
    'X-Api-Key', 'k', 'X-Forwarded-For', '127.0.0.1', 'x-forwarded-for', '::1', 'Forwarded', 'for=127.0.0.1',
    'X-Debug-Toolbar-Precise', '1', 'x-debug-toolbar-sample', '0', 'Accept', 'a', 'accept', 'b'
  ], redactor)
  assert.deepEqual(scan.forwardedFor, ['127.0.0.1', '::1'])
  assert.deepEqual(scan.forwarded, ['for=127.0.0.1'])
  assert.equal(scan.cookie, 'sid=abc; fdt-precise=1; theme=dark', 'the mode cookies are read before redaction')
  assert.equal(scan.precise, '1')
  assert.equal(scan.sample, '0')
  const out = scan.headers.toJSON()
  assert.deepEqual(out, {
    host: 'localhost',
    authorization: REDACTED,
    cookie: `sid=${REDACTED}; fdt-precise=${REDACTED}; theme=${REDACTED}`,
    'x-api-key': REDACTED,
    'x-forwarded-for': '127.0.0.1, ::1',
    forwarded: 'for=127.0.0.1',
    'x-debug-toolbar-precise': '1',
    'x-debug-toolbar-sample': '0',
    accept: 'a, b'
  })
  assert.doesNotMatch(JSON.stringify({ ...scan.headers }), /s3cret|abc|dark/, 'what is kept, not only what is shown')
})

test('a response header block is kept whole when it names no secret, and split and redacted when it does', () => {
  const plain = 'HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 5\r\nDate: Sat, 21 Nov 2026 07:00:00 GMT\r\n\r\n'
  assert.deepEqual(captureHeaderBlock(plain, redactor).toJSON(), { 'content-type': 'text/html', 'content-length': '5', date: 'Sat, 21 Nov 2026 07:00:00 GMT' })
  const secret = 'HTTP/1.1 200 OK\r\nSet-Cookie: sid=s3cret\r\nset-cookie: b=2\r\nX-API-KEY: k\r\nx-ok: yes\r\n\r\n'
  const stored = captureHeaderBlock(secret, redactor)
  assert.deepEqual(stored.toJSON(), { 'set-cookie': REDACTED, 'x-api-key': REDACTED, 'x-ok': 'yes' })
  assert.doesNotMatch(JSON.stringify({ ...stored }), /s3cret/, 'nothing of the raw block is kept')
})

test('redacts query parameters in the parsed query and in the URL', () => {
  assert.deepEqual(redactQuery({ token: 'abc', page: '2', list: ['a', 'b'] }, names), { token: REDACTED, page: '2', list: 'a, b' })
  assert.equal(redactUrl('/p?token=abc&page=2&TOKEN=x&t%6Fken=y', names), `/p?token=${REDACTED}&page=2&TOKEN=${REDACTED}&t%6Fken=${REDACTED}`)
  assert.equal(redactUrl('/plain', names), '/plain')
  assert.equal(redactUrl('/p?bad=%E0%A4%A', names), '/p?bad=%E0%A4%A')
})

test('a nameless cookie keeps no part of its value: it is stored as the placeholder alone', () => {
  // Chromium sends `Cookie: justavalue` for document.cookie = '=justavalue': the part is a value, not a name.
  assert.equal(redactCookieHeader('justavalue'), REDACTED)
  assert.equal(redactCookieHeader('=justavalue'), REDACTED)
  assert.equal(redactCookieHeader('a=1; justavalue; =other; b=2;'), `a=${REDACTED}; ${REDACTED}; ${REDACTED}; b=${REDACTED}`)
})
