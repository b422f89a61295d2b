// The OpenAPI documentation of the SCIM routes, as @fastify/swagger reads it from their route schemas:
// what each operation takes and answers, as application/scim+json, tagged SCIM (routes.ts adds the
// host's bearer security scheme when it names one).
// These schemas document only. routes.ts keeps Fastify from validating request bodies with them (the
// body is normalised by dialects.ts and validated after that, in users.ts and groups.ts) and from
// serializing responses through them (a response is sent as the handler built it).
import { Type, type TSchema } from '@sinclair/typebox'
import type { FastifySchema } from 'fastify'
import { LIST_RESPONSE_SCHEMA, PATCH_OP_SCHEMA } from './discovery.js'
import { ListResponse, Meta, PatchOp, ScimErrorBody, ScimGroup, ScimUser, ScimUserCreate } from './schemas.js'

export const MEDIA_TYPE = 'application/scim+json'
export const TAG = 'SCIM'

// @fastify/swagger leaves a route with schema.hide out of its document (its types declare `hide`, but it
// is only a devDependency here).
export function hidden (): FastifySchema {
  return { hide: true } as FastifySchema
}
export const SEARCH_REQUEST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest'

const open = { additionalProperties: true } as const

// json-schema-resolver (used by @fastify/swagger) reads every "$ref" key as a reference, a property
// named $ref too (a member's, a manager's): the documented copies leave that property out and say so
// in the object's description (the objects are open: $ref is still taken and answered).
function withoutRefProperties<T extends TSchema> (schema: T): T {
  const strip = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(strip)
    if (node === null || typeof node !== 'object') return node
    const copy: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(node)) copy[key] = strip(value)
    const properties = copy.properties as Record<string, unknown> | undefined
    if (properties !== undefined && Object.hasOwn(properties, '$ref')) {
      delete properties.$ref
      copy.description = [copy.description, 'Also $ref: the URI of the resource referred to.'].filter(Boolean).join('. ')
    }
    return copy
  }
  return strip(schema) as T
}
const Schemas = (urn: string) => Type.Array(Type.String(), { description: `the URNs of the document's schemas: ${urn}, and its extensions` })

/** A User as sent in POST and PUT (RFC 7643 §4.1): userName is required, any extension passes. */
export const UserRequest = withoutRefProperties(Type.Object({ ...ScimUserCreate.properties }, { ...open, title: 'User', description: 'A User (RFC 7643 §4.1) as sent in POST and PUT; extension attributes are kept' }))

/** A User as answered: `attributes`/`excludedAttributes` may leave out anything but schemas and id. */
export const User = withoutRefProperties(Type.Object({
  ...ScimUser.properties,
  schemas: Schemas('urn:ietf:params:scim:schemas:core:2.0:User'),
  id: Type.String({ readOnly: true }),
  meta: Type.Optional(Meta)
}, { ...open, title: 'User', description: 'A User (RFC 7643 §4.1) as answered' }))

/** A Group as sent in POST and PUT (RFC 7643 §4.2): displayName is required. */
export const GroupRequest = withoutRefProperties(Type.Object({ ...ScimGroup.properties }, { ...open, title: 'Group', description: 'A Group (RFC 7643 §4.2) as sent in POST and PUT' }))

export const Group = withoutRefProperties(Type.Object({
  ...ScimGroup.properties,
  schemas: Schemas('urn:ietf:params:scim:schemas:core:2.0:Group'),
  id: Type.String({ readOnly: true }),
  displayName: Type.Optional(Type.String()),
  meta: Type.Optional(Meta)
}, { ...open, title: 'Group', description: 'A Group (RFC 7643 §4.2) as answered' }))

export const PatchRequest = Type.Object({
  ...PatchOp.properties,
  schemas: Type.Optional(Type.Array(Type.String(), { description: PATCH_OP_SCHEMA }))
}, { ...open, title: 'PatchOp', description: 'RFC 7644 §3.5.2: the operations apply in order; op is add, replace or remove (in any case)' })

const AttributeNames = (description: string) => Type.Optional(Type.Union([Type.Array(Type.String()), Type.String()], { description }))
const IntegerText = (description: string) => Type.Optional(Type.Union([Type.Integer(), Type.String({ pattern: '^\\s*[+-]?\\d+\\s*$' })], { description }))

