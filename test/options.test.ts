import { test } from 'node:test'
import assert from 'node:assert/strict'
import { allowLoopback, isLoopbackAddress, resolveOptions, type DebugToolbarOptions } from '../src/options.ts'
import type { FastifyRequest } from 'fastify'

test('defaults: enabled outside production, /__debug prefix, 50 requests, 16 MiB, cpuTime off', () => {
  const o = resolveOptions(undefined, { NODE_ENV: 'development' })
  assert.equal(o.enabled, true)
  assert.equal(o.prefix, '/__debug')
  assert.equal(o.maxRequests, 50)
  assert.equal(o.maxStoreBytes, 16 * 1024 * 1024)
  assert.equal(o.cpuTime, false)
  assert.equal(o.allow, allowLoopback)
  for (const name of ['authorization', 'cookie', 'set-cookie', 'proxy-authorization']) assert.ok(o.redact.has(name))
})

test('is off by default when NODE_ENV is production', () => {
  assert.equal(resolveOptions({}, { NODE_ENV: 'production' }).enabled, false)
  assert.equal(resolveOptions({ enabled: true }, { NODE_ENV: 'production' }).enabled, true)
})

test('redact names are added to the built-in list, lower-cased', () => {
  const o = resolveOptions({ redact: ['X-Api-Key', 'token'] }, {})
  assert.ok(o.redact.has('x-api-key'))
  assert.ok(o.redact.has('token'))
  assert.ok(o.redact.has('authorization'))
})

const bad: Array<[string, unknown]> = [
  ['enabled', 'yes'],
  ['prefix', 'debug'],
  ['prefix', '/debug/'],
  ['prefix', '/de bug'],
  ['prefix', '/a"b'],
  ['allow', true],
  ['maxRequests', 0],
  ['maxRequests', 1.5],
  ['maxRequests', '10'],
  ['maxStoreBytes', 10],
  ['redact', 'authorization'],
  ['redact', ['']],
  ['serverTiming', 1],
  ['inject', null],
  ['cpuTime', 'no'],
  ['colour', 'red']
]
for (const [name, value] of bad) {
  test(`rejects ${name}=${JSON.stringify(value)} with FST_DEBUG_TOOLBAR_INVALID_OPTION naming the option`, () => {
    assert.throws(() => resolveOptions({ [name]: value } as DebugToolbarOptions, {}), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'FST_DEBUG_TOOLBAR_INVALID_OPTION')
      assert.match(err.message, new RegExp(`"${name}"`))
      return true
    })
  })
}

test('loopback detection covers 127.0.0.0/8, ::1 and IPv4-mapped loopback only', () => {
  for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) assert.equal(isLoopbackAddress(a), true, a)
  for (const a of [undefined, '', '10.0.0.1', '192.168.1.1', '::ffff:10.0.0.1', '1270.0.0.1', '127.0.0.1.evil', 'fe80::1', '::2']) assert.equal(isLoopbackAddress(a), false, String(a))
})

test('the default allow check needs a loopback socket; X-Forwarded-For can only refuse (see trust-proxy.test.ts)', () => {
  const fake = (remoteAddress: string, xff?: string) => ({ raw: { socket: { remoteAddress }, headers: { 'x-forwarded-for': xff } }, ip: xff ?? remoteAddress }) as unknown as FastifyRequest
  assert.equal(allowLoopback(fake('127.0.0.1')), true)
  assert.equal(allowLoopback(fake('127.0.0.1', '127.0.0.1')), true)
  assert.equal(allowLoopback(fake('127.0.0.1', '8.8.8.8')), false, 'a local proxy forwarding an outside client')
  assert.equal(allowLoopback(fake('10.1.1.1', '127.0.0.1')), false, 'a spoofed header from an outside socket')
})

test('loopback Host names: localhost, 127.x and [::1] with any port, nothing else', async () => {
  const { isLoopbackHost } = await import('../src/options.ts')
  for (const h of ['localhost', 'localhost:3000', 'LOCALHOST', 'app.localhost:80', '127.0.0.1', '127.0.0.1:8080', '[::1]', '[::1]:3000']) assert.equal(isLoopbackHost(h), true, h)
  for (const h of [undefined, '', 'evil.example', 'evil.example:3000', '127.0.0.1.nip.io', 'localhost.evil.example', '[::2]', '10.0.0.1', 'localhost:99999x']) assert.equal(isLoopbackHost(h), false, String(h))
})
