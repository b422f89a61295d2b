// RFC 7644 §3.5.2 PATCH, applied to a plain JSON resource without touching the input.
// Tolerates the dialects of Okta and Microsoft Entra (capitalised ops, "True"/"False"
// strings, dotted and URN keys in path-less values, member removal by value list).

import { FilterError, isCoreSchemaUri, matchesElement, parsePath } from './filter.js'
import type { AttrPath, Filter, PatchPath } from './filter.js'
import { copyJson } from './json.js'

export type PatchErrorType = 'invalidPath' | 'noTarget' | 'invalidValue' | 'mutability' | 'invalidSyntax'

export class PatchError extends Error {
  readonly scimType: PatchErrorType

  constructor (scimType: PatchErrorType, message: string) {
    super(message)
    this.name = 'PatchError'
    this.scimType = scimType
  }
}

export interface PatchOperation {
  op: string
  path?: string
  value?: unknown
}

export interface PatchOptions {
  /** Attributes whose "True"/"False" strings become booleans. Default `['active']`. */
  booleanAttributes?: string[]
  /** Top-level attributes a client may not change. Default `['id', 'meta']`. */
  readOnly?: string[]
  /**
   * The most elements that value filters (`emails[type eq "work"]`) may be evaluated on in one PATCH,
   * all operations together, so that the work of a PATCH stays bounded. Member removals by id
   * (`members[value eq "…"]`) are compared directly and do not count. Default 100,000.
   */
  filterBudget?: number
}

type Json = Record<string, unknown>
type Op = 'add' | 'replace' | 'remove'

// Multi-valued attributes whose elements are identified by their "value" (an id).
const VALUE_KEYED = new Set(['members', 'groups'])

function isPlainObject (v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function findKey (obj: Json, name: string): string | undefined {
  if (Object.hasOwn(obj, name)) return name
  const lower = name.toLowerCase()
  return Object.keys(obj).find((k) => k.toLowerCase() === lower)
}

function getCI (obj: Json, name: string): unknown {
  const key = findKey(obj, name)
  return key === undefined ? undefined : obj[key]
}

// defineProperty so that a key such as "__proto__" stays a plain data key.
function put (obj: Json, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true })
}

function setCI (obj: Json, name: string, value: unknown): void {
  put(obj, findKey(obj, name) ?? name, value)
}

function deleteCI (obj: Json, name: string): void {
  const key = findKey(obj, name)
  if (key !== undefined) delete obj[key]
}

// A canonical text of a JSON value (object keys sorted), so that equal values hash alike: merges and
// removals use a Map instead of comparing every pair.
function canonical (value: unknown): string {
  if (Array.isArray(value)) return '[' + value.map(canonical).join(',') + ']'
  if (isPlainObject(value)) {
    return '{' + Object.keys(value).sort().map((k) => JSON.stringify(k) + ':' + canonical(value[k])).join(',') + '}'
  }
  return JSON.stringify(value) ?? 'undefined'
}

// A value filter that compares the element's id (`members[value eq "…"]`): answered without the evaluator.
function valueIdFilter (name: string, filter: Filter): string | undefined {
  if (!VALUE_KEYED.has(name.toLowerCase()) || filter.op !== 'eq' || typeof filter.value !== 'string') return undefined
  const { path } = filter
  return path.uri === undefined && path.subAttribute === undefined && path.attribute.toLowerCase() === 'value' ? filter.value : undefined
}

function deepEqual (a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((v, i) => deepEqual(v, b[i]))
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a)
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]))
  }
  return false
}

// Null means "unassigned" (RFC 7643 §2.5), so it is dropped from values being stored.
function clean (value: unknown): unknown {
  if (Array.isArray(value)) return value.filter((v) => v !== null).map(clean)
  if (isPlainObject(value)) {
    const out: Json = {}
    for (const [k, v] of Object.entries(value)) if (v !== null) put(out, k, clean(v))
    return out
  }
  return value
}

