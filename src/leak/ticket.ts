/**
 * The running leak test's ticket: a random value its own calls carry in a header, so that the
 * toolbar neither records them nor counts them as other requests in flight. Per registration.
 */
export class LeakTicket {
  /** The running test's ticket; undefined when no test runs (the request path then reads one field). */
  value: string | undefined = undefined
  /** The route pattern the running test's last call matched. */
  route: string | undefined = undefined

  /** Whether a request's header value is the running test's ticket. */
  matches (header: string | string[] | undefined): boolean {
    const v = this.value
    return v !== undefined && header === v
  }
}
