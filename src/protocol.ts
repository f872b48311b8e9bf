/**
 * Every header and cookie name the toolbar reads or writes. The browser side (static/) and the
 * header scan (headers.ts) speak the same names.
 */

/** The response header carrying the record id. */
export const ID_HEADER = 'x-debug-toolbar-id'
/** The request header that asks for precise mode (`1`). */
export const PRECISE_HEADER = 'x-debug-toolbar-precise'
/** The cookie the toolbar's precise toggle sets. */
export const PRECISE_COOKIE = 'fdt-precise=1'
/** The whole precise cookie, not a longer name or value that contains it. */
export const PRECISE_COOKIE_RE = /(?:^|;\s*)fdt-precise=1(?:;|\s*$)/
/** The request header that asks for allocation sampling (`1`) when `allocations.requests` is 'marked'. */
export const SAMPLE_HEADER = 'x-debug-toolbar-sample'
/** The cookie the toolbar's Sample switch sets. */
export const SAMPLE_COOKIE = 'fdt-sample=1'
/** The whole sample cookie. */
export const SAMPLE_COOKIE_RE = /(?:^|;\s*)fdt-sample=1(?:;|\s*$)/
/** The request header a JSON client sends the clear token in; the history page's form sends the field `token`. */
export const TOKEN_HEADER = 'x-debug-toolbar-token'
/** The Server-Timing entry whose `desc` is the record id of an HTML page (what the injected toolbar reads). */
export const ID_TIMING_ENTRY = 'debug-toolbar'
/** The response header whose entries the toolbar appends to. */
export const SERVER_TIMING_HEADER = 'server-timing'
/** The request header a leak test's own calls carry (the run's ticket): not recorded, not counted as in flight. */
export const LEAK_TEST_HEADER = 'x-debug-toolbar-leak-test'
