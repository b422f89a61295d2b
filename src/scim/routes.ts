// The SCIM routes, encapsulated under the SCIM base path: content types, bearer auth before any body is
// parsed, discovery, and the Users/Groups resources, whose requests go to the SCIM operations.
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema } from 'fastify'
import { Type } from '@sinclair/typebox'
import type { Directory, Result } from '../types.js'
import { DatabaseUnavailableError } from '../errors.js'
import type { FailedAuthLimiter } from './auth-limiter.js'
import { resourceType, resourceTypes, schema, schemas, serviceProviderConfig, listResponse } from './discovery.js'
import { SCIM_CONTENT_TYPE, ScimProblem, sendScimError, unavailable } from './errors.js'
import { authorize } from './auth.js'
import { jsonDepthExceeds } from './limits.js'
import { isLarge, serializeInSlices } from './serialize.js'
import { runScim, type ScimCall, type ScimMethod, type ScimService } from './operations.js'
import type { ListParams } from './query.js'
import { DirectoryParams, ListQuery, ListResponse, ResourceParams } from './schemas.js'

// A resource as answered: `attributes` may leave out anything but id and schemas, so nothing else is required.
const ResourceOut = Type.Object({ schemas: Type.Optional(Type.Array(Type.String())), id: Type.Optional(Type.String()) }, { additionalProperties: true })

export interface ScimRoutesOptions {
  /** The directory a request names (for its token and state). */
  directory: (id: string) => Promise<Result<Directory>>
  service: ScimService
  /** Failed authentications per client address; undefined when the host turned the limit off. */
  authLimiter: FailedAuthLimiter | undefined
  /** The largest request body in bytes: larger ones answer 413. */
  bodyLimit: number
  /** The SCIM base URL without the directory id, e.g. https://app.example.com/api/scim/v2.0 */
  baseUrl: string
}

declare module 'fastify' {
  interface FastifyRequest {
    scimDirectory: Directory | null
    /** Set while the request holds one of its directory's slots for expensive work (fairness.ts). */
    scimSlot: (() => void) | null
  }
}

// A body larger than this is expensive to parse and to apply: the request takes its directory's slot
// for expensive work before the body is read, so that parsing it waits its turn too.
const EXPENSIVE_BODY_BYTES = 64 * 1024

type Params = { directoryId: string, id?: string, name?: string }
type ResourceMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
const ALL_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const

export async function scimRoutes (fastify: FastifyInstance, { directory, service, baseUrl, bodyLimit, authLimiter }: ScimRoutesOptions): Promise<void> {
  const { jsonDepth } = service.limits
  fastify.removeAllContentTypeParsers()
  fastify.addContentTypeParser(['application/json', 'application/scim+json'], { parseAs: 'string', bodyLimit }, (_request, body, done) => {
    if (body === '') return done(null, undefined)
    // Depth is checked before parsing: nothing recursive ever meets a body nested deeper.
    if (jsonDepthExceeds(body as string, jsonDepth)) {
      return done(new ScimProblem(400, `The request body is nested deeper than ${jsonDepth} levels`, 'invalidSyntax'), undefined)
    }
    try {
      done(null, JSON.parse(body as string))
    } catch {
      done(Object.assign(new Error('The request body is not valid JSON'), { statusCode: 400, scimType: 'invalidSyntax' }), undefined)
    }
  })
  fastify.setNotFoundHandler((request, reply) => sendScimError(reply, 404, `No SCIM endpoint at ${request.method} ${request.url.split('?')[0]}`))
  fastify.setErrorHandler((error: Error & { statusCode?: number, scimType?: any, code?: string, validation?: unknown }, request, reply) => {
    if (error instanceof ScimProblem) return sendScimError(reply, error.status, error.message, error.scimType, error.headers)
    // The database is down or unreachable: the client is told to try again later.
    if (error instanceof DatabaseUnavailableError) {
      request.log.warn({ err: error }, 'SCIM request refused: the database is unavailable')
      const problem = unavailable()
      return sendScimError(reply, problem.status, problem.message, undefined, problem.headers)
    }
    const status = error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 415 : error.statusCode ?? 500
    if (status >= 500) request.log.error({ err: error }, 'SCIM request failed')
    // A query or path parameter that fails its schema (count=abc) is an invalid value.
    const scimType = error.scimType ?? (error.validation !== undefined ? 'invalidValue' : undefined)
    return sendScimError(reply, status, status >= 500 ? 'Internal server error' : error.message, scimType)
  })
  fastify.decorateRequest('scimDirectory', null)
  fastify.decorateRequest('scimSlot', null)
  fastify.addHook('onRequest', (request, reply) => authenticate(directory, authLimiter, request, reply))
  fastify.addHook('preParsing', async (request, reply, payload) => {
    const length = Number(request.headers['content-length'] ?? 0)
    if (request.scimDirectory !== null && (length > EXPENSIVE_BODY_BYTES || request.headers['transfer-encoding'] !== undefined)) {
      const release = await service.gate.acquire(request.scimDirectory.id)
      request.scimSlot = release
      // Given back when the response is sent, or the connection drops, whichever comes first.
      reply.raw.once('close', release)
    }
    return payload
  })
  fastify.addHook('onResponse', async (request) => { request.scimSlot?.() })

  const base = (request: FastifyRequest<{ Params: Params }>) => `${baseUrl}/${request.params.directoryId}`
  const discovery = (path: string, handler: (request: FastifyRequest<{ Params: Params }>) => unknown) => {
    route(fastify, path, ['GET'], {}, async (request, reply) => {
      const body = handler(request)
      if (body === undefined) return sendScimError(reply, 404, `${request.params.name ?? request.params.id} is not known here`)
      return reply.type(SCIM_CONTENT_TYPE).send(body)
    })
  }
  discovery('/:directoryId/ServiceProviderConfig', (request) => serviceProviderConfig(base(request)))
  discovery('/:directoryId/ResourceTypes', (request) => listResponse(resourceTypes(base(request))))
  discovery('/:directoryId/ResourceTypes/:name', (request) => resourceType(base(request), request.params.name!))
  discovery('/:directoryId/Schemas', (request) => listResponse(schemas(base(request))))
  discovery('/:directoryId/Schemas/:name', (request) => schema(base(request), request.params.name!))
  for (const path of ['/:directoryId/Me', '/:directoryId/Bulk']) {
    fastify.route({ method: [...ALL_METHODS], url: path, handler: (_request, reply) => sendScimError(reply, 501, 'Not implemented') })
  }

  const answer = async (reply: FastifyReply, call: Omit<ScimCall, 'directory' | 'baseUrl' | 'holdsSlot'> & { request: FastifyRequest<{ Params: Params }> }) => {
    const { request, ...rest } = call
    const result = await runScim(service, { ...rest, directory: request.scimDirectory!, baseUrl: base(request), holdsSlot: request.scimSlot !== null })
    if (result.location !== undefined) reply.header('Location', result.location)
    reply.code(result.status)
    if (result.body === undefined) return reply.send()
    // A long page or a large group is written in slices (serialize.ts); a string is sent as it is.
    if (isLarge(result.body)) return reply.type(SCIM_CONTENT_TYPE).send(await serializeInSlices(result.body))
    return reply.type(SCIM_CONTENT_TYPE).send(result.body)
  }
  const listSchema = { params: DirectoryParams, querystring: ListQuery, response: { 200: ListResponse(ResourceOut) } }
  const itemSchema = { params: ResourceParams, querystring: ListQuery, response: { 200: ResourceOut, 201: ResourceOut } }
  for (const [collection, kind] of [['Users', 'User'], ['Groups', 'Group']] as const) {
    type Request = FastifyRequest<{ Params: Params, Querystring: ListParams }>
    // Microsoft's collection asks for /users and /Users/ too: the collection answers under those spellings as well.
    for (const path of [collection, collection.toLowerCase(), `${collection}/`, `${collection.toLowerCase()}/`]) {
      route(fastify, `/:directoryId/${path}`, ['GET', 'POST'], listSchema, (request: Request, reply) =>
        answer(reply, { request, kind, method: request.method as ScimMethod, body: request.body, query: request.query }))
    }
    route(fastify, `/:directoryId/${collection}/.search`, ['POST'], { params: DirectoryParams, response: listSchema.response }, (request: Request, reply) =>
      answer(reply, { request, kind, method: 'POST', search: true, body: request.body }))
    route(fastify, `/:directoryId/${collection}/:id`, ['GET', 'PUT', 'PATCH', 'DELETE'], itemSchema, (request: Request, reply) =>
      answer(reply, { request, kind, method: request.method as ScimMethod, id: request.params.id, body: request.body, query: request.query }))
  }
}

