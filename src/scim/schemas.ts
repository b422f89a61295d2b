// TypeBox schemas for the SCIM routes: request validation and response serialisation.
// Loose on purpose: identity providers send what they send, and every object allows additional
// properties because resources carry extension URN keys and custom attributes that must survive
// validation and serialisation (a response schema would otherwise strip them).

import { Type } from '@sinclair/typebox'
import type { Static, TSchema } from '@sinclair/typebox'
import { ENTERPRISE_USER_SCHEMA, ERROR_SCHEMA } from './discovery.js'

const open = { additionalProperties: true } as const

const Str = () => Type.String()
const OptStr = () => Type.Optional(Type.String())

// RFC 7643 §3.1 meta; version only when the server does ETags.
export const Meta = Type.Object({
  resourceType: Str(),
  created: Str(),
  lastModified: Str(),
  location: Str(),
  version: OptStr()
}, open)

export const Email = Type.Object({
  value: OptStr(),
  display: OptStr(),
  type: OptStr(),
  primary: Type.Optional(Type.Boolean())
}, open)

// phoneNumbers, ims, photos, entitlements, roles, x509Certificates (RFC 7643 §2.4).
// primary also takes a string: Entra writes booleans as "True"/"False" elsewhere, so tolerate it here.
export const MultiValuedAttribute = Type.Object({
  value: OptStr(),
  display: OptStr(),
  type: OptStr(),
  primary: Type.Optional(Type.Union([Type.Boolean(), Type.String()]))
}, open)

export const Address = Type.Object({
  formatted: OptStr(),
  streetAddress: OptStr(),
  locality: OptStr(),
  region: OptStr(),
  postalCode: OptStr(),
  country: OptStr(),
  type: OptStr(),
  primary: Type.Optional(Type.Boolean())
}, open)

export const Name = Type.Object({
  formatted: OptStr(),
  familyName: OptStr(),
  givenName: OptStr(),
  middleName: OptStr(),
  honorificPrefix: OptStr(),
  honorificSuffix: OptStr()
}, open)

// User.groups is read-only (RFC 7643 §4.1.2) but Okta sends `groups: []` on create; accepted, ignored later.
export const UserGroupRef = Type.Object({
  value: OptStr(),
  $ref: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  display: OptStr(),
  type: OptStr()
}, open)

export const EnterpriseUser = Type.Object({
  employeeNumber: OptStr(),
  costCenter: OptStr(),
  organization: OptStr(),
  division: OptStr(),
  department: OptStr(),
  // Entra PATCHes the manager as a bare id string instead of { value }; accept that in bodies too.
  manager: Type.Optional(Type.Union([
    Type.Object({ value: OptStr(), $ref: OptStr(), displayName: OptStr() }, open),
    Type.String()
  ]))
}, open)

const userAttributes = {
  schemas: Type.Optional(Type.Array(Type.String())),
  externalId: OptStr(),
  name: Type.Optional(Name),
  displayName: OptStr(),
  nickName: OptStr(),
  profileUrl: OptStr(),
  title: OptStr(),
  userType: OptStr(),
  preferredLanguage: OptStr(),
  locale: OptStr(),
  timezone: OptStr(),
  // Boolean in POST/PUT bodies; Entra's "True"/"False" strings only come through PATCH values.
  active: Type.Optional(Type.Boolean()),
  password: OptStr(),
  // OneLogin has sent a single object instead of an array.
  emails: Type.Optional(Type.Union([Type.Array(Email), Email])),
  phoneNumbers: Type.Optional(Type.Array(MultiValuedAttribute)),
  ims: Type.Optional(Type.Array(MultiValuedAttribute)),
  photos: Type.Optional(Type.Array(MultiValuedAttribute)),
  addresses: Type.Optional(Type.Array(Address)),
  groups: Type.Optional(Type.Array(UserGroupRef)),
  entitlements: Type.Optional(Type.Array(MultiValuedAttribute)),
  roles: Type.Optional(Type.Array(MultiValuedAttribute)),
  x509Certificates: Type.Optional(Type.Array(MultiValuedAttribute)),
  [ENTERPRISE_USER_SCHEMA]: Type.Optional(EnterpriseUser)
}

const UserName = Type.String({ minLength: 1 })

/** Any User body; userName may be absent. */
export const ScimUser = Type.Object({ ...userAttributes, userName: Type.Optional(UserName) }, open)

/** POST and PUT /Users: userName is REQUIRED (RFC 7643 §4.1.1), PUT replaces the whole resource. */
export const ScimUserCreate = Type.Object({ ...userAttributes, userName: UserName }, open)

/** A User as returned; the rest of the stored resource passes through as additional properties. */
export const ScimUserResource = Type.Object({
  schemas: Type.Optional(Type.Array(Type.String())),
  id: Str(),
  userName: Str(),
  meta: Meta
}, open)

// $ref null is what Entra sends when adding members.
export const GroupMember = Type.Object({
  value: Str(),
  display: OptStr(),
  $ref: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  type: OptStr()
}, open)

