/**
 * The browser every e2e file drives: Debian's chromium through playwright-core, never a download.
 * Without it the suites are skipped, unless DEBUG_TOOLBAR_REQUIRE_BROWSER=1 (CI) makes that a failure.
 */
import { existsSync, mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser } from 'playwright-core'

export const CHROMIUM = process.env.DEBUG_TOOLBAR_CHROMIUM ?? '/usr/bin/chromium'
const REQUIRE_BROWSER = process.env.DEBUG_TOOLBAR_REQUIRE_BROWSER === '1'
const HAVE_BROWSER = existsSync(CHROMIUM)
/** The `skip` option of a browser suite: a reason when there is no browser and none is required. */
export const SKIP: string | false = !HAVE_BROWSER && !REQUIRE_BROWSER ? `no browser at ${CHROMIUM} (set DEBUG_TOOLBAR_REQUIRE_BROWSER=1 to fail instead)` : false
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic']
/** Where screenshots go (created by launchBrowser). */
export const RESULTS = fileURLToPath(new URL('../../test-results/', import.meta.url))

/** Launch chromium headless; throws when it is required but missing. */
export async function launchBrowser (): Promise<Browser> {
  if (!HAVE_BROWSER) throw new Error(`DEBUG_TOOLBAR_REQUIRE_BROWSER=1 but there is no browser at ${CHROMIUM}`)
  mkdirSync(RESULTS, { recursive: true })
  return await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 30_000 })
}
