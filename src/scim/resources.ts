// Resources on the way out: `meta` and `Location`, and the `attributes` / `excludedAttributes`
// projection of RFC 7644 §3.4.2.5 (attribute names are case-insensitive; `id` and `schemas` are always
// returned).
import { ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA } from './discovery.js'
import { ScimProblem } from './errors.js'
import { copyJson } from './json.js'

type Json = Record<string, unknown>

export type ResourceKind = 'User' | 'Group'
const COLLECTION: Record<ResourceKind, 'Users' | 'Groups'> = { User: 'Users', Group: 'Groups' }
const CORE_SCHEMA: Record<ResourceKind, string> = { User: USER_SCHEMA, Group: GROUP_SCHEMA }

export function locationOf (directoryBaseUrl: string, kind: ResourceKind, id: string): string {
  return `${directoryBaseUrl}/${COLLECTION[kind]}/${encodeURIComponent(id)}`
}

/** The resource as a client sees it: stored attributes, then id, schemas and meta. */
export function present (kind: ResourceKind, directoryBaseUrl: string, stored: {
  id: string, body: Json, created: string, lastModified: string
}, extra: Json = {}): Json {
  const schemas = Array.isArray(stored.body.schemas) && stored.body.schemas.length > 0 ? stored.body.schemas : [CORE_SCHEMA[kind]]
  return {
    ...stored.body,
    ...extra,
    schemas,
    id: stored.id,
    meta: {
      resourceType: kind,
      created: stored.created,
      lastModified: stored.lastModified,
      location: locationOf(directoryBaseUrl, kind, stored.id)
    }
  }
}

const ALWAYS = new Set(['id', 'schemas'])
const SCHEMA_PREFIXES = [USER_SCHEMA, GROUP_SCHEMA]

// "name.givenName" → ['name', 'givenName']; "urn:…:enterprise:2.0:User:manager" → [urn, 'manager'];
// "urn:…:core:2.0:User:userName" → ['userName'].
function parseAttribute (text: string): string[] {
  const lower = text.toLowerCase()
  for (const prefix of SCHEMA_PREFIXES) {
    if (lower.startsWith(prefix.toLowerCase() + ':')) return text.slice(prefix.length + 1).split('.')
  }
  if (lower === ENTERPRISE_USER_SCHEMA.toLowerCase()) return [ENTERPRISE_USER_SCHEMA]
  if (lower.startsWith(ENTERPRISE_USER_SCHEMA.toLowerCase() + ':')) {
    return [ENTERPRISE_USER_SCHEMA, ...text.slice(ENTERPRISE_USER_SCHEMA.length + 1).split('.')]
  }
  if (lower.startsWith('urn:')) {
    // Another extension: its URN is everything up to the last ':'.
    const cut = text.lastIndexOf(':')
    return [text.slice(0, cut), ...text.slice(cut + 1).split('.')]
  }
  return text.split('.')
}

export function parseAttributeList (text: string | undefined): string[][] | undefined {
  if (text === undefined) return undefined
  // Microsoft's collection sends `attributes=emails[type eq "work"]`: a value filter is no attribute
  // name, so the attribute it filters is what is meant.
  const list = text.split(',').map((s) => s.replace(/\[[^\]]*\]/g, '').trim()).filter((s) => s !== '')
  for (const item of list) {
    if (!/^[A-Za-z0-9_:.$-]+$/.test(item)) throw new ScimProblem(400, `"${item}" is not an attribute name`, 'invalidValue')
  }
  return list.map(parseAttribute)
}

const findKey = (object: Json, name: string) => Object.keys(object).find((k) => k.toLowerCase() === name.toLowerCase())

function pick (value: unknown, paths: string[][]): unknown {
  if (paths.some((p) => p.length === 0)) return value
  if (Array.isArray(value)) return value.map((item) => pick(item, paths))
  if (value === null || typeof value !== 'object') return value
  // The paths grouped by their first name (case-insensitively), in one pass: linear in the paths.
  const byName = new Map<string, string[][]>()
  for (const path of paths) {
    const name = path[0].toLowerCase()
    const rests = byName.get(name)
    if (rests === undefined) byName.set(name, [path.slice(1)])
    else rests.push(path.slice(1))
  }
  const out: Json = {}
  const source = value as Json
  for (const key of Object.keys(source)) {
    const rests = byName.get(key.toLowerCase())
    if (rests !== undefined && !(key in out)) out[key] = pick(source[key], rests)
  }
  return out
}

function drop (value: unknown, path: string[]): void {
  if (Array.isArray(value)) {
    for (const item of value) drop(item, path)
    return
  }
  if (value === null || typeof value !== 'object') return
  const source = value as Json
  const key = findKey(source, path[0])
  if (key === undefined) return
  if (path.length === 1) delete source[key]
  else drop(source[key], path.slice(1))
}

/** Applies `attributes` (kept) or `excludedAttributes` (removed) to a presented resource. */
export function project (resource: Json, attributes: string[][] | undefined, excluded: string[][] | undefined): Json {
  if (attributes !== undefined && attributes.length > 0) {
    const kept = pick(resource, [...attributes, ...[...ALWAYS].map((a) => [a])]) as Json
    return kept
  }
  if (excluded !== undefined && excluded.length > 0) {
    const copy = copyJson(resource)
    for (const path of excluded) {
      if (path.length === 1 && ALWAYS.has(path[0].toLowerCase())) continue
      drop(copy, path)
    }
    return copy
  }
  return resource
}

/** Whether a projection leaves out `attribute` (a top-level name), so that it need not be loaded. */
export function leavesOut (attribute: string, attributes: string[][] | undefined, excluded: string[][] | undefined): boolean {
  const name = attribute.toLowerCase()
  if (attributes !== undefined && attributes.length > 0) return !attributes.some((p) => p[0].toLowerCase() === name)
  return excluded !== undefined && excluded.some((p) => p.length === 1 && p[0].toLowerCase() === name)
}
