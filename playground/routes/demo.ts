import { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import { actions, facts, html, layout, layoutParts, type LayoutContext } from '../lib/html.ts'
import { buildReport, REPORT_ROWS } from '../lib/report.ts'
import { parseRecords, sampleCsv } from 'fake-dep'

/** CSV lines parsed by /allocations: about 1 MB allocated inside parseRecords(). */
const CSV_LINES = 3_200
let csv: string | undefined

/** Chunks /stream sends, and the pause before each. */
const STREAM_CHUNKS = 20
const STREAM_PAUSE_MS = 50

const ITEM_TAGS = ['new', 'sale', 'popular', 'limited', 'eco']

/** Some objects, so the handler does a little work. */
function scratch (count: number): Array<{ i: number, label: string }> {
  const out: Array<{ i: number, label: string }> = []
  for (let i = 0; i < count; i++) out.push({ i, label: `item ${i}` })
  return out
}

/** /api/items, /stream, /allocations, /opt-out and /slow. */
export async function demoRoutes (app: FastifyInstance, opts: { ctx: LayoutContext }): Promise<void> {
  const { ctx } = opts

  app.get('/api/items', async () => {
    const items = []
    for (let i = 1; i <= 50; i++) {
      items.push({
        id: i,
        name: `Item ${String(i).padStart(2, '0')}`,
        price: Math.round(((i * 37) % 100) * 100 + 99) / 100,
        inStock: i % 4 !== 0,
        tags: [ITEM_TAGS[i % ITEM_TAGS.length] ?? 'new']
      })
    }
    return { count: items.length, items }
  })

  app.get('/stream', async (_request, reply) => {
    const { head, tail } = layoutParts(ctx, {
      title: 'Streamed response',
      path: '/stream',
      lead: html`This body is a <code>Readable</code> stream: ${STREAM_CHUNKS} chunks, one every ${STREAM_PAUSE_MS} ms. The toolbar must pass streams through untouched: it does not buffer them to inject anything.`,
      expect: [
        html`The toolbar is <strong>not injected</strong> here (the body is a stream), but the request is still recorded: the response has an <code>x-debug-toolbar-id</code> header and it appears in the <a href="${ctx.prefix}/">request history</a>.`,
        'Its figures cover the handler up to the moment headers were sent, not the time spent streaming.'
      ]
    })
    async function * chunks (): AsyncGenerator<string> {
      yield head + '<ol class="chunks">\n'
      for (let i = 1; i <= STREAM_CHUNKS; i++) {
        await sleep(STREAM_PAUSE_MS)
        yield `<li>chunk ${i} of ${STREAM_CHUNKS}, sent at ${new Date().toISOString()}</li>\n`
      }
      yield '</ol>\n' + tail
    }
    return reply.type('text/html; charset=utf-8').send(Readable.from(chunks(), { objectMode: false }))
  })

  app.get('/allocations', async (_request, reply) => {
    csv ??= sampleCsv(CSV_LINES)
    const report = buildReport()
    const records = parseRecords(csv)
    const active = records.filter((r) => r.active).length
    return reply.type('text/html; charset=utf-8').send(layout(ctx, {
      title: 'Allocations by function',
      path: '/allocations',
      lead: html`Two named functions allocate at known places: <code>buildReport()</code> in <code>playground/lib/report.ts</code> (about 2 MB of row objects) and <code>parseRecords()</code> in a dependency-like module, <code>playground/node_modules/fake-dep/index.js</code> (about 1 MB parsing CSV). Their results are summarised and dropped.`,
      expect: [
        html`<strong>Allocated ≈ 3 MB</strong> or more (the first call also compiles code).`,
        html`<strong>Heap delta ≈ 0</strong>: nothing is kept (a scavenge may even make it negative).`,
        'Allocation sites per function, when the toolbar has them, should name buildReport and parseRecords.'
      ],
      content: html`${facts([
        ['buildReport()', `${report.rows.length.toLocaleString('en')} rows (of ${REPORT_ROWS.toLocaleString('en')}), ${report.totalQuantity.toLocaleString('en')} units, revenue ${report.revenue.toFixed(2)}`],
        ['parseRecords()', `${records.length.toLocaleString('en')} records parsed from ${csv.length.toLocaleString('en')} characters, ${active.toLocaleString('en')} active`]
      ])}${actions([['/allocations', 'Run again']])}`
    }))
  })

  app.get('/opt-out', { config: { debugToolbar: false } }, async (_request, reply) => {
    return reply.type('text/html; charset=utf-8').send(layout(ctx, {
      title: 'Opted out',
      path: '/opt-out',
      lead: html`This route is registered with <code>config: { debugToolbar: false }</code>, so the toolbar leaves it alone.`,
      expect: [
        html`Nothing: there is <strong>no toolbar</strong> on this page, no <code>x-debug-toolbar-id</code> or toolbar <code>Server-Timing</code> header, and the request is <strong>not in the history</strong>.`
      ],
      content: html`<pre class="code">app.get('/opt-out', { config: { debugToolbar: false } }, handler)</pre>`
    }))
  })

  app.get<{ Querystring: { ms: number } }>('/slow', {
    schema: {
      querystring: {
        type: 'object',
        properties: { ms: { type: 'integer', minimum: 0, maximum: 5000, default: 200 } },
        additionalProperties: false
      }
    }
  }, async (request, reply) => {
    const { ms } = request.query
    const started = performance.now()
    const before = scratch(5_000)
    await sleep(ms)
    const after = scratch(5_000)
    const elapsed = performance.now() - started
    return reply.type('text/html; charset=utf-8').send(layout(ctx, {
      title: 'Slow and overlapping',
      path: `/slow?ms=${ms}`,
      lead: html`An async handler that allocates a little, waits <strong>${ms} ms</strong>, then allocates a little more. Open it in several tabs at once (or run <code>for i in 1 2 3 4; do curl -s http://${request.host}/slow &gt;/dev/null &amp; done</code>) to make requests overlap.`,
      expect: [
        html`Duration ≈ ${ms} ms; <strong>allocated</strong> a few hundred KB (two batches of ${(5_000).toLocaleString('en')} small objects).`,
        html`When requests overlap, the panel says how many were <strong>in flight at the same time</strong>: memory figures are process-wide, so each includes the others' allocations.`
      ],
      content: html`${facts([['Waited', `${elapsed.toFixed(1)} ms`], ['Objects made', before.length + after.length]])}${actions([['/slow', 'Again'], ['/slow?ms=1000', 'Wait 1 s']])}`
    }))
  })
}
