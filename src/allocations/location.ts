/**
 * Where a frame lives, for people: its path relative to the project root (source-mapped when the
 * record has a `source`), and what kind of code it is (the app, a dependency, Node's internals, or
 * native code). Pure: the project root is passed in as data.
 */
import { fileURLToPath } from 'node:url'
import type { AllocationFrame } from './types.ts'

/** What kind of code a frame is: decides the package group and the flame graph's colour. */
export type CodeCategory = 'app' | 'dependency' | 'node' | 'native'

/** A frame placed for display. */
export interface PlacedFrame {
  /** The function's name; '(anonymous)' when V8 has none. */
  functionName: string
  /** 'playground/lib/report.ts' (relative to the root when under it), 'node:internal/...', or '(native)'. */
  file: string
  /** `file:line` of the function's definition (1-based; the line is left out when unknown). */
  location: string
  /** True when `file` and `location` come from a source map. */
  mapped: boolean
  category: CodeCategory
  /** The package's name (`fastify`, `@fastify/static`) for dependencies, else a label for the category. */
  packageName: string
}

/** Labels of the package groups that are not npm packages. */
export const CATEGORY_LABELS: Readonly<Record<Exclude<CodeCategory, 'dependency'>, string>> = {
  app: '(app)',
  node: '(node internals)',
  native: '(native)'
}

/** The last `node_modules/<pkg>` or `node_modules/@scope/pkg` in a path. */
const PACKAGE_RE = /(?:^|[/\\])node_modules[/\\]((?:@[^/\\]+[/\\])?[^/\\]+)/g

/** A script URL or path as a local path: `file://` URLs decoded, backslashes made forward. */
export function plainPath (url: string): string {
  let p = url
  if (p.startsWith('file://')) {
    try {
      p = fileURLToPath(p)
    } catch {
      p = decodeURIComponent(p.slice('file://'.length))
    }
  }
  return p.replace(/\\/g, '/')
}

/** `url` relative to `root` when it is under it; '(native)' for native code (an empty URL). */
export function relativePath (url: string, root: string): string {
  if (url === '') return CATEGORY_LABELS.native
  const p = plainPath(url)
  const r = plainPath(root).replace(/\/+$/, '')
  if (r !== '' && p.startsWith(`${r}/`)) return p.slice(r.length + 1)
  return p
}

/** The npm package a script belongs to (`@scope/pkg` kept whole), or undefined outside node_modules. */
export function packageOf (url: string): string | undefined {
  let name: string | undefined
  for (const m of url.matchAll(PACKAGE_RE)) name = m[1]
  return name?.replace(/\\/g, '/')
}

/** The kind of code at a script URL, as V8 reports it (the runtime URL, not a source-mapped one). */
export function categoryOf (url: string): CodeCategory {
  if (url === '') return 'native'
  if (url.startsWith('node:')) return 'node'
  return packageOf(url) === undefined ? 'app' : 'dependency'
}

/**
 * A frame placed for display under `root`. The package comes from the runtime URL (code in
 * node_modules is a dependency even when its map points at its own sources); the path shown is the
 * source-mapped one when there is one.
 */
export function placeFrame (frame: AllocationFrame, root: string): PlacedFrame {
  const category = categoryOf(frame.url)
  const mapped = frame.source !== undefined && frame.source.url !== ''
  const url = mapped ? (frame.source as NonNullable<AllocationFrame['source']>).url : frame.url
  const line = mapped ? (frame.source as NonNullable<AllocationFrame['source']>).line : frame.line
  const file = relativePath(url, root)
  return {
    functionName: frame.functionName === '' ? '(anonymous)' : frame.functionName,
    file,
    location: line > 0 && url !== '' ? `${file}:${line}` : file,
    mapped,
    category,
    packageName: category === 'dependency' ? (packageOf(frame.url) as string) : CATEGORY_LABELS[category]
  }
}