// Sub-attributes given merge into a complex value; a null one unassigns it.
function mergeInto (target: Json, source: Json): void {
  for (const [k, v] of Object.entries(source)) {
    if (v === null) deleteCI(target, k)
    else setCI(target, k, clean(v))
  }
}

function lastSegment (key: string): string {
  const afterColon = key.slice(key.lastIndexOf(':') + 1)
  return afterColon.slice(afterColon.lastIndexOf('.') + 1)
}

function hasValue (el: unknown): el is Json {
  return isPlainObject(el) && getCI(el, 'value') !== undefined
}

// Builds the element a value filter describes, e.g. `type eq "work"` → {type:"work"}.
function seedFromFilter (filter: Filter): Json | undefined {
  if (filter.op === 'and') {
    const left = seedFromFilter(filter.left)
    const right = seedFromFilter(filter.right)
    return left && right ? { ...left, ...right } : undefined
  }
  if (filter.op === 'eq' && filter.path.uri === undefined && filter.path.subAttribute === undefined && filter.value !== null) {
    const seed: Json = {}
    put(seed, filter.path.attribute, filter.value)
    return seed
  }
  return undefined
}

// RFC 7644 §3.5.2: setting one primary clears the others.
function enforcePrimary (list: unknown[], touched: Set<unknown>): void {
  const winner = list.find((el) => touched.has(el) && isPlainObject(el) && getCI(el, 'primary') === true)
  if (winner === undefined) return
  for (const el of list) {
    if (el !== winner && isPlainObject(el) && getCI(el, 'primary') === true) setCI(el, 'primary', false)
  }
}

class Patcher {
  readonly root: Json
  readonly booleans: Set<string>
  readonly readOnly: Set<string>
  private budget: number

  constructor (root: Json, options: PatchOptions) {
    this.root = root
    this.booleans = new Set((options.booleanAttributes ?? ['active']).map((s) => s.toLowerCase()))
    this.readOnly = new Set((options.readOnly ?? ['id', 'meta']).map((s) => s.toLowerCase()))
    this.budget = options.filterBudget ?? 100_000
  }

  /** The elements of `list` that a value filter selects. */
  select (name: string, list: unknown[], filter: Filter): Set<unknown> {
    const id = valueIdFilter(name, filter)
    if (id !== undefined) return new Set(list.filter((el) => isPlainObject(el) && getCI(el, 'value') === id))
    this.budget -= list.length
    if (this.budget < 0) throw new PatchError('invalidValue', 'this PATCH evaluates its value filters on too many values; send it in smaller requests')
    return new Set(list.filter((el) => isPlainObject(el) && matchesElement(el, filter, name)))
  }

  coerce (name: string, value: unknown): unknown {
    if (typeof value === 'string') {
      const lower = value.toLowerCase()
      if (this.booleans.has(name.toLowerCase()) && (lower === 'true' || lower === 'false')) return lower === 'true'
      return value
    }
    if (Array.isArray(value)) return value.map((v) => this.coerce(name, v))
    if (isPlainObject(value)) {
      const out: Json = {}
      for (const [k, v] of Object.entries(value)) put(out, k, this.coerce(lastSegment(k), v))
      return out
    }
    return value
  }

  schemas (): unknown[] {
    const schemas = getCI(this.root, 'schemas')
    return Array.isArray(schemas) ? schemas : []
  }

  listsSchema (uri: string): boolean {
    const lower = uri.toLowerCase()
    return this.schemas().some((s) => typeof s === 'string' && s.toLowerCase() === lower)
  }

  // RFC 7643 §3: "schemas" names every extension the resource carries.
  registerSchema (uri: string): void {
    const key = findKey(this.root, 'schemas')
    if (key === undefined || !Array.isArray(this.root[key]) || this.listsSchema(uri)) return
    this.root[key] = [...(this.root[key] as unknown[]), uri]
  }

