/** What a redacted value is replaced with. */
export const REDACTED = '[redacted]'

/** A header value as one string: arrays joined with ', ', numbers as text. */
function headerText (v: unknown): string {
  if (Array.isArray(v)) return v.join(', ')
  return String(v)
}

/** 'a=1; b=2' -> 'a=[redacted]; b=[redacted]'. */
export function redactCookieHeader (cookie: string): string {
  return cookie.split(';').map((part) => {
    const eq = part.indexOf('=')
    const name = (eq === -1 ? part : part.slice(0, eq)).trim()
    return `${name}=${REDACTED}`
  }).join('; ')
}

/** Copy a parsed query, values as strings, redacted names replaced. */
export function redactQuery (query: unknown, redact: ReadonlySet<string>): Record<string, string> {
  const out: Record<string, string> = {}
  if (query === null || typeof query !== 'object') return out
  for (const [name, v] of Object.entries(query as Record<string, unknown>)) {
    out[name] = redact.has(name.toLowerCase()) ? REDACTED : headerText(v)
  }
  return out
}

/** The URL with the values of redacted query parameters replaced; the path is kept as sent. */
export function redactUrl (url: string, redact: ReadonlySet<string>): string {
  const q = url.indexOf('?')
  if (q === -1) return url
  const params = url.slice(q + 1).split('&').map((pair) => {
    const eq = pair.indexOf('=')
    const rawName = eq === -1 ? pair : pair.slice(0, eq)
    let name = rawName
    try { name = decodeURIComponent(rawName.replace(/\+/g, ' ')) } catch { /* keep it raw */ }
    return redact.has(name.toLowerCase()) ? `${rawName}=${REDACTED}` : pair
  })
  return `${url.slice(0, q)}?${params.join('&')}`
}
