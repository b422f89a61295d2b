// Input hygiene, in one place for every way a SCIM request arrives (the HTTP routes, and
// `requests.handle`, whose body the host parsed): before any operation sees a request, its body, id
// and query are walked once, iteratively, and refused with a 400 when they hold
// - an object key that names a prototype (`__proto__`, `constructor`, `prototype`): JSON.parse makes
//   them own keys, but a spread or a copy further on may treat them as the prototype;
// - a NUL character or a lone surrogate, in a key or a value: PostgreSQL cannot store a NUL in text,
//   and a lone surrogate is no Unicode text (it would be stored as U+FFFD by some engines, as is by others);
// - nesting deeper than `limits.jsonDepth`, or an array longer than `limits.valuesPerAttribute`.
import { ScimProblem } from './errors.js'
import type { Limits } from './limits.js'

export const PROTOTYPE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype'])
// A high surrogate not followed by a low one, or a low one not preceded by a high one (the target
// library has no String.prototype.isWellFormed yet).
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** Why `text` cannot be stored as given, or undefined when it can. */
export function textProblem (text: string): string | undefined {
  if (text.includes('\u0000')) return 'contains a NUL character'
  if (LONE_SURROGATE.test(text)) return 'is not well-formed Unicode (a lone surrogate)'
  return undefined
}

/** Refuses a string parameter (an id, a filter, an attribute list) that no engine could store or compare. */
export function checkText (text: string | undefined, what: string): void {
  if (text === undefined) return
  const problem = textProblem(text)
  if (problem !== undefined) throw new ScimProblem(400, `${what} ${problem}`, 'invalidValue')
}

const describe = (path: string) => path === '' ? 'the request body' : `"${path}"`

/** Walks a request body once; throws a ScimProblem (400) at the first thing it refuses. Answers how many values it holds. */
export function checkBody (body: unknown, limits: Pick<Limits, 'jsonDepth' | 'valuesPerAttribute'>): number {
  if (body === null || typeof body !== 'object') {
    if (typeof body === 'string') checkText(body, 'the request body')
    return body === undefined ? 0 : 1
  }
  let values = 0
  // An explicit stack: the body may be nested deeper than the call stack would allow.
  const stack: Array<{ value: unknown, depth: number, path: string }> = [{ value: body, depth: 1, path: '' }]
  while (stack.length > 0) {
    const { value, depth, path } = stack.pop()!
    values++
    if (depth > limits.jsonDepth) {
      throw new ScimProblem(400, `The request body is nested deeper than ${limits.jsonDepth} levels`, 'invalidSyntax')
    }
    if (Array.isArray(value)) {
      if (value.length > limits.valuesPerAttribute) {
        throw new ScimProblem(400, `${describe(path)} has ${value.length} values; at most ${limits.valuesPerAttribute} are accepted`, 'invalidValue')
      }
      for (const item of value) visit(item, depth, path, stack)
      values += value.length
      continue
    }
    for (const key of Object.keys(value as object)) {
      if (PROTOTYPE_KEYS.has(key)) throw new ScimProblem(400, `"${key}" is not an attribute name`, 'invalidSyntax')
      const problem = textProblem(key)
      if (problem !== undefined) throw new ScimProblem(400, `An attribute name ${problem}`, 'invalidValue')
      visit((value as Record<string, unknown>)[key], depth, path === '' ? key : `${path}.${key}`, stack)
      values++
    }
  }
  return values
}

function visit (item: unknown, depth: number, path: string, stack: Array<{ value: unknown, depth: number, path: string }>): void {
  if (typeof item === 'string') {
    const problem = textProblem(item)
    if (problem !== undefined) throw new ScimProblem(400, `The value of ${describe(path)} ${problem}`, 'invalidValue')
  } else if (item !== null && typeof item === 'object') {
    stack.push({ value: item, depth: depth + 1, path })
  }
}
