import { REDACTED, redactCookieHeader, redactUrl } from './redact.ts'

/**
 * Headers as a record keeps them, captured on the hot path with as little work as possible and
 * turned into `{ name: value }` only when someone reads the record (JSON.stringify calls toJSON).
 * Secrets are replaced at capture: nothing here ever holds a redacted value.
 */
export interface StoredHeaders {
  /** Lower-case names; repeated headers joined with ', ' (cookies with '; '). */
  toJSON (): Record<string, string>
  /** Estimated bytes held, for the store's cap (two bytes a character, erring high). */
  readonly bytes: number
}

/** Headers the request scan acts on besides redacted ones. */
const ACTED_ON = ['cookie', 'forwarded', 'x-forwarded-for', 'x-debug-toolbar-precise', 'x-debug-toolbar-sample', 'host', 'origin', 'sec-fetch-site']

/** Headers Node writes into a response's header block itself, not from the app's header maps. */
const WRITTEN_BY_NODE = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'])

/** Which names are redacted, and a quick length test before any lower-casing. */
export interface Redactor {
  readonly names: ReadonlySet<string>
  /** The same names as an array, for the hot path. */
  readonly list: readonly string[]
  /** `lengths[n]` is true when a redacted name, or one the request scan acts on, has n characters. */
  readonly lengths: readonly boolean[]
  /** Matches a header line of a redacted name in a serialised header block. */
  readonly lineRe: RegExp
  /**
   * True when every redacted name can only reach a response through the app's header maps (none is
   * one Node writes itself), so asking the maps tells whether a header block names a secret.
   */
  readonly mapsTell: boolean
}

export function createRedactor (names: ReadonlySet<string>): Redactor {
  const list = [...names]
  const lengths: boolean[] = []
  for (const n of [...list, ...ACTED_ON]) lengths[n.length] = true
  const alternatives = list.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')
  return { names, list, lengths, lineRe: new RegExp(`\\r\\n(?:${alternatives}):`, 'i'), mapsTell: !list.some((n) => WRITTEN_BY_NODE.has(n)) }
}

/**
 * Name/value pairs, names as sent, kept as one string ('\n' between them: no header name or value
 * can hold a line feed). One string rather than a string a name and a value: a record stays young
 * for a GC or two, and each GC copies what it holds object by object.
 */
class HeaderPairs implements StoredHeaders {
  readonly joined: string
  readonly count: number
  readonly bytes: number

  constructor (pairs: string[]) {
    this.joined = pairs.join('\n')
    this.count = pairs.length
    this.bytes = 64 + 2 * this.joined.length + 32 * pairs.length
  }

  toJSON (): Record<string, string> {
    const out: Record<string, string> = {}
    if (this.count === 0) return out
    const pairs = this.joined.split('\n')
    for (let i = 0; i < pairs.length; i += 2) {
      const name = (pairs[i] as string).toLowerCase()
      const value = pairs[i + 1] as string
      const seen = out[name]
      out[name] = seen === undefined ? value : `${seen}${name === 'cookie' ? '; ' : ', '}${value}`
    }
    return out
  }
}

/** Where flattening's unused result goes (stored, so that the conversion is not optimised away). */
const flattenSink = { result: 0 }

/** A response's header block exactly as Node wrote it (status line first), with no redacted name in it. */
class HeaderBlock implements StoredHeaders {
  readonly block: string
  readonly bytes: number

  constructor (block: string) {
    // Node builds the block by concatenation: a rope of a few dozen strings, which every GC would
    // copy one by one while the record is young. Converting it to a number makes V8 flatten it in
    // place (the result, NaN, is not used).
    flattenSink.result = Number(block)
    this.block = block
    this.bytes = 64 + 2 * block.length
  }

  toJSON (): Record<string, string> {
    const pairs: string[] = []
    const lines = this.block.split('\r\n')
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string
      const colon = line.indexOf(':')
      if (colon <= 0) continue
      pairs.push(line.slice(0, colon), line.slice(colon + 1).trim())
    }
    return new HeaderPairs(pairs).toJSON()
  }
}

/** Headers read back from their JSON form (`{ name: value }`), e.g. from a shared store. */
export function headersFromJSON (map: Record<string, string>): StoredHeaders {
  const pairs: string[] = []
  for (const name in map) pairs.push(name, String(map[name]))
  return new HeaderPairs(pairs)
}

/** No headers. */
export const NO_HEADERS: StoredHeaders = new HeaderPairs([])

