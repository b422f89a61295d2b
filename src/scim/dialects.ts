// Provider quirks normalised on the way in, so that the operations see one shape:
// - OneLogin sends a multi-valued attribute (`emails`) as a single object: wrapped in an array.
// - Entra sends booleans as strings ("True", "False") in its default dialect: converted for the
//   attributes the schema declares boolean (`active`, and `primary` inside multi-valued attributes).
// - null means unassigned (RFC 7643 §2.5): such attributes are dropped, at any depth (Microsoft's
//   test collection sends addresses with `"country": null`).
// - A URN-qualified core attribute is the attribute (RFC 7644 §3.10): "urn:…:core:2.0:User:password" is
//   `password`, and a "urn:…:core:2.0:User" object holds top-level attributes; so what is dropped
//   below is dropped in every spelling.
// - What a client may not set is dropped: `password` (never stored), `id` and `meta` (server-assigned),
//   and a User's `groups` (read-only: memberships are written through Groups).
import { GROUP_SCHEMA, USER_SCHEMA } from './discovery.js'
import { ScimProblem } from './errors.js'
import { PROTOTYPE_KEYS } from './hygiene.js'
import { withoutNulls } from './json.js'

type Json = Record<string, unknown>

// Attribute names are case-insensitive (RFC 7643 §2.1): known ones are stored in their canonical case.
const CANONICAL = new Map(['schemas', 'externalId', 'userName', 'name', 'displayName', 'nickName', 'profileUrl', 'title',
  'userType', 'preferredLanguage', 'locale', 'timezone', 'active', 'password', 'emails', 'phoneNumbers', 'ims', 'photos',
  'addresses', 'groups', 'entitlements', 'roles', 'x509Certificates', 'members'].map((name) => [name.toLowerCase(), name]))

const MULTI_VALUED = ['emails', 'phoneNumbers', 'ims', 'photos', 'addresses', 'entitlements', 'roles', 'x509Certificates', 'members']
const DROPPED = { User: ['password', 'id', 'meta', 'groups'], Group: ['id', 'meta'] } as const

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)

/** "True"/"true"/"False"/"false" as a boolean; anything else unchanged. */
export function booleanish (value: unknown): unknown {
  if (typeof value !== 'string') return value
  const lower = value.toLowerCase()
  return lower === 'true' ? true : lower === 'false' ? false : value
}

const CORE_URN = { User: USER_SCHEMA.toLowerCase(), Group: GROUP_SCHEMA.toLowerCase() } as const

// Sets a dotted name ("name.givenName", from a qualified key) as nested attributes.
function setPath (out: Json, path: string[], value: unknown): void {
  if (path.length === 1) {
    out[path[0]] = value
    return
  }
  const key = Object.keys(out).find((k) => k.toLowerCase() === path[0].toLowerCase()) ?? path[0]
  const child = isObject(out[key]) ? out[key] as Json : {}
  out[key] = child
  setPath(child, path.slice(1), value)
}

/** The body with URN-qualified core attributes written as plain ones (the qualified spelling wins). */
function unqualified (kind: 'User' | 'Group', body: Json): Json {
  const urn = CORE_URN[kind]
  if (!Object.keys(body).some((key) => key.toLowerCase().startsWith(urn))) return body
  const out: Json = {}
  const qualified: Array<[string[], unknown]> = []
  for (const [key, value] of Object.entries(body)) {
    const lower = key.toLowerCase()
    if (lower === urn && isObject(value)) qualified.push(...Object.entries(value).map(([k, v]): [string[], unknown] => [[k], v]))
    else if (lower.startsWith(urn + ':')) {
      const path = key.slice(urn.length + 1).split('.')
      if (path.some((name) => PROTOTYPE_KEYS.has(name))) throw new ScimProblem(400, `"${key}" is not an attribute name`, 'invalidSyntax')
      qualified.push([path, value])
    } else out[key] = value
  }
  for (const [path, value] of qualified) setPath(out, path, value)
  return out
}

export function normaliseBody (kind: 'User' | 'Group', body: Json): Json {
  const out: Json = {}
  for (const [given, value] of Object.entries(unqualified(kind, withoutNulls(body) as Json))) {
    const key = CANONICAL.get(given.toLowerCase()) ?? given
    if ((DROPPED[kind] as readonly string[]).some((d) => d.toLowerCase() === key.toLowerCase())) continue
    const multi = MULTI_VALUED.find((m) => m.toLowerCase() === key.toLowerCase())
    if (multi !== undefined) {
      const list = isObject(value) ? [value] : value
      out[key] = Array.isArray(list) ? list.map((item) => isObject(item) && 'primary' in item ? { ...item, primary: booleanish(item.primary) } : item) : list
    } else if (key.toLowerCase() === 'active') {
      out[key] = booleanish(value)
    } else {
      out[key] = value
    }
  }
  return out
}
