/**
 * The app the leak-test browser test drives, in a process of its own: the browser driver's own
 * allocations (playwright-core) would otherwise be in the heap the test measures. Prints its URL.
 */
import Fastify from 'fastify'
import debugToolbar from '../../src/index.ts'

/** What the leaking page keeps: ten items a call, in a module-level list. */
class CartItem {
  sku = 'sku-1'
  quantity = 1
  price = 9.5
  a = 0; b = 0; c = 0; d = 0; e = 0; f = 0; g = 0; h = 0; i = 0; j = 0; k = 0; l = 0; m = 0; n = 0; o = 0; p = 0
}
const abandonedCarts: CartItem[][] = []

const app = Fastify()
await app.register(debugToolbar, { enabled: true })
app.get('/cart', async function addToCart (request, reply) {
  // The page's own cookie must come with every repeated call.
  if (!/(?:^|;\s*)session=abc(?:;|$)/.test(request.headers.cookie ?? '')) return await reply.code(401).type('text/html').send('<html><body>no session</body></html>')
  const cart: CartItem[] = []
  for (let i = 0; i < 10; i++) cart.push(new CartItem())
  abandonedCarts.push(cart)
  return await reply.type('text/html').send('<!doctype html><html><head><title>Cart</title></head><body><h1>Cart</h1></body></html>')
})
const url = await app.listen({ host: '127.0.0.1', port: 0 })
process.stdout.write(`listening ${url}\n`)
process.on('SIGTERM', () => { app.close().then(() => process.exit(0), () => process.exit(1)) })
