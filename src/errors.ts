// The named export: the default import is not the namespace under every consumer's moduleResolution.
import { createError } from '@fastify/error'

/** Thrown at registration when an option has the wrong type or value; the message names the option and what is allowed. */
export const FST_DEBUG_TOOLBAR_INVALID_OPTION = createError(
  'FST_DEBUG_TOOLBAR_INVALID_OPTION',
  'fastify-debug-toolbar: invalid option "%s": %s',
  500,
  TypeError
)

/** Answered (404) by the toolbar's routes for an id that was never stored or has been evicted. */
export const FST_DEBUG_TOOLBAR_NOT_FOUND = createError(
  'FST_DEBUG_TOOLBAR_NOT_FOUND',
  'No request with id "%s" is stored: it never existed or was evicted (the toolbar keeps the last %s requests)',
  404
)

/** Thrown at registration when the `store: { redis }` option is used and the optional `ioredis` package cannot be loaded. */
export const FST_DEBUG_TOOLBAR_REDIS_UNAVAILABLE = createError(
  'FST_DEBUG_TOOLBAR_REDIS_UNAVAILABLE',
  'fastify-debug-toolbar: the Redis store needs the optional "ioredis" package (npm install ioredis): %s',
  500
)

/** Answered (404) for a panel id the toolbar does not have. */
export const FST_DEBUG_TOOLBAR_UNKNOWN_PANEL = createError(
  'FST_DEBUG_TOOLBAR_UNKNOWN_PANEL',
  'No panel "%s"; panels are: %s',
  404
)

/** Answered (403) when the allow check refuses a client. */
export const FST_DEBUG_TOOLBAR_FORBIDDEN = createError(
  'FST_DEBUG_TOOLBAR_FORBIDDEN',
  'The debug toolbar is only available to allowed clients (by default: loopback connections)',
  403
)

/** Answered (403) under the default allow check when the Host header is not a loopback name (DNS rebinding). */
export const FST_DEBUG_TOOLBAR_FORBIDDEN_HOST = createError(
  'FST_DEBUG_TOOLBAR_FORBIDDEN_HOST',
  'The debug toolbar answers only to a loopback Host (localhost, 127.0.0.1, [::1]); pass your own allow() to serve other names',
  403
)

/**
 * Answered (403) by every toolbar route to a request from another site (`Sec-Fetch-Site: cross-site`,
 * or an `Origin` not the server's own), and by a state-changing route when `Origin` is missing too (CSRF).
 */
export const FST_DEBUG_TOOLBAR_BAD_ORIGIN = createError(
  'FST_DEBUG_TOOLBAR_BAD_ORIGIN',
  'The debug toolbar answers only to its own origin (%s); this request needs an Origin header equal to it, got %s',
  403
)

/** Answered (403) by a state-changing toolbar route when the token (drawn when the plugin is registered) is missing or wrong. */
export const FST_DEBUG_TOOLBAR_BAD_TOKEN = createError(
  'FST_DEBUG_TOOLBAR_BAD_TOKEN',
  'This debug toolbar action needs the token from the history page, as the form field "token" or the x-debug-toolbar-token header',
  403
)

/** Answered (404) for a stored request with no allocation samples or call tree to serve; says why. */
export const FST_DEBUG_TOOLBAR_NO_ALLOCATIONS = createError(
  'FST_DEBUG_TOOLBAR_NO_ALLOCATIONS',
  'Request "%s" has no %s: %s',
  404
)

/** Thrown (409 from the toolbar's routes) when a leak test is asked for while one is running or other requests are in flight. */
export const FST_DEBUG_TOOLBAR_LEAK_TEST_BUSY = createError(
  'FST_DEBUG_TOOLBAR_LEAK_TEST_BUSY',
  'A leak test cannot start now: %s',
  409
)

// Live page.

/** Answered (400) for a live page or `/api/process` query parameter with a bad value; names the parameter and what is allowed. */
export const FST_DEBUG_TOOLBAR_BAD_QUERY = createError(
  'FST_DEBUG_TOOLBAR_BAD_QUERY',
  'Bad query parameter "%s": %s',
  400
)

/** Answered (406) by the live event stream to a client that does not accept `text/event-stream`. */
export const FST_DEBUG_TOOLBAR_NOT_EVENT_STREAM = createError(
  'FST_DEBUG_TOOLBAR_NOT_EVENT_STREAM',
  'This route is a server-sent event stream: ask for it with "Accept: text/event-stream" (EventSource does)',
  406
)

/** Answered (422) when a heap snapshot is asked for above `live.maxSnapshotHeapBytes`. */
export const FST_DEBUG_TOOLBAR_SNAPSHOT_TOO_LARGE = createError(
  'FST_DEBUG_TOOLBAR_SNAPSHOT_TOO_LARGE',
  'No heap snapshot: the JS heap uses %s, above live.maxSnapshotHeapBytes (%s); it would pause the process for about %s. Raise the option to allow it',
  422
)

// Leak tests from the toolbar.

/** Answered (400) for a leak test request the toolbar cannot run; names the field and what is allowed. */
export const FST_DEBUG_TOOLBAR_BAD_LEAK_TEST = createError(
  'FST_DEBUG_TOOLBAR_BAD_LEAK_TEST',
  'Bad leak test "%s": %s',
  400
)

/** Answered (404) for a leak test id that was never started or has been evicted. */
export const FST_DEBUG_TOOLBAR_UNKNOWN_LEAK_TEST = createError(
  'FST_DEBUG_TOOLBAR_UNKNOWN_LEAK_TEST',
  'No leak test with id "%s": it never existed or was evicted (the toolbar keeps the last %s)',
  404
)

/** Answered (405) when the Memory panel's button is asked to repeat a method other than GET or HEAD. */
export const FST_DEBUG_TOOLBAR_LEAK_TEST_METHOD = createError(
  'FST_DEBUG_TOOLBAR_LEAK_TEST_METHOD',
  'The page can repeat only GET and HEAD requests, not %s; test other methods through POST /api/leak-tests with the request in the body',
  405
)

/** Answered (409) for a leak test file or action that its state does not allow (no snapshot kept, not running). */
export const FST_DEBUG_TOOLBAR_LEAK_TEST_STATE = createError(
  'FST_DEBUG_TOOLBAR_LEAK_TEST_STATE',
  'Leak test "%s": %s',
  409
)