// Registers `methods` on `path`, and answers every other method with 405 before any body is parsed.
function route (fastify: FastifyInstance, path: string, methods: ResourceMethod[], schema: FastifySchema, handler: (request: any, reply: FastifyReply) => unknown) {
  fastify.route({ method: methods, url: path, schema, handler })
  const others = ALL_METHODS.filter((m) => !(methods as string[]).includes(m) && !(m === 'HEAD' && methods.includes('GET')))
  fastify.route({
    method: others,
    url: path,
    onRequest: (_request, reply, done) => {
      reply.header('Allow', methods.join(', '))
      sendScimError(reply, 405, `Allowed methods: ${methods.join(', ')}`)
      done()
    },
    handler: () => {}
  })
}

// Bearer auth in onRequest, before the body is read. An unknown directory answers exactly as a wrong
// token does, so that an unauthenticated caller cannot learn which directory ids exist.
async function authenticate (lookup: ScimRoutesOptions['directory'], limiter: FailedAuthLimiter | undefined, request: FastifyRequest, reply: FastifyReply) {
  const directoryId = (request.params as Params | undefined)?.directoryId
  if (directoryId === undefined) return
  // Node keeps the first of several Authorization headers and drops the rest: which one a proxy in
  // front saw is anyone's guess, so such a request is refused.
  if (authorizationHeaders(request.raw.rawHeaders) > 1) return sendScimError(reply, 400, 'Send one Authorization header')
  const header = request.headers.authorization ?? ''
  const token = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1]
  const unauthorized = () => {
    const retryAfter = limiter?.fail(request.ip)
    if (retryAfter !== undefined) {
      return sendScimError(reply, 429, 'Too many failed authentications from this address', undefined, { 'retry-after': String(retryAfter) })
    }
    reply.header('WWW-Authenticate', 'Bearer realm="SCIM"')
    return sendScimError(reply, 401, 'Missing or invalid bearer token')
  }
  if (!token) return unauthorized()
  const outcome = await authorize(lookup, directoryId, token)
  if (outcome.ok) request.scimDirectory = outcome.directory
  else if (outcome.reason === 'deactivated') return sendScimError(reply, 403, 'This directory is deactivated')
  else return unauthorized()
}

function authorizationHeaders (raw: string[]): number {
  let count = 0
  for (let i = 0; i < raw.length; i += 2) if (raw[i].length === 13 && raw[i].toLowerCase() === 'authorization') count++
  return count
}
