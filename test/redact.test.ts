import { test } from 'node:test'
import assert from 'node:assert/strict'
import { REDACTED, redactCookieHeader, redactHeaders, redactQuery, redactUrl } from '../src/redact.ts'

const names = new Set(['authorization', 'cookie', 'set-cookie', 'proxy-authorization', 'x-api-key', 'token'])

test('redacts configured headers and keeps cookie names without values', () => {
  const out = redactHeaders({ Authorization: 'Bearer s3cret', 'x-api-key': 'k', cookie: 'sid=abc; theme=dark', accept: 'text/html', 'set-cookie': ['a=1', 'b=2'], n: 5 }, names)
  assert.equal(out.authorization, REDACTED)
  assert.equal(out['x-api-key'], REDACTED)
  assert.equal(out.cookie, `sid=${REDACTED}; theme=${REDACTED}`)
  assert.equal(out['set-cookie'], REDACTED)
  assert.equal(out.accept, 'text/html')
  assert.equal(out.n, '5')
  assert.doesNotMatch(JSON.stringify(out), /s3cret|abc|dark/)
})

test('redacts query parameters in the parsed query and in the URL', () => {
  assert.deepEqual(redactQuery({ token: 'abc', page: '2', list: ['a', 'b'] }, names), { token: REDACTED, page: '2', list: 'a, b' })
  assert.equal(redactUrl('/p?token=abc&page=2&TOKEN=x&t%6Fken=y', names), `/p?token=${REDACTED}&page=2&TOKEN=${REDACTED}&t%6Fken=${REDACTED}`)
  assert.equal(redactUrl('/plain', names), '/plain')
  assert.equal(redactUrl('/p?bad=%E0%A4%A', names), '/p?bad=%E0%A4%A')
})

test('a cookie header without = still hides nothing it should not show', () => {
  assert.equal(redactCookieHeader('justavalue'), `justavalue=${REDACTED}`)
})
