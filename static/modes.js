/**
 * fastify-debug-toolbar: the bar's mode switches (Precise, Sample). Each is a cookie (path=/,
 * SameSite=Strict) that the server reads on every later request from this browser.
 */
import { h } from './dom.js'

/**
 * The modes, in bar order. `fdt-precise=1` forces a GC at the start and end of the request,
 * `fdt-sample=1` asks for its allocation sites (the x-debug-toolbar-sample: 1 header's twin).
 */
const MODES = {
  precise: {
    cookie: 'fdt-precise=1',
    label: 'Precise',
    title: 'Precise mode: applies to the next request; forces three full GCs per request (about 5 ms each on a small heap)',
    description: 'Applies to the next request: forces full GCs before and after it (two before, one after) so the heap delta is what it retained. Costs three forced GCs, about 5 ms each on a small heap.',
    on: 'Precise mode on from the next request: it costs three forced GCs (about 5 ms each on a small heap) per request, and the heap delta becomes retained bytes. The server grants it to a few requests a second (preciseMaxPerSecond); one over the limit is measured without it and its Memory panel says so.',
    off: 'Precise mode off from the next request.'
  },
  sample: {
    cookie: 'fdt-sample=1',
    label: 'Sample',
    title: 'Sample mode: applies from the next request; samples this browser\'s requests for allocation sites (needed in allocations.requests \'marked\' mode, and past the budget under load) at the sampler\'s cost on each',
    description: 'Applies from the next request: marks this browser\'s requests for allocation sampling, which an app registered with allocations.requests \'marked\' needs before it samples them, and which bypasses the sampling budget under load. Costs the sampler\'s overhead on each of those requests: tens of microseconds to read the profile with the native sampler, a forced full GC with the inspector one.',
    on: 'Sample mode on from the next request: this browser\'s requests get their allocation sites, in \'marked\' mode and over the budget too, each at the sampler\'s overhead.',
    off: 'Sample mode off from the next request: this browser\'s requests are sampled as allocations.requests says.'
  }
}

/** True when `action` (a button's data-action) names a mode. */
export function isMode (action) {
  return action !== null && Object.hasOwn(MODES, action)
}

/**
 * The switches and their screen-reader descriptions, in bar order; without Sample when `sampling`
 * is false (the server samples nothing, so the switch would do nothing).
 */
export function modeSwitches (sampling) {
  return Object.keys(MODES).filter((name) => name !== 'sample' || sampling).flatMap((name) => modeSwitch(name))
}

/** Flip mode `name`'s cookie and its switch `button`; returns the sentence saying what changed. */
export function toggleMode (button, name) {
  const { cookie, on, off } = MODES[name]
  const turnOn = !cookieSet(cookie)
  document.cookie = turnOn
    ? `${cookie}; path=/; SameSite=Strict`
    : `${cookie.slice(0, cookie.indexOf('='))}=; path=/; SameSite=Strict; Max-Age=0`
  button.setAttribute('aria-pressed', String(cookieSet(cookie)))
  return turnOn ? on : off
}

/** A mode's switch (classes fdt-mode and fdt-<name>) and the switch's screen-reader description. */
function modeSwitch (name) {
  const { cookie, label, title, description } = MODES[name]
  const descId = `fdt-${name}-desc`
  return [
    h('button', {
      type: 'button',
      class: `fdt-mode fdt-${name}`,
      'data-action': name,
      'aria-pressed': String(cookieSet(cookie)),
      'aria-describedby': descId,
      title
    }, h('span', { class: 'fdt-switch-track', 'aria-hidden': 'true' }), label),
    h('span', { id: descId, class: 'fdt-sr' }, description)
  ]
}

/** True when this page's cookies hold `cookie` ('name=value') exactly. */
function cookieSet (cookie) {
  return document.cookie.split(/;\s*/).includes(cookie)
}
