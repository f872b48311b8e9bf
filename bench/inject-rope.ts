/**
 * What injecting costs on a page as an app serves it: eta's output is a rope, and whoever reads it
 * first (the toolbar's search, or Fastify's `Buffer.byteLength` and Node's write without the toolbar)
 * walks or flattens it; Node then writes a string body after its header block as one string, a
 * Buffer as it is. One variant per process, counted with callgrind (instructions, not time):
 *
 *   for v in render off toolbar-string toolbar-bytes; do for n in 1000 3000; do
 *     valgrind --tool=callgrind --smc-check=all-non-file --callgrind-out-file=/dev/null \
 *       node --import tsx bench/inject-rope.ts $v $n 2>&1 | grep Collected; done; done
 *
 * (Ir at 3000 − Ir at 1000) / 2000 is a page's count; each variant minus `render` is what measuring
 * the length and encoding the page costs without the toolbar and with the snippet put in.
 */
import { fileURLToPath } from 'node:url'
import { Eta } from 'eta'
import { injectIntoBytes, injectIntoString, toolbarSnippet } from '../src/inject.ts'
import { makeCatalogue, pageData } from './catalogue.ts'

const eta = new Eta({ autoEscape: true, views: fileURLToPath(new URL('./views', import.meta.url)) })
const data = pageData(makeCatalogue())
const snippet = toolbarSnippet({ prefix: '/__debug' })
/** A header block like the one Node puts before the page (`res._header`). */
const HEADER = 'HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\nx-debug-toolbar-id: 0123456789abcdef0123456789abcdef\r\n' +
  'server-timing: memory-profiling;dur=0.1, memory;desc="+1.2 kB"\r\ncontent-length: 20674\r\nDate: Thu, 01 Jan 2026 00:00:00 GMT\r\n' +
  'Connection: keep-alive\r\nKeep-Alive: timeout=72\r\n\r\n'

const VARIANTS: Record<string, (html: string) => number> = {
  /** Rendering alone. */
  render: (html) => html.length,
  /** What Fastify and Node do with the page: its byte length for Content-Length, then the header block and the page as one string, encoded. */
  off: (html) => Buffer.byteLength(html) + Buffer.from(HEADER + html).length,
  /** The same after the toolbar put the snippet in, joined into a string (a later onSend hook of the app gets a string). */
  'toolbar-string': (html) => {
    const out = injectIntoString(html, snippet)
    return Buffer.byteLength(out) + Buffer.from(HEADER + out).length
  },
  /** The toolbar's page as UTF-8 bytes (its hook is the route's last): Node writes the header block and the bytes apart. */
  'toolbar-bytes': (html) => {
    const out = injectIntoBytes(html, snippet)
    return out.length + Buffer.from(HEADER, 'latin1').length
  }
}

const variant = VARIANTS[process.argv[2] ?? '']
const n = Number(process.argv[3] ?? 1000)
if (variant === undefined || !Number.isInteger(n) || n < 1) {
  console.error(`usage: inject-rope.ts ${Object.keys(VARIANTS).join('|')} <pages>`)
  process.exit(2)
}
let sink = 0
for (let i = 0; i < n; i++) sink += variant(eta.render('page.eta', data))
if (sink === 0) console.log('no bytes')
