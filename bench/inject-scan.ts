/**
 * What finding the toolbar's insertion point costs on one page: the plain search for the last
 * `</body>` (kept here as the reference) against findInsertion's scan, on the 20 KB bench page and
 * on a hostile page of the same size (dense tags and attributes, quotes, comments, `<` in text and
 * a script full of `</` and `<!--`), each as served (ending `</body></html>`: no scan needed) and with
 * a script after its `</body>` (scanned). Flat strings, so V8's flattening of a rope is not counted.
 *
 *   npx tsx bench/inject-scan.ts
 */
import { findInsertion } from '../src/inject.ts'
import { benchPage } from './page.ts'

const BODY_CLOSE = /^<\/body\s*>/i

/** The reference: the last `</body>` wherever it is (inside a script or comment too). */
function lastBodyClose (html: string): number {
  let i = html.lastIndexOf('</')
  while (i !== -1) {
    if (BODY_CLOSE.test(html.slice(i, i + 16))) return i
    if (i === 0) return -1
    i = html.lastIndexOf('</', i - 1)
  }
  return -1
}

/** About `targetBytes` of markup built to make a scanner work: every construct it treats specially. */
function hostilePage (targetBytes = 20 * 1024): string {
  const parts = ['<!doctype html><html><head><title>a </body> b</title></head><body>']
  let size = parts[0]?.length ?? 0
  for (let i = 0; size < targetBytes; i++) {
    const part = i % 4 === 0
      ? `<div a=1 b='x>y' c="</body>" d e=f data-${i}="${'q'.repeat(i % 40)}"><span title='"'>1 < 2 <3 a<b</span></div>\n`
      : i % 4 === 1
        ? '<!-- </body> --><!--><!---><? pi ?><!x y><p class=a>t</p>\n'
        : i % 4 === 2
          ? '<script>if (a </b) {} var s = "<!-- <script> </body> </script> -->"; s += \'</div>\'</script>\n'
          : '<textarea></body><b></textarea><style>a::after{content:"</body>"}</style><template></body></template>\n'
    parts.push(part)
    size += part.length
  }
  parts.push('</body></html>\n')
  return parts.join('')
}

/** Mean µs per call over `n` calls, after a warm-up; the best of five rounds. */
function usPerCall (fn: (s: string) => number, page: string, n = 20_000): number {
  let sink = 0
  for (let i = 0; i < 2000; i++) sink += fn(page)
  let best = Infinity
  for (let round = 0; round < 5; round++) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < n; i++) sink += fn(page)
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / n / 1000)
  }
  if (sink === 0.5) console.log(sink)
  return best
}

/** A page with markup after its last `</body>` (an app's script there): findInsertion scans it. */
function withTrailer (page: string): string {
  return page.replace(/<\/body>\s*<\/html>\s*$/, '</body><script>var s = "</body>"</script></html>\n')
}

const pages: Array<[string, string]> = [
  ['bench page (bench/page.ts)', benchPage()],
  ['hostile page', hostilePage()],
  ['bench page, a script after </body> (scanned)', withTrailer(benchPage())],
  ['hostile page, a script after </body> (scanned)', withTrailer(hostilePage())]
]
console.log('| page | bytes | lastBodyClose µs | findInsertion µs | insertion point (same?) |')
console.log('| --- | ---: | ---: | ---: | --- |')
for (const [name, page] of pages) {
  const flat = page.split('').join('') // a flat copy
  const old = lastBodyClose(flat)
  const now = findInsertion(flat)
  console.log(`| ${name} | ${flat.length} | ${usPerCall(lastBodyClose, flat).toFixed(2)} | ${usPerCall(findInsertion, flat).toFixed(2)} | ${old} vs ${now} (${old === now ? 'same' : 'differs'}) |`)
}
