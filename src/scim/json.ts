// Copying and comparing JSON values whatever their depth. structuredClone, util.isDeepStrictEqual and
// plain recursion overflow the call stack a few thousand levels down, and resources stored before the
// nesting limit may be that deep; V8's JSON.parse and JSON.stringify are not limited that way.

/** A deep copy of a JSON value. */
export const copyJson = <T>(value: T): T => value === undefined ? value : JSON.parse(JSON.stringify(value))

/** Whether two JSON values are written alike (same keys in the same order): a cheap "unchanged" test. */
export const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b)

/** A deep copy without null values: null means unassigned (RFC 7643 §2.5), in objects and in arrays. */
export function withoutNulls<T> (value: T): T {
  if (value === null || typeof value !== 'object') return value
  const fresh = (of: object): Container => Array.isArray(of) ? [] : {}
  const root = fresh(value)
  // An explicit stack instead of recursion (JSON.parse's reviver recurses too).
  const stack: Array<[object, Container]> = [[value, root]]
  while (stack.length > 0) {
    const [source, target] = stack.pop()!
    const entries: Array<[string, unknown]> = Array.isArray(source) ? source.map((item, i) => [String(i), item]) : Object.entries(source)
    for (const [key, item] of entries) {
      if (item === null || item === undefined) continue
      const copied = typeof item === 'object' ? fresh(item) : item
      if (Array.isArray(target)) target.push(copied)
      // defineProperty keeps a key named "__proto__" a plain key.
      else Object.defineProperty(target, key, { value: copied, writable: true, enumerable: true, configurable: true })
      if (typeof item === 'object') stack.push([item, copied as Container])
    }
  }
  return root as T
}

type Container = unknown[] | Record<string, unknown>
