import type { FastifyInstance, FastifyReply } from 'fastify'
import { actions, facts, html, layout, mib, type LayoutContext } from '../lib/html.ts'
import {
  BUFFERS_TOTAL_CAP_MIB, LEAK_DOUBLES, RETAIN_TOTAL_CAP_MIB, bufferBytes, clearBuffers, clearRetained,
  keepBuffer, leak, leakedBytes, retain, retainedMiB, spike
} from '../lib/memory.ts'

const MIB = 1024 * 1024

/** A querystring with one integer `mb` from 1 to `max`; anything else is a 400. */
function mbSchema (def: number, max: number) {
  return {
    querystring: {
      type: 'object',
      properties: { mb: { type: 'integer', minimum: 1, maximum: max, default: def } },
      additionalProperties: false
    }
  } as const
}

interface MbQuery { Querystring: { mb: number } }

function heapNow (): string {
  const m = process.memoryUsage()
  return `${mib(m.heapUsed)} heap used, ${mib(m.external)} external, ${mib(m.rss)} RSS`
}

function sendPage (reply: FastifyReply, page: string, status = 200): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(page)
}

/** /retain, /spike, /buffers and /leak: the routes that keep, peak or leak memory. */
export async function memoryRoutes (app: FastifyInstance, opts: { ctx: LayoutContext }): Promise<void> {
  const { ctx } = opts

  app.get<MbQuery>('/retain', { schema: mbSchema(10, 200) }, async (request, reply) => {
    const { mb } = request.query
    if (retainedMiB() + mb > RETAIN_TOTAL_CAP_MIB) {
      return sendPage(reply, layout(ctx, {
        title: 'Retain: limit reached',
        path: `/retain?mb=${mb}`,
        lead: `The playground keeps at most ${RETAIN_TOTAL_CAP_MIB} MiB retained so it does not run out of heap. ${retainedMiB()} MiB is retained now: clear it first.`,
        content: actions([['/retain/clear', 'Release retained memory'], ['/', 'Back to scenarios']])
      }), 409)
    }
    const total = retain(mb)
    return sendPage(reply, layout(ctx, {
      title: 'Retain memory',
      path: `/retain?mb=${mb}`,
      lead: html`This request built <strong>${mb} MiB</strong> of JavaScript arrays of doubles and stored them in a module-level list, so they stay reachable after the response. Call it again to keep more; <a href="/retain/clear">/retain/clear</a> lets them go.`,
      expect: [
        html`<strong>Heap delta ≈ +${mb} MiB</strong>: memory this request left behind. In precise mode (forced GC at start and end) it is exactly what was retained.`,
        html`<strong>Allocated ≈ ${mb} MiB</strong> too: almost everything allocated is kept.`,
        'Peak at or above the heap after the request; a few GCs may run as the young generation fills.',
        'External memory ≈ 0: arrays live on the JS heap.'
      ],
      content: html`${facts([
        ['Kept by this request', `${mb} MiB`],
        ['Retained in total', `${total} MiB in ${total} arrays`],
        ['Process now', heapNow()]
      ])}${actions([[`/retain?mb=${mb}`, `Retain ${mb} MiB more`], ['/retain/clear', 'Release it all']])}`
    }))
  })

  app.get('/retain/clear', async (_request, reply) => {
    const released = clearRetained()
    return sendPage(reply, layout(ctx, {
      title: 'Release retained memory',
      path: '/retain/clear',
      lead: html`Emptied the module-level list: <strong>${released} MiB</strong> of arrays is no longer reachable. Nothing is freed until the garbage collector runs.`,
      expect: [
        html`In normal mode the <strong>heap delta is ≈ 0</strong> or small: the arrays are garbage but still counted until a GC runs, which may happen later.`,
        html`In <strong>precise mode</strong> the forced GC at the end collects them, so the heap delta is <strong>≈ −${released} MiB</strong>.`,
        'Allocated is tiny: releasing memory allocates nothing.'
      ],
      content: html`${facts([['Released', `${released} MiB`], ['Process now', heapNow()]])}${actions([['/retain?mb=10', 'Retain 10 MiB'], ['/', 'Back to scenarios']])}`
    }))
  })

  app.get<MbQuery>('/spike', { schema: mbSchema(50, 500) }, async (request, reply) => {
    const { mb } = request.query
    const checksum = spike(mb)
    return sendPage(reply, layout(ctx, {
      title: 'Short-lived spike',
      path: `/spike?mb=${mb}`,
      lead: html`This request built <strong>${mb} MiB</strong> of arrays in a local variable, read them, and dropped them before replying. Nothing outlives the request.`,
      expect: [
        html`<strong>Peak ≈ +${mb} MiB</strong> above the heap at the start. Without precise mode it can read lower: the peak is sampled at the start, the end and each GC.`,
        html`<strong>Heap delta ≈ 0</strong> in precise mode; without it, anything from 0 to +${mb} MiB, depending on whether a GC ran before the response.`,
        html`<strong>Allocated ≈ ${mb} MiB</strong> and several GCs inside the request.`
      ],
      content: html`${facts([['Built and dropped', `${mb} MiB`], ['Checksum', checksum], ['Process now', heapNow()]])}${actions([[`/spike?mb=${mb}`, 'Spike again'], ['/spike?mb=200', 'Spike 200 MiB']])}`
    }))
  })

  app.get<MbQuery>('/buffers', { schema: mbSchema(8, 256) }, async (request, reply) => {
    const { mb } = request.query
    if (bufferBytes() / MIB + mb > BUFFERS_TOTAL_CAP_MIB) {
      return sendPage(reply, layout(ctx, {
        title: 'Buffers: limit reached',
        path: `/buffers?mb=${mb}`,
        lead: `The playground keeps at most ${BUFFERS_TOTAL_CAP_MIB} MiB in Buffers. ${mib(bufferBytes())} is kept now: clear it first.`,
        content: actions([['/buffers/clear', 'Release the buffers'], ['/', 'Back to scenarios']])
      }), 409)
    }
    const total = keepBuffer(mb)
    return sendPage(reply, layout(ctx, {
      title: 'Buffers (external memory)',
      path: `/buffers?mb=${mb}`,
      lead: html`This request allocated a zero-filled <code>Buffer</code> of <strong>${mb} MiB</strong> and kept it. A Buffer's bytes live outside the JS heap, in memory V8 counts as <em>external</em>.`,
      expect: [
        html`<strong>External ≈ +${mb} MiB</strong>.`,
        html`<strong>Heap delta ≈ 0</strong>: only the small Buffer object itself is on the JS heap.`,
        'Allocated is small for the same reason.'
      ],
      content: html`${facts([['Kept by this request', `${mb} MiB`], ['Kept in Buffers in total', mib(total)], ['Process now', heapNow()]])}${actions([[`/buffers?mb=${mb}`, `Keep ${mb} MiB more`], ['/buffers/clear', 'Release the buffers']])}`
    }))
  })

  app.get('/buffers/clear', async (_request, reply) => {
    const released = clearBuffers()
    return sendPage(reply, layout(ctx, {
      title: 'Release buffers',
      path: '/buffers/clear',
      lead: html`Dropped every Buffer /buffers kept (<strong>${mib(released)}</strong>). Their memory goes back when a GC collects the Buffer objects.`,
      expect: [
        html`<strong>External ≈ 0</strong> in normal mode (no GC has run yet); <strong>≈ −${mib(released)}</strong> in precise mode.`,
        'Heap delta ≈ 0.'
      ],
      content: html`${facts([['Released', mib(released)], ['Process now', heapNow()]])}${actions([['/buffers?mb=8', 'Keep 8 MiB'], ['/', 'Back to scenarios']])}`
    }))
  })

  app.get('/leak', async (_request, reply) => {
    const calls = leak()
    const leakKiB = (LEAK_DOUBLES * 8) / 1024
    return sendPage(reply, layout(ctx, {
      title: 'A small leak',
      path: '/leak',
      lead: html`Every call pushes <strong>${leakKiB} KiB</strong> onto a module-level array that nothing ever reads or empties: the kind of leak that is invisible in one request and obvious over many.`,
      expect: [
        html`<strong>Heap delta ≈ +${leakKiB} KiB</strong> a call; it is clearest in precise mode, where the delta is exactly what was retained.`,
        html`Reload a few times, then open the <a href="${ctx.prefix}/">request history</a>: the heap at the start of each /leak request keeps growing.`
      ],
      content: html`${facts([['Calls so far', calls], ['Leaked so far', `${(leakedBytes() / 1024).toLocaleString('en')} KiB (${calls} × ${leakKiB} KiB)`], ['Process now', heapNow()]])}${actions([['/leak', 'Leak again']])}`
    }))
  })
}
