// What an update changed: the `previous` of a user.updated or group.updated event. Each top-level
// attribute of `raw` whose value differs (compared deeply, key order aside) maps to its former value
// (null where it was absent); for users, jackson's standard fields (first_name, last_name, email,
// active) likewise, so that a host can tell a deactivation from any other update without diffing.

type Json = Record<string, unknown>

function deepEqual (a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  if (Array.isArray(a)) return a.length === (b as unknown[]).length && a.every((item, i) => deepEqual(item, (b as unknown[])[i]))
  const keys = Object.keys(a)
  if (keys.length !== Object.keys(b).length) return false
  return keys.every((key) => Object.prototype.hasOwnProperty.call(b, key) && deepEqual((a as Json)[key], (b as Json)[key]))
}

/** The former values of the top-level attributes of `before` and `after` that differ. */
export function previousValues (before: object, after: object, names: Iterable<string> = new Set([...Object.keys(before), ...Object.keys(after)])): Json {
  const [was, is] = [before as Json, after as Json]
  const previous: Json = {}
  for (const name of names) if (!deepEqual(was[name], is[name])) previous[name] = was[name] ?? null
  return previous
}

export const STANDARD_USER_FIELDS = ['first_name', 'last_name', 'email', 'active'] as const
