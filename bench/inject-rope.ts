/**
 * What injecting costs on a page as an app serves it: eta's output is a rope, and whoever reads it
 * first (the toolbar's search, or Fastify's `Buffer.byteLength` and Node's write without the toolbar)
 * walks or flattens it. One variant per process, counted with callgrind (instructions, not time):
 *
 *   for v in render off toolbar; do for n in 1000 3000; do
 *     valgrind --tool=callgrind --smc-check=all-non-file --callgrind-out-file=/dev/null \
 *       node --import tsx bench/inject-rope.ts $v $n 2>&1 | grep Collected; done; done
 *
 * (Ir at 3000 − Ir at 1000) / 2000 is a page's count; `off` and `toolbar` minus `render` is what
 * measuring the length and encoding the page costs without and with the snippet put in.
 */
import { fileURLToPath } from 'node:url'
import { Eta } from 'eta'
import { injectIntoString, toolbarSnippet } from '../src/inject.ts'
import { makeCatalogue, pageData } from './catalogue.ts'

const eta = new Eta({ autoEscape: true, views: fileURLToPath(new URL('./views', import.meta.url)) })
const data = pageData(makeCatalogue())
const snippet = toolbarSnippet({ prefix: '/__debug' })

const VARIANTS: Record<string, (html: string) => number> = {
  /** Rendering alone. */
  render: (html) => html.length,
  /** What Fastify and Node do with the page: its byte length for Content-Length, then its bytes. */
  off: (html) => Buffer.byteLength(html) + Buffer.from(html).length,
  /** The same after the toolbar found the insertion point and put the snippet in. */
  toolbar: (html) => {
    const out = injectIntoString(html, snippet)
    return Buffer.byteLength(out) + Buffer.from(out).length
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