  unregisterSchema (uri: string): void {
    const key = findKey(this.root, 'schemas')
    if (key === undefined || !Array.isArray(this.root[key])) return
    const lower = uri.toLowerCase()
    this.root[key] = (this.root[key] as unknown[]).filter((s) => typeof s !== 'string' || s.toLowerCase() !== lower)
  }

  /**
   * Whether a colon key names a whole schema extension rather than an attribute in one.
   * `urn:…:enterprise:2.0:User` and `urn:…:enterprise:2.0:User:manager` look alike, so
   * use what the resource already has, then the convention that schema names are capitalised.
   */
  isExtensionKey (key: string): boolean {
    if (findKey(this.root, key) !== undefined || this.listsSchema(key)) return true
    const colon = key.lastIndexOf(':')
    const uri = key.slice(0, colon)
    if (findKey(this.root, uri) !== undefined || this.listsSchema(uri)) return false
    return /^[A-Z]/.test(key.slice(colon + 1))
  }

  parse (path: string): PatchPath {
    try {
      return parsePath(path)
    } catch (err) {
      if (err instanceof FilterError) throw new PatchError('invalidPath', err.message)
      throw err
    }
  }

  apply (op: Op, path: string | undefined, value: unknown): void {
    if (path === undefined) {
      if (!isPlainObject(value)) throw new PatchError('invalidValue', `"${op}" without a path needs an object value`)
      this.applyObject(op, value)
      return
    }
    this.applyKey(op, path, value)
  }

  applyObject (op: Op, value: Json): void {
    for (const [key, v] of Object.entries(value)) {
      if (key.includes(':')) {
        if (isCoreSchemaUri(key)) {
          if (!isPlainObject(v)) throw new PatchError('invalidValue', `"${key}" needs an object value`)
          this.applyObject(op, v)
          continue
        }
        if (isPlainObject(v) && this.isExtensionKey(key)) {
          for (const [sub, subValue] of Object.entries(v)) this.applyKey(op, `${key}:${sub}`, subValue)
          continue
        }
      }
      this.applyKey(op, key, v)
    }
  }

  applyKey (op: Op, path: string, value: unknown): void {
    let parsed = this.parse(path)
    const { attr } = parsed
    // A bare extension URN as the path targets the whole extension object.
    if (attr.uri !== undefined && !isCoreSchemaUri(attr.uri) && attr.subAttribute === undefined &&
        parsed.valueFilter === undefined && (op === 'remove' || isPlainObject(value))) {
      const full = `${attr.uri}:${attr.attribute}`
      if (this.isExtensionKey(full)) parsed = { attr: { attribute: full } }
    }
    const name = parsed.subAttribute ?? parsed.attr.subAttribute ?? parsed.attr.attribute
    this.applyPath(op, parsed, this.coerce(name, value))
  }

  // Read-only attributes may be echoed back unchanged (Okta sends the id), never changed.
  skipReadOnly (op: Op, path: PatchPath, value: unknown): boolean {
    const { attr } = path
    if (attr.uri !== undefined && !isCoreSchemaUri(attr.uri)) return false
    if (!this.readOnly.has(attr.attribute.toLowerCase())) return false
    if (op !== 'remove' && path.valueFilter === undefined) {
      let current = getCI(this.root, attr.attribute)
      if (attr.subAttribute !== undefined) current = isPlainObject(current) ? getCI(current, attr.subAttribute) : undefined
      if (deepEqual(current, value)) return true
    }
    throw new PatchError('mutability', `attribute "${attr.attribute}" is read-only`)
  }

  container (attr: AttrPath, create: boolean): Json | undefined {
    if (attr.uri === undefined || isCoreSchemaUri(attr.uri)) return this.root
    const key = findKey(this.root, attr.uri)
    const existing = key === undefined ? undefined : this.root[key]
    if (isPlainObject(existing)) return existing
    if (existing !== undefined && existing !== null) {
      throw new PatchError('invalidPath', `"${attr.uri}" is not an extension object`)
    }
    if (!create) return undefined
    const created: Json = {}
    put(this.root, key ?? attr.uri, created)
    this.registerSchema(attr.uri)
    return created
  }

