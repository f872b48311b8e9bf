/** What a redacted value is replaced with. */
export const REDACTED = '[redacted]'

/** A header value as one string: arrays joined with ', ', numbers as text. */
function headerText (v: unknown): string {
  if (Array.isArray(v)) return v.join(', ')
  return String(v)
}

/**
 * 'a=1; b=2' -> 'a=[redacted]; b=[redacted]'. A part without a name ('=v', or 'v' as browsers send
 * a nameless cookie) is all value: it becomes REDACTED alone. Empty parts are dropped.
 */
export function redactCookieHeader (cookie: string): string {
  const out: string[] = []
  for (const part of cookie.split(';')) {
    const eq = part.indexOf('=')
    const name = eq === -1 ? '' : part.slice(0, eq).trim()
    if (name !== '') out.push(`${name}=${REDACTED}`)
    else if (part.trim() !== '') out.push(REDACTED)
  }
  return out.join('; ')
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
