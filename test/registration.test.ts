import assert from 'node:assert/strict'
import { test } from 'node:test'
import Fastify, { type FastifyInstance } from 'fastify'
import debugToolbar from '../src/index.ts'

async function app (prefix: string): Promise<FastifyInstance> {
  const a = Fastify()
  await a.register(debugToolbar, { enabled: true, prefix })
  a.get('/page', async (_request, reply) => reply.type('text/html').send(`<!doctype html><html><body>${prefix}</body></html>`))
  await a.ready()
  return a
}

/** One app's request, then every kind of toolbar page for it; what each answered. */
async function walk (a: FastifyInstance, prefix: string): Promise<{ id: string }> {
  const page = await a.inject('/page')
  const id = String(page.headers['x-debug-toolbar-id'])
  assert.match(id, /^[0-9a-f]{32}$/)
  assert.match(page.body, new RegExp(`src="${prefix}/static/toolbar\\.js"`))

  const history = await a.inject(`${prefix}/`)
  assert.equal(history.statusCode, 200)
  assert.match(history.body, new RegExp(`href="${prefix}/requests/${id}"`))
  const request = await a.inject(`${prefix}/requests/${id}`)
  assert.equal(request.statusCode, 200)
  assert.match(request.body, /\/page/)
  const panel = await a.inject(`${prefix}/requests/${id}/panels/memory`)
  assert.equal(panel.statusCode, 200)
  assert.match(panel.body, /Heap delta/)
  // The shared validators still validate: a too-long id and a too-long panel name are 400s.
  assert.equal((await a.inject(`${prefix}/api/requests/${'a'.repeat(65)}`)).statusCode, 400)
  assert.equal((await a.inject(`${prefix}/requests/${id}/panels/${'p'.repeat(33)}`)).statusCode, 400)
  assert.equal((await a.inject(`${prefix}/api/requests/${id}`)).json().id, id)
  return { id }
}

test('apps registered one after another and side by side in one process each render and validate their own toolbar', async () => {
  // One after another, as a test suite builds an app per test.
  for (let i = 0; i < 3; i++) {
    const a = await app('/__debug')
    await walk(a, '/__debug')
    await a.close()
  }
  // Side by side, with different prefixes: each keeps its own records and links.
  const one = await app('/__one')
  const two = await app('/__two')
  try {
    const r1 = await walk(one, '/__one')
    const r2 = await walk(two, '/__two')
    assert.equal((await one.inject(`/__one/api/requests/${r2.id}`)).statusCode, 404)
    assert.equal((await two.inject(`/__two/api/requests/${r1.id}`)).statusCode, 404)
    const history = (await two.inject('/__two/')).body
    assert.doesNotMatch(history, /__one/)
  } finally {
    await one.close()
    await two.close()
  }
})

test('HEAD on every toolbar page and API route answers with its GET\'s status and headers and no body', async () => {
  const a = await app('/__debug')
  try {
    const { id } = await walk(a, '/__debug')
    for (const url of ['/__debug', '/__debug/', '/__debug/?view=routes', '/__debug/api/requests', `/__debug/api/requests/${id}`, `/__debug/api/requests/${'0'.repeat(32)}`,
      `/__debug/requests/${id}`, `/__debug/requests/${id}/toolbar`, `/__debug/requests/${id}/panels/memory`, `/__debug/requests/${id}/record.json`,
      '/__debug/api/store', '/__debug/api/sparkline', '/__debug/api/leak-tests', `/__debug/api/leak-tests/${'0'.repeat(32)}`, '/__debug/api/process', '/__debug/static/toolbar.js', '/__debug/nope']) {
      const get = await a.inject({ method: 'GET', url })
      const head = await a.inject({ method: 'HEAD', url })
      assert.equal(head.statusCode, get.statusCode, url)
      assert.equal(head.body, '', url)
      for (const name of ['content-type', 'content-length', 'cache-control', 'x-content-type-options', 'x-frame-options', 'content-security-policy', 'referrer-policy']) {
        // The history and the live series may grow between the two requests; their length is checked for being set only.
        if (name === 'content-length' && !url.includes('/requests/') && !url.includes('/static/')) assert.ok(head.headers[name] !== undefined, url)
        else assert.equal(head.headers[name], get.headers[name], `${url} ${name}`)
      }
    }
  } finally {
    await a.close()
  }
})

test('toolbar pages render beside the app\'s own @fastify/view and reply.locals, and leave both alone', async () => {
  const { default: fastifyView } = await import('@fastify/view')
  const { Eta } = await import('eta')
  const a = Fastify()
  const eta = new Eta()
  await a.register(fastifyView, { engine: { eta } })
  a.addHook('onRequest', async (_request, reply) => { (reply as unknown as { locals: object }).locals = { prefix: '/elsewhere', appOnly: 'x' } })
  await a.register(debugToolbar, { enabled: true })
  a.get('/page', async (_request, reply) => await reply.viewAsync({ raw: '<!doctype html><html><body><%= it.appOnly %> <%= it.prefix %></body></html>' } as unknown as string))
  await a.ready()
  try {
    const page = await a.inject('/page')
    assert.match(page.body, /<body>x \/elsewhere/)
    const id = String(page.headers['x-debug-toolbar-id'])
    const history = await a.inject('/__debug/')
    assert.equal(history.statusCode, 200)
    assert.match(String(history.headers['content-type']), /^text\/html; charset=utf-8/)
    // The toolbar's own data wins over the app's locals of the same name.
    assert.match(history.body, new RegExp(`href="/__debug/requests/${id}"`))
    assert.doesNotMatch(history.body, /\/elsewhere/)
  } finally {
    await a.close()
  }
})