  applyPath (op: Op, path: PatchPath, value: unknown): void {
    if (this.skipReadOnly(op, path, value)) return
    if (op !== 'remove' && value === undefined) throw new PatchError('invalidValue', `"${op}" needs a value`)
    const container = this.container(path.attr, op !== 'remove' && value !== null)
    if (container === undefined) return
    if (path.valueFilter !== undefined) this.applyFiltered(op, container, path.attr.attribute, path.valueFilter, path.subAttribute, value)
    else if (path.attr.subAttribute !== undefined) this.applySub(op, container, path.attr.attribute, path.attr.subAttribute, value)
    else this.applySimple(op, container, path.attr.attribute, value)
  }

  setOrUnassign (container: Json, key: string, list: unknown[]): void {
    if (list.length > 0) put(container, key, list)
    else delete container[key]
  }

  applySimple (op: Op, container: Json, name: string, value: unknown): void {
    const key = findKey(container, name) ?? name
    const existing = container[key]
    if (op === 'remove') {
      if (!Object.hasOwn(container, key)) return
      if (Array.isArray(existing) && value !== undefined && value !== null) {
        // Entra and JumpCloud remove selected members with a value list: by id where the target has one, else by equality.
        const targets = Array.isArray(value) ? value : [value]
        const ids = new Set(targets.filter(hasValue).map((t) => getCI(t, 'value')))
        const whole = new Set(targets.filter((t) => !hasValue(t)).map(canonical))
        const remaining = existing.filter((el) => !(hasValue(el) && ids.has(getCI(el, 'value'))) && !(whole.size > 0 && whole.has(canonical(el))))
        this.setOrUnassign(container, key, remaining)
        return
      }
      delete container[key]
      if (container === this.root && key.includes(':')) this.unregisterSchema(key)
      return
    }
    if (value === null) {
      delete container[key]
      return
    }
    // Entra sends the enterprise manager as a bare id.
    if (name.toLowerCase() === 'manager' && typeof value === 'string') value = { value }
    if (Array.isArray(existing) && (op === 'add' || !Array.isArray(value))) {
      const base = op === 'add' ? existing : []
      put(container, key, this.appendUnique(name, base, Array.isArray(value) ? value : [value]))
      return
    }
    if (Array.isArray(value)) {
      put(container, key, this.appendUnique(name, [], value))
      return
    }
    if (isPlainObject(existing) && isPlainObject(value)) {
      mergeInto(existing, value)
      return
    }
    put(container, key, clean(value))
    if (container === this.root && key.includes(':')) this.registerSchema(key)
  }

  appendUnique (name: string, list: unknown[], items: unknown[]): unknown[] {
    const out = [...list]
    const touched = new Set<unknown>()
    const byValue = VALUE_KEYED.has(name.toLowerCase())
    // What is already there, hashed: members by their id, anything else by its canonical text.
    const keyed = (el: unknown) => byValue && hasValue(el)
    const ids = new Set(out.filter(keyed).map((el) => getCI(el as Json, 'value')))
    const seen = new Set(out.filter((el) => !keyed(el)).map(canonical))
    for (const raw of items) {
      if (raw === null || raw === undefined) continue
      const item = clean(raw)
      if (keyed(item)) {
        const id = getCI(item as Json, 'value')
        if (ids.has(id)) continue
        ids.add(id)
      } else {
        const text = canonical(item)
        if (seen.has(text)) continue
        seen.add(text)
      }
      out.push(item)
      touched.add(item)
    }
    enforcePrimary(out, touched)
    return out
  }

