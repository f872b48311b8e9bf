/**
 * The toolbar's allocation routes, added to the routes' own (encapsulated) scope so they share its
 * guard, error handler, escaped JSON and headers: the `.heapprofile` and record downloads, the flame
 * graph's data and widget, and the compare page. GET only.
 */
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { FastifyInstance, FastifyReply } from 'fastify'
import fastifyStatic from '@fastify/static'
import { flameGraph, sourceIndex } from '../allocations/flamegraph.ts'
import { defaultResolver, recountSites } from '../allocations/sites.ts'
import { DEFAULT_QUERY, GROUP_BY, MAX_FILTER_LENGTH, type GroupBy, type SiteQuery } from '../allocations/group.ts'
import { toHeapProfile } from '../allocations/heapprofile.ts'
import type { AllocationsRecord, BuiltinsView } from '../allocations/types.ts'
import { FST_DEBUG_TOOLBAR_NO_ALLOCATIONS } from '../errors.ts'
import { compareContext } from '../panels/compare.ts'
import { isSampled, type RequestRecord } from '../record/types.ts'
import type { RequestStore } from '../store.ts'
import { getRoute } from './get-route.ts'

/** Where the flame graph widget's files are served from, under the prefix. */
export const FLAME_GRAPH_VENDOR = '/vendor/d3-flame-graph/'
/** The only files of d3-flame-graph's dist/ the toolbar serves: its self-contained bundle and stylesheet. */
const VENDOR_FILES = new Set(['/d3-flamegraph.min.js', '/d3-flamegraph.css'])

/** The panel's and compare page's query: `?group=file&include=...&exclude=...`. */
export const sitesQuerySchema = {
  type: 'object',
  properties: {
    group: { type: 'string', enum: GROUP_BY },
    include: { type: 'string', maxLength: MAX_FILTER_LENGTH },
    exclude: { type: 'string', maxLength: MAX_FILTER_LENGTH }
  }
} as const

/** How the Memory panel may count V8 builtins. */
export const BUILTINS_VIEWS: readonly BuiltinsView[] = ['folded', 'apart']

/** The Memory panel's query: the sites query and `?builtins=apart`. */
export const panelQuerySchema = {
  type: 'object',
  properties: {
    ...sitesQuerySchema.properties,
    builtins: { type: 'string', enum: BUILTINS_VIEWS }
  }
} as const

/** The validated query as the panels take it. */
export interface SitesQuerystring { group?: GroupBy, include?: string, exclude?: string, builtins?: BuiltinsView }

/** A validated query with its defaults. */
export function siteQuery (q: SitesQuerystring | undefined): SiteQuery {
  return { by: q?.group ?? DEFAULT_QUERY.by, include: q?.include ?? '', exclude: q?.exclude ?? '' }
}

/** Ids of stored records that have allocation sites, with their sampled bytes. */
export function sampledIds (records: readonly RequestRecord[]): Map<string, number> {
  const out = new Map<string, number>()
  for (const r of records) {
    const a = r.memory.allocations
    if (isSampled(a)) out.set(r.id, a.sampledBytes)
  }
  return out
}

/**
 * A record's allocations with builtins counted as asked: the record's own when they already are
 * (records keep them folded), otherwise its sites counted again from the stored call tree; undefined
 * when the record has no samples or its tree is gone or unreadable.
 */
export async function allocationsAs (r: RequestRecord, builtins: BuiltinsView | undefined, store: RequestStore, maxSites: number): Promise<AllocationsRecord | undefined> {
  const a = r.memory.allocations
  if (builtins === undefined || !isSampled(a) || a.builtins === builtins || !a.hasProfile) return undefined
  // A shared store that fails to answer leaves the record's own sites, and the panel says so.
  const profile = await store.getProfile(r.id).catch(() => undefined)
  return profile === undefined ? undefined : recountSites(a, profile, maxSites, builtins)
}

/** The d3-flame-graph package's dist/ folder (a dependency: resolved wherever npm put it). */
let vendorDir: string | undefined

function vendorRoot (): string {
  // Resolved once a process.
  vendorDir ??= join(dirname(createRequire(import.meta.url).resolve('d3-flame-graph/package.json')), 'dist')
  return vendorDir
}

interface Deps {
  store: RequestStore
  prefix: string
  /** The project root paths are shown relative to. */
  root: string
  /** Sites listed when a record's sites are counted again from its call tree (allocations.maxSites). */
  maxSites: number
  /** A stored record by id, its figures final; throws the coded 404 otherwise. */
  lookup: (id: string) => Promise<RequestRecord>
  /** Render a template as the reply (the routes' private view). */
  render: (reply: FastifyReply, page: string, data: object) => FastifyReply
}

