/**
 * V8 builtins (`split`, `push`, `JSON.parse`, iterator `next`) as the sampler reports them: frames
 * with no script. By default their bytes count toward the JavaScript function that called them,
 * which is where a reader can change something. Pure: a call tree in, a new call tree out.
 */
import type { AllocationProfile, ProfileNode } from './types.ts'

/** A frame of V8 native code that is a real function (not a synthetic `(root)`, `(program)`, `(V8 API)`...). */
export function isBuiltin (n: ProfileNode): boolean {
  return n.frame.url === '' && n.frame.functionName !== '' && !n.frame.functionName.startsWith('(')
}

/**
 * The tree with every builtin folded into its nearest caller that is not one: its self bytes and
 * samples are added to that caller and its children hang from it. A builtin with no such caller
 * (straight under a synthetic root) stays. The input is not changed.
 */
export function foldBuiltins (root: ProfileNode): ProfileNode {
  function copy (n: ProfileNode): ProfileNode {
    const out: ProfileNode = { id: n.id, frame: n.frame, selfBytes: n.selfBytes, selfSamples: n.selfSamples, children: [] }
    for (const c of n.children) into(c, out)
    return out
  }
  /** Attach `n` under `parent`, folding it into `parent` when it is a builtin and `parent` can take it. */
  function into (n: ProfileNode, parent: ProfileNode): void {
    if (isBuiltin(n) && !isBuiltin(parent) && !isSyntheticRoot(parent)) {
      parent.selfBytes += n.selfBytes
      parent.selfSamples += n.selfSamples
      for (const c of n.children) into(c, parent)
      return
    }
    parent.children.push(copy(n))
  }
  return copy(root)
}

function isSyntheticRoot (n: ProfileNode): boolean {
  return n.frame.url === '' && n.frame.functionName.startsWith('(')
}

/** A profile whose tree has builtins folded into their callers (see foldBuiltins). */
export function withBuiltinsFolded (profile: AllocationProfile): AllocationProfile {
  return { ...profile, root: foldBuiltins(profile.root) }
}