/** A header map (lower-case names, as Node and Fastify keep them), copied with redaction. */
export function captureHeaderMap (headers: Record<string, unknown>, r: Redactor): StoredHeaders {
  const pairs: string[] = []
  for (const name in headers) {
    const v = headers[name]
    if (v === undefined) continue
    const lower = name.toLowerCase()
    pairs.push(lower, storedValue(lower, Array.isArray(v) ? v.join(', ') : String(v), r))
  }
  return new HeaderPairs(pairs)
}

/** What a header's value is stored as: cookies keep their names only, redacted names become REDACTED. */
function storedValue (lower: string, value: string, r: Redactor): string {
  if (lower === 'cookie') return redactCookieHeader(value)
  return r.names.has(lower) ? REDACTED : value
}

/**
 * A response's serialised header block: kept whole (no copy) when it names nothing redacted,
 * otherwise split and redacted now. `namesSecret` is what the app's header maps say (see
 * `Redactor.mapsTell`), or undefined to search the block itself.
 */
export function captureHeaderBlock (block: string, r: Redactor, namesSecret?: boolean): StoredHeaders {
  if (!(namesSecret ?? r.lineRe.test(block))) return new HeaderBlock(block)
  return captureHeaderMap(new HeaderBlock(block).toJSON(), r)
}

/** What onRequest needs from a request's headers, found in one pass over `rawHeaders`. */
export interface RequestHeaderScan {
  /** The request's headers, redacted, for its record. */
  headers: StoredHeaders
  /** X-Forwarded-For and Forwarded values, as sent (undefined when absent). */
  forwardedFor: string[] | undefined
  forwarded: string[] | undefined
  /** Every Cookie header, joined with '; ', before redaction (for the toolbar's mode cookies). */
  cookie: string | undefined
  /**
   * The x-debug-toolbar-precise and x-debug-toolbar-sample values. These three are undefined on a
   * cross-site request (see `crossSite`): another site cannot switch the toolbar's modes on.
   */
  precise: string | undefined
  sample: string | undefined
}

/**
 * One pass over Node's flat `rawHeaders` (Node's parsed `headers` object is built lazily, and this
 * avoids building it): the redacted copy for the record and the values the toolbar acts on. Only
 * names whose length matches one of interest are lower-cased.
 */
export function scanRequestHeaders (raw: readonly string[], r: Redactor): RequestHeaderScan {
  const pairs = raw.slice()
  const scan: RequestHeaderScan = { headers: NO_HEADERS, forwardedFor: undefined, forwarded: undefined, cookie: undefined, precise: undefined, sample: undefined }
  let host: string | undefined
  let origin: string | undefined
  let fetchSite: string | undefined
  for (let i = 0; i < pairs.length; i += 2) {
    const name = pairs[i] as string
    // HTTP/2 pseudo-headers (lower case by protocol): :path gets the URL's redaction.
    if (name.charCodeAt(0) === 58) {
      if (name === ':authority') host ??= pairs[i + 1]
      else if (name === ':path') pairs[i + 1] = redactUrl(pairs[i + 1] as string, r.names)
      continue
    }
    if (r.lengths[name.length] !== true) continue
    const lower = name.toLowerCase()
    const value = pairs[i + 1] as string
    switch (lower) {
      case 'cookie':
        scan.cookie = scan.cookie === undefined ? value : `${scan.cookie}; ${value}`
        break
      case 'x-forwarded-for':
        (scan.forwardedFor ??= []).push(value)
        break
      case 'forwarded':
        (scan.forwarded ??= []).push(value)
        break
      case 'x-debug-toolbar-precise':
        scan.precise ??= value
        break
      case 'x-debug-toolbar-sample':
        scan.sample ??= value
        break
      case 'host':
        host = value
        break
      case 'origin':
        origin ??= value
        break
      case 'sec-fetch-site':
        fetchSite ??= value
        break
    }
    pairs[i + 1] = storedValue(lower, value, r)
  }
  if ((scan.cookie !== undefined || scan.precise !== undefined || scan.sample !== undefined) && crossSite(fetchSite, origin, host)) {
    scan.cookie = scan.precise = scan.sample = undefined
  }
  scan.headers = new HeaderPairs(pairs)
  return scan
}

/**
 * True when a browser says the request comes from another site (`Sec-Fetch-Site: cross-site`), or,
 * unless it says same-origin, when an `Origin` is sent whose host[:port] is not the `Host` (or
 * HTTP/2 `:authority`) the request was sent to (`Origin: null` included).
 */
export function crossSite (fetchSite: string | undefined, origin: string | undefined, host: string | undefined): boolean {
  if (fetchSite === 'cross-site') return true
  if (fetchSite === 'same-origin' || fetchSite === 'none' || origin === undefined) return false
  const scheme = origin.indexOf('://')
  return scheme === -1 || host === undefined || origin.slice(scheme + 3).toLowerCase() !== host.toLowerCase()
}