interface IdParams { id: string }
interface PairParams { id: string, other: string }

/** Params schema of every `/:id` toolbar route. */
export const idParams = {
  type: 'object',
  properties: { id: { type: 'string', maxLength: 64 } },
  required: ['id']
} as const

const pairParams = {
  type: 'object',
  properties: { id: { type: 'string', maxLength: 64 }, other: { type: 'string', maxLength: 64 } },
  required: ['id', 'other']
} as const

/** A file name for a download: the method, the route (or path) and the start of the id, nothing else. */
export function downloadName (r: RequestRecord, extension: string): string {
  const path = (r.route === '' ? r.url.split('?')[0] ?? '' : r.route).replace(/[^A-Za-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40)
  return `fdt-${r.method.toLowerCase().replace(/[^a-z]/g, '')}-${path === '' ? 'root' : path}-${r.id.replace(/[^A-Za-z0-9]/g, '').slice(0, 8)}.${extension}`
}

/** Add the allocation routes to the toolbar's routes scope. */
export async function allocationRoutes (app: FastifyInstance, { store, prefix, root, maxSites, lookup, render }: Deps): Promise<void> {
  await app.register(fastifyStatic, {
    root: vendorRoot(),
    prefix: FLAME_GRAPH_VENDOR,
    decorateReply: false,
    index: false,
    list: false,
    dotfiles: 'deny',
    allowedPath: (pathname) => VENDOR_FILES.has(pathname),
    cacheControl: true,
    maxAge: 0
  })

  async function sampledRecord (id: string): Promise<{ record: RequestRecord, allocations: AllocationsRecord }> {
    const record = await lookup(id)
    const a = record.memory.allocations
    if (a === undefined) throw new FST_DEBUG_TOOLBAR_NO_ALLOCATIONS(id, 'allocation samples', 'allocation sampling was off for this request (the allocations option, or allocations.requests is \'marked\' and the request was not marked)')
    if (!isSampled(a)) throw new FST_DEBUG_TOOLBAR_NO_ALLOCATIONS(id, 'allocation samples', a.reason)
    return { record, allocations: a }
  }

  async function profileOf (id: string) {
    const { record } = await sampledRecord(id)
    const profile = await store.getProfile(id)
    if (profile === undefined) throw new FST_DEBUG_TOOLBAR_NO_ALLOCATIONS(id, 'allocation call tree', 'it was not kept with the record')
    return { record, profile }
  }

  getRoute<{ Params: IdParams }>(app, '/requests/:id/record.json', { schema: { params: idParams } }, async function recordDownload (request, reply) {
    const r = await lookup(request.params.id)
    reply.header('content-disposition', `attachment; filename="${downloadName(r, 'json')}"`)
    return r
  })

  getRoute<{ Params: IdParams }>(app, '/requests/:id/profile.heapprofile', { schema: { params: idParams } }, async function heapProfileDownload (request, reply) {
    const { record, profile } = await profileOf(request.params.id)
    reply.header('content-disposition', `attachment; filename="${downloadName(record, 'heapprofile')}"`)
    return toHeapProfile(profile)
  })

  getRoute<{ Params: IdParams }>(app, '/requests/:id/flamegraph.json', { schema: { params: idParams } }, async function flameGraphData (request) {
    const { record, profile } = await profileOf(request.params.id)
    const a = record.memory.allocations
    return flameGraph(profile, root, sourceIndex(isSampled(a) ? a : undefined), defaultResolver)
  })

  getRoute<{ Params: PairParams, Querystring: SitesQuerystring }>(app, '/requests/:id/compare/:other', {
    schema: { params: pairParams, querystring: panelQuerySchema }
  }, async function comparePage (request, reply) {
    let first = await sampledRecord(request.params.id)
    let second = await sampledRecord(request.params.other)
    const asked = request.query.builtins
    // Both sides counted again, or neither: never one view against the other.
    const a1 = await allocationsAs(first.record, asked, store, maxSites)
    const a2 = await allocationsAs(second.record, asked, store, maxSites)
    if (a1 !== undefined && a2 !== undefined) {
      first = { ...first, allocations: a1 }
      second = { ...second, allocations: a2 }
    }
    const ctx = compareContext(first, second, siteQuery(request.query), root, prefix, asked)
    return render(reply, 'page-compare', { ctx, prefix })
  })
}
