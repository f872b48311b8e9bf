import { test } from 'node:test'
import assert from 'node:assert/strict'
import Fastify from 'fastify'
import swagger from '@fastify/swagger'
import debugToolbar from '../src/index.ts'

for (const prefix of ['/__debug', '/tools/debug']) {
  test(`no toolbar route under ${prefix} appears in the OpenAPI document of @fastify/swagger registered first`, async () => {
    const app = Fastify()
    await app.register(swagger, { openapi: { info: { title: 'app', version: '1.0.0' } } })
    await app.register(debugToolbar, { enabled: true, prefix })
    app.get('/users/:id', { schema: { params: { type: 'object', properties: { id: { type: 'string' } } } } }, async () => ({}))
    app.post('/users', async () => ({}))
    await app.ready()
    const paths = Object.keys(app.swagger().paths ?? {})
    assert.deepEqual(paths.sort(), ['/users', '/users/{id}'])
    // The toolbar's routes are still there and answer.
    assert.equal((await app.inject(`${prefix}/`)).statusCode, 200)
    await app.close()
  })
}

test('the app\'s own hidden and visible routes keep their schema when the toolbar is registered', async () => {
  const app = Fastify()
  await app.register(swagger, { openapi: { info: { title: 'app', version: '1.0.0' } } })
  await app.register(debugToolbar, { enabled: true })
  app.get('/internal', { schema: { hide: true } }, async () => ({}))
  app.get('/public', { schema: { description: 'visible' } }, async () => ({}))
  await app.ready()
  const paths = app.swagger().paths ?? {}
  assert.deepEqual(Object.keys(paths), ['/public'])
  assert.equal(paths['/public']?.get?.description, 'visible')
  await app.close()
})