/** RFC 7644 §3.4.3: the query of a listing, in the body of POST .search. */
export const SearchRequest = Type.Object({
  schemas: Type.Optional(Type.Array(Type.String(), { description: SEARCH_REQUEST_SCHEMA })),
  attributes: AttributeNames('the attributes to return (besides id and schemas)'),
  excludedAttributes: AttributeNames('attributes to leave out'),
  filter: Type.Optional(Type.String({ description: 'a SCIM filter (RFC 7644 §3.4.2.2), e.g. userName eq "ann@example.com"' })),
  startIndex: IntegerText('the 1-based index of the first result'),
  count: IntegerText('the most results in the page')
}, { ...open, title: 'SearchRequest', description: 'RFC 7644 §3.4.3' })

const listOf = <T extends TSchema>(item: T, title: string): TSchema => ({ ...ListResponse(item), title, description: `RFC 7644 §3.4.2 (${LIST_RESPONSE_SCHEMA})` })
const UserList = listOf(User, 'UserListResponse')
const GroupList = listOf(Group, 'GroupListResponse')

/** RFC 7644 §3.12: every error is answered with this body; status is the HTTP status as a string. */
export const ScimError = Type.Object({
  ...ScimErrorBody.properties,
  status: Type.String({ description: 'the HTTP status, as a string, e.g. "400"' }),
  scimType: Type.Optional(Type.String({
    enum: ['invalidFilter', 'tooMany', 'uniqueness', 'mutability', 'invalidSyntax', 'invalidPath', 'noTarget', 'invalidValue', 'invalidVers', 'sensitive'],
    description: 'the kind of a 400 or 409 (RFC 7644 §3.12, Table 9)'
  })),
  detail: Type.Optional(Type.String({ description: 'what went wrong, for a human' }))
}, { ...open, title: 'Error', description: 'RFC 7644 §3.12' })

// Discovery (RFC 7644 §4): documented loosely, their attributes being the RFC's.
const ServiceProviderConfig = Type.Object({
  schemas: Schemas('urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'),
  patch: Type.Object({ supported: Type.Boolean() }, open),
  bulk: Type.Object({ supported: Type.Boolean() }, open),
  filter: Type.Object({ supported: Type.Boolean(), maxResults: Type.Optional(Type.Integer()) }, open),
  changePassword: Type.Object({ supported: Type.Boolean() }, open),
  sort: Type.Object({ supported: Type.Boolean() }, open),
  etag: Type.Object({ supported: Type.Boolean() }, open),
  authenticationSchemes: Type.Array(Type.Object({ type: Type.String(), name: Type.String() }, open))
}, { ...open, title: 'ServiceProviderConfig', description: 'RFC 7643 §5' })
const ResourceType = Type.Object({
  schemas: Schemas('urn:ietf:params:scim:schemas:core:2.0:ResourceType'),
  id: Type.Optional(Type.String()),
  name: Type.String(),
  endpoint: Type.String(),
  schema: Type.String(),
  schemaExtensions: Type.Optional(Type.Array(Type.Object({ schema: Type.String(), required: Type.Boolean() }, open)))
}, { ...open, title: 'ResourceType', description: 'RFC 7643 §6' })
const SchemaResource = Type.Object({
  schemas: Schemas('urn:ietf:params:scim:schemas:core:2.0:Schema'),
  id: Type.String(),
  name: Type.Optional(Type.String()),
  description: Type.Optional(Type.String()),
  attributes: Type.Array(Type.Object({ name: Type.String(), type: Type.String() }, open))
}, { ...open, title: 'Schema', description: 'RFC 7643 §7' })

// ---------------------------------------------------------------------------------------------------
// The responses of an operation.

type Answer = { schema: TSchema, description: string, headers?: Record<string, { type: 'string', description: string }> } | { description: string }

const retryAfter = { 'Retry-After': { type: 'string', description: 'seconds to wait before trying again' } } as const
const errors = {
  400: 'The request is not valid: its JSON, a value, the filter, a PATCH path (scimType says which); or it carries more than one Authorization header',
  401: 'No bearer token, or not this directory\'s (an unknown directory answers the same)',
  403: 'The directory is deactivated',
  404: 'No such resource in this directory',
  409: 'A userName or displayName already taken in this directory (scimType uniqueness), or the resource changed by another request meanwhile',
  413: 'The request body is larger than the plugin\'s bodyLimit',
  415: 'The request body is neither application/scim+json nor application/json',
  429: 'Too many failed authentications from this address, or too many expensive requests for this directory at once',
  503: 'The database is unavailable: try again later'
} as const
type ErrorStatus = keyof typeof errors