/** POST and PUT /Groups: displayName is REQUIRED (RFC 7643 §4.2). */
export const ScimGroup = Type.Object({
  schemas: Type.Optional(Type.Array(Type.String())),
  externalId: OptStr(),
  displayName: Type.String({ minLength: 1 }),
  members: Type.Optional(Type.Array(GroupMember))
}, open)

/** Same as ScimGroup, named for symmetry with ScimUserCreate. */
export const ScimGroupCreate = ScimGroup

export const ScimGroupResource = Type.Object({
  schemas: Type.Optional(Type.Array(Type.String())),
  id: Str(),
  displayName: Str(),
  members: Type.Optional(Type.Array(GroupMember)),
  meta: Meta
}, open)

// op stays any string: Entra capitalises ("Replace"), the PATCH engine normalises it.
export const PatchOperation = Type.Object({
  op: Str(),
  path: OptStr(),
  value: Type.Optional(Type.Unknown())
}, open)

/** RFC 7644 §3.5.2 PatchOp; schemas optional because the PATCH engine does not need it. */
export const PatchOp = Type.Object({
  schemas: Type.Optional(Type.Array(Type.String())),
  Operations: Type.Array(PatchOperation, { minItems: 1 })
}, open)

/** RFC 7644 §3.4.2 ListResponse around `item`. */
export function ListResponse<T extends TSchema> (item: T) {
  return Type.Object({
    schemas: Type.Array(Type.String()),
    totalResults: Type.Integer(),
    startIndex: Type.Integer(),
    itemsPerPage: Type.Integer(),
    Resources: Type.Array(item)
  }, open)
}

/** RFC 7644 §3.12 error body; status is the HTTP status as a string. */
export const ScimErrorBody = Type.Object({
  schemas: Type.Array(Type.Literal(ERROR_SCHEMA), { minItems: 1 }),
  status: Str(),
  scimType: OptStr(),
  detail: OptStr()
}, open)

// The query string of a listing. Its paging parameters stay text: the operations parse and clamp them
// (RFC 7644 §3.4.2.4: startIndex < 1 is read as 1, count < 0 as 0).
const listQuery = {
  filter: Type.Optional(Type.String({ description: 'a SCIM filter (RFC 7644 §3.4.2.2), e.g. userName eq "ann@example.com"' })),
  // Integers, parsed by query.ts integerParam: a schema integer (with Ajv's coercion) lets 1e300 through.
  startIndex: Type.Optional(Type.String({ description: 'an integer: the 1-based index of the first result' })),
  count: Type.Optional(Type.String({ description: 'an integer: the most results in a page' })),
  attributes: Type.Optional(Type.String({ description: 'comma-separated names of the attributes to return (besides id and schemas)' })),
  excludedAttributes: Type.Optional(Type.String({ description: 'comma-separated names of attributes to leave out' })),
  sortBy: Type.Optional(Type.String({ description: 'ignored: sorting is not supported' })),
  sortOrder: Type.Optional(Type.String({ description: 'ignored: sorting is not supported' }))
}
export const ListQuery = Type.Object(listQuery, open)

/**
 * The query string of an operation that is not a listing: checked exactly as ListQuery (each of its
 * parameters, when given, is one string), but only `documented` appear in the OpenAPI document, the
 * others being checked through patternProperties, which @fastify/swagger does not turn into parameters.
 */
export function QueryOf<K extends keyof typeof listQuery> (...documented: K[]) {
  const others = Object.keys(listQuery).filter((name) => !(documented as string[]).includes(name))
  const properties = Object.fromEntries(documented.map((name) => [name, listQuery[name]])) as Pick<typeof listQuery, K>
  return Type.Object(properties, { ...open, patternProperties: { [`^(${others.join('|')})$`]: Str() } })
}

export const DirectoryParams = Type.Object({
  directoryId: Str()
})

export const ResourceParams = Type.Object({
  directoryId: Str(),
  id: Str()
})

/* eslint-disable @typescript-eslint/no-redeclare -- the TypeBox idiom: each schema and its static type share a name */
export type Meta = Static<typeof Meta>
export type Email = Static<typeof Email>
export type MultiValuedAttribute = Static<typeof MultiValuedAttribute>
export type Address = Static<typeof Address>
export type Name = Static<typeof Name>
export type UserGroupRef = Static<typeof UserGroupRef>
export type EnterpriseUser = Static<typeof EnterpriseUser>
export type ScimUser = Static<typeof ScimUser>
export type ScimUserCreate = Static<typeof ScimUserCreate>
export type ScimUserResource = Static<typeof ScimUserResource>
export type GroupMember = Static<typeof GroupMember>
export type ScimGroup = Static<typeof ScimGroup>
export type ScimGroupCreate = Static<typeof ScimGroupCreate>
export type ScimGroupResource = Static<typeof ScimGroupResource>
export type PatchOperation = Static<typeof PatchOperation>
export type PatchOp = Static<typeof PatchOp>
export type ListResponse<T extends TSchema> = Static<ReturnType<typeof ListResponse<T>>>
export type ScimErrorBody = Static<typeof ScimErrorBody>
export type ListQuery = Static<typeof ListQuery>
export type DirectoryParams = Static<typeof DirectoryParams>
export type ResourceParams = Static<typeof ResourceParams>
/* eslint-enable @typescript-eslint/no-redeclare */
