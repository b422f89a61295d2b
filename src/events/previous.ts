// What an update changed: the `previous` of a user.updated or group.updated event. Each top-level
// attribute of `raw` whose value differs (compared deeply, key order aside) maps to its former value
// (null where it was absent); for users, jackson's standard fields (first_name, last_name, email,
// active) likewise, so that a host can tell a deactivation from any other update without diffing.

type Json = Record<string, unknown>

// With a stack of its own, not recursion: a resource stored before the nesting limit existed may be
// nested thousands of levels deep.
export function deepEqual (a: unknown, b: unknown): boolean {
  const pending: Array<[unknown, unknown]> = [[a, b]]
  while (pending.length > 0) {
    const [x, y] = pending.pop()!
    if (x === y) continue
    if (typeof x !== 'object' || typeof y !== 'object' || x === null || y === null) return false
    if (Array.isArray(x) !== Array.isArray(y)) return false
    if (Array.isArray(x)) {
      if (x.length !== (y as unknown[]).length) return false
      x.forEach((item, i) => pending.push([item, (y as unknown[])[i]]))
      continue
    }
    const keys = Object.keys(x)
    if (keys.length !== Object.keys(y).length) return false
    for (const key of keys) {
      if (!Object.prototype.hasOwnProperty.call(y, key)) return false
      pending.push([(x as Json)[key], (y as Json)[key]])
    }
  }
  return true
}

/** The former values of the top-level attributes of `before` and `after` that differ. */
export function previousValues (before: object, after: object, names: Iterable<string> = new Set([...Object.keys(before), ...Object.keys(after)])): Json {
  const [was, is] = [before as Json, after as Json]
  const previous: Json = {}
  for (const name of names) if (!deepEqual(was[name], is[name])) previous[name] = was[name] ?? null
  return previous
}

export const STANDARD_USER_FIELDS = ['first_name', 'last_name', 'email', 'active'] as const