function errorAnswer (status: ErrorStatus): Answer {
  const headers = status === 429 || status === 503
    ? retryAfter
    : status === 401 ? { 'WWW-Authenticate': { type: 'string', description: 'Bearer realm="SCIM"' } } as const : undefined
  return { schema: ScimError, description: errors[status], ...(headers === undefined ? {} : { headers }) }
}

function responses (answers: Record<number, Answer>): Record<number, unknown> {
  const out: Record<number, unknown> = {}
  for (const [status, answer] of Object.entries(answers)) {
    out[Number(status)] = 'schema' in answer
      ? { description: answer.description, ...(answer.headers === undefined ? {} : { headers: answer.headers }), content: { [MEDIA_TYPE]: { schema: answer.schema } } }
      : { description: answer.description, type: 'null' }
  }
  return out
}

// Every operation may answer these: the bearer token is checked first, the database may be down.
const ALWAYS: ErrorStatus[] = [400, 401, 403, 429, 503]
// And an operation with a request body these.
const WITH_BODY: ErrorStatus[] = [413, 415]

function operation (
  summary: string,
  success: Record<number, Answer>,
  more: ErrorStatus[],
  body?: TSchema
): FastifySchema & Record<string, unknown> {
  const statuses = [...ALWAYS, ...more, ...(body === undefined ? [] : WITH_BODY)].sort((a, b) => a - b)
  const answers: Record<number, Answer> = { ...success }
  for (const status of statuses) answers[status] = errorAnswer(status)
  return {
    summary,
    tags: [TAG],
    ...(body === undefined ? {} : { body, consumes: [MEDIA_TYPE] }),
    response: responses(answers)
  }
}

const ok = (schema: TSchema, description: string): Record<number, Answer> => ({ 200: { schema, description } })

/** The documentation of the discovery endpoints (RFC 7644 §4). */
export const discoveryDocs = {
  ServiceProviderConfig: () => operation('The service provider\'s configuration', ok(ServiceProviderConfig, 'What this SCIM service supports'), []),
  ResourceTypes: () => operation('The resource types', ok(listOf(ResourceType, 'ResourceTypeListResponse'), 'User and Group'), []),
  ResourceType: () => operation('One resource type', ok(ResourceType, 'The resource type'), [404]),
  Schemas: () => operation('The schemas', ok(listOf(SchemaResource, 'SchemaListResponse'), 'The schemas of the resources'), []),
  Schema: () => operation('One schema, by its URN', ok(SchemaResource, 'The schema'), [404])
}

/** The documentation of the operations on Users or Groups (RFC 7644 §3). */
export function resourceDocs (kind: 'User' | 'Group') {
  const [one, list, request] = kind === 'User' ? [User, UserList, UserRequest] : [Group, GroupList, GroupRequest]
  const plural = `${kind}s`
  return {
    list: () => operation(`List or filter the ${plural}`, ok(list, `A page of ${plural}`), []),
    create: () => operation(`Create a ${kind}`, {
      201: { schema: one, description: `The ${kind} created`, headers: { Location: { type: 'string', description: `the URL of the ${kind}` } } }
    }, [409], request),
    search: () => operation(`Search the ${plural} (the query in the body)`, ok(list, `A page of ${plural}`), [], SearchRequest),
    get: () => operation(`Read a ${kind}`, ok(one, `The ${kind}`), [404]),
    replace: () => operation(`Replace a ${kind}`, ok(one, `The ${kind} as replaced`), [404, 409], request),
    patch: () => operation(`Change a ${kind} (RFC 7644 §3.5.2)`, {
      200: { schema: one, description: `The ${kind} as changed` },
      204: { description: 'Changed (Microsoft Entra ID directories are answered without a body)' }
    }, [404, 409], PatchRequest),
    delete: () => operation(`Delete a ${kind}`, { 204: { description: 'Deleted' } }, [404])
  }
}