  applySub (op: Op, container: Json, name: string, sub: string, value: unknown): void {
    const key = findKey(container, name) ?? name
    const parent = container[key]
    if (op === 'remove') {
      if (isPlainObject(parent)) {
        deleteCI(parent, sub)
        if (Object.keys(parent).length === 0) delete container[key]
      } else if (Array.isArray(parent)) {
        for (const el of parent) if (isPlainObject(el)) deleteCI(el, sub)
      }
      return
    }
    if (Array.isArray(parent)) {
      // No filter on a multi-valued attribute: the sub-attribute of every element.
      const elements = parent.filter(isPlainObject)
      if (elements.length === 0) throw new PatchError('noTarget', `"${name}" has no elements to set "${sub}" on`)
      for (const el of elements) {
        if (value === null) deleteCI(el, sub)
        else setCI(el, sub, clean(value))
      }
      return
    }
    if (parent === undefined || parent === null) {
      if (value === null) return
      const created: Json = {}
      put(created, sub, clean(value))
      put(container, key, created)
      return
    }
    if (!isPlainObject(parent)) throw new PatchError('invalidPath', `"${name}" has no sub-attributes`)
    if (value === null) deleteCI(parent, sub)
    else setCI(parent, sub, clean(value))
  }

  applyFiltered (op: Op, container: Json, name: string, filter: Filter, sub: string | undefined, value: unknown): void {
    const key = findKey(container, name) ?? name
    const existing = container[key]
    if (existing !== undefined && existing !== null && !Array.isArray(existing)) {
      throw new PatchError('invalidPath', `"${name}" is not multi-valued`)
    }
    const list = Array.isArray(existing) ? existing : []
    // Evaluated in the attribute's context, so that members[value eq …] compares ids exactly.
    const matched = this.select(name, list, filter)

    if (op === 'remove') {
      if (matched.size === 0) return
      if (sub !== undefined) {
        for (const el of matched) deleteCI(el as Json, sub)
      } else {
        this.setOrUnassign(container, key, list.filter((el) => !matched.has(el)))
      }
      return
    }

    if (sub === undefined && !isPlainObject(value)) {
      throw new PatchError('invalidValue', `"${name}[…]" needs an object of sub-attributes as value`)
    }
    if (matched.size === 0) {
      if (value === null) return
      // Entra adds and replaces through a filter that matches nothing yet.
      const seed = seedFromFilter(filter)
      if (seed === undefined) throw new PatchError('noTarget', `no "${name}" element matches the filter`)
      if (sub !== undefined) setCI(seed, sub, clean(value))
      else mergeInto(seed, value as Json)
      const next = [...list, seed]
      enforcePrimary(next, new Set([seed]))
      put(container, key, next)
      return
    }
    for (const el of matched) {
      const target = el as Json
      if (sub === undefined) mergeInto(target, value as Json)
      else if (value === null) deleteCI(target, sub)
      else setCI(target, sub, clean(value))
    }
    enforcePrimary(list, matched)
  }
}

export function applyPatch (
  resource: Record<string, unknown>,
  operations: PatchOperation[],
  options: PatchOptions = {}
): Record<string, unknown> {
  if (!Array.isArray(operations)) throw new PatchError('invalidSyntax', '"Operations" must be an array')
  // Operate on a copy so a failure part-way leaves the caller's resource intact.
  const patcher = new Patcher(copyJson(resource), options)
  operations.forEach((operation: unknown, i) => {
    if (!isPlainObject(operation) || typeof operation.op !== 'string') {
      throw new PatchError('invalidSyntax', `operation ${i}: "op" must be a string`)
    }
    const op = operation.op.toLowerCase()
    if (op !== 'add' && op !== 'replace' && op !== 'remove') {
      throw new PatchError('invalidSyntax', `operation ${i}: unknown op "${operation.op}"`)
    }
    const rawPath = operation.path
    if (rawPath !== undefined && rawPath !== null && typeof rawPath !== 'string') {
      throw new PatchError('invalidPath', `operation ${i}: "path" must be a string`)
    }
    const path = typeof rawPath === 'string' && rawPath.trim() !== '' ? rawPath : undefined
    if (op === 'remove' && path === undefined) throw new PatchError('noTarget', `operation ${i}: "remove" needs a path`)
    patcher.apply(op as Op, path, operation.value === undefined ? undefined : copyJson(operation.value))
  })
  return patcher.root
}
