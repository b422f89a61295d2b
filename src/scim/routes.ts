// The SCIM routes, encapsulated under the SCIM base path: content types, bearer auth before any body is
// parsed, discovery, and the Users/Groups resources, whose requests go to the SCIM operations.
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema, FastifySchemaCompiler } from 'fastify'
import type { Directory, Result } from '../types.js'
import { DatabaseUnavailableError } from '../errors.js'
import type { FailedAuthLimiter } from './auth-limiter.js'
import type { DirectoryActivity } from '../events/status.js'
import type { DsyncMetrics } from '../events/metrics.js'
import { resourceType, resourceTypes, schema, schemas, serviceProviderConfig, listResponse } from './discovery.js'
import { SCIM_CONTENT_TYPE, ScimProblem, errorDetailOf, noteErrorDetail, sendScimError, unavailable } from './errors.js'
import { authorize } from './auth.js'
import { jsonDepthExceeds } from './limits.js'
import { isLarge, serializeInSlices } from './serialize.js'
import { runScim, type ScimCall, type ScimMethod, type ScimService } from './operations.js'
import type { ListParams } from './query.js'
import { DirectoryParams, ListQuery, QueryOf, ResourceParams } from './schemas.js'
import { discoveryDocs, hidden, resourceDocs } from './openapi.js'

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
  /** Where each directory's last answered request is noted (directories.status). */
  activity?: DirectoryActivity
  /** Where SCIM requests are counted and timed; undefined when metrics are off. */
  metrics?: DsyncMetrics
  /**
   * false: every SCIM route is left out of @fastify/swagger's OpenAPI document (default true);
   * { securityScheme }: documented as requiring that scheme (one the host declares, { type: 'http', scheme: 'bearer' }).
   */
  openapi?: boolean | { securityScheme?: string }
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
type Handler = (request: any, reply: FastifyReply) => unknown
/** The operations of one path, by method: their schema (which documents them too) and handler. */
type Operations = Partial<Record<ResourceMethod, { schema: FastifySchema, handler: Handler }>>

export async function scimRoutes (fastify: FastifyInstance, { directory, service, baseUrl, bodyLimit, authLimiter, activity, metrics, openapi = true }: ScimRoutesOptions): Promise<void> {
  const { jsonDepth } = service.limits
  // The route schemas document the SCIM protocol in @fastify/swagger's OpenAPI document (openapi.ts),
  // but the responses and the request bodies of this scope are what they were without them:
  // - a response is serialized with JSON.stringify, as Fastify does for a status without a schema,
  //   never through the documenting schema (fast-json-stringify would drop or coerce what it does not
  //   describe). A string the handler already serialized is sent as it is, as before;
  // - a request body is not validated, nor coerced, by Fastify: see bodyLeftAlone.
  fastify.setSerializerCompiler(() => (data) => JSON.stringify(data))
  const validatorCompiler = lazyValidation(fastify)
  // Hidden from the document: the 405 answers, the other spellings, what answers 501; every route with openapi: false.
  // A security requirement names a scheme of the host's document: @fastify/swagger fails to build a
  // document that names one it does not declare, so only a scheme the host names is used.
  const scheme = typeof openapi === 'object' ? openapi.securityScheme : undefined
  const documenting: FastifySchema = scheme === undefined ? {} : { security: [{ [scheme]: [] }] } as FastifySchema
  const register = (path: string, operations: Operations, hide = false) => route(fastify, path, operations, validatorCompiler, hide || openapi === false, documenting)
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
  fastify.addHook('onResponse', async (request, reply) => {
    request.scimSlot?.()
    const route = request.routeOptions.url ?? ''
    if (request.scimDirectory !== null) {
      activity?.record(request.scimDirectory.id, { at: new Date().toISOString(), method: request.method, route, status: reply.statusCode }, errorDetailOf(request))
    }
    // The operation is the route after the directory (no ids); a request that did not authenticate is
    // counted without its (caller-chosen, unbounded) directory id.
    const operation = `${request.method} ${route.includes(':directoryId') ? route.slice(route.indexOf(':directoryId') + 12) || '/' : '(no route)'}`
    metrics?.scimRequest(operation, reply.statusCode, reply.elapsedTime / 1000, request.scimDirectory?.id ?? 'unauthenticated')
  })

  const base = (request: FastifyRequest<{ Params: Params }>) => `${baseUrl}/${request.params.directoryId}`
  const discovery = (path: string, schema: FastifySchema, handler: (request: FastifyRequest<{ Params: Params }>) => unknown) => {
    register(path, {
      GET: {
        schema,
        handler: async (request: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => {
          const body = handler(request)
          if (body === undefined) return sendScimError(reply, 404, `${request.params.name ?? request.params.id} is not known here`)
          return reply.type(SCIM_CONTENT_TYPE).send(body)
        }
      }
    })
  }
  discovery('/:directoryId/ServiceProviderConfig', discoveryDocs.ServiceProviderConfig(), (request) => serviceProviderConfig(base(request)))
  discovery('/:directoryId/ResourceTypes', discoveryDocs.ResourceTypes(), (request) => listResponse(resourceTypes(base(request))))
  discovery('/:directoryId/ResourceTypes/:name', discoveryDocs.ResourceType(), (request) => resourceType(base(request), request.params.name!))
  discovery('/:directoryId/Schemas', discoveryDocs.Schemas(), (request) => listResponse(schemas(base(request))))
  discovery('/:directoryId/Schemas/:name', discoveryDocs.Schema(), (request) => schema(base(request), request.params.name!))
  // /Me, /Bulk and the search at the root (RFC 7644 §3.4.3) are not implemented.
  for (const path of ['/:directoryId/Me', '/:directoryId/Bulk', '/:directoryId/.search']) {
    fastify.route({ method: [...ALL_METHODS], url: path, schema: hidden(), handler: (_request, reply) => sendScimError(reply, 501, 'Not implemented') })
  }

  const answer = async (reply: FastifyReply, call: Omit<ScimCall, 'directory' | 'baseUrl' | 'holdsSlot'> & { request: FastifyRequest<{ Params: Params }> }) => {
    const { request, ...rest } = call
    const result = await runScim(service, { ...rest, directory: request.scimDirectory!, baseUrl: base(request), holdsSlot: request.scimSlot !== null })
    if (result.location !== undefined) reply.header('Location', result.location)
    reply.code(result.status)
    if (result.body === undefined) return reply.send()
    if (result.status >= 400 && typeof (result.body as { detail?: unknown }).detail === 'string') noteErrorDetail(request, (result.body as { detail: string }).detail)
    // A long page or a large group is written in slices (serialize.ts); a string is sent as it is.
    if (isLarge(result.body)) return reply.type(SCIM_CONTENT_TYPE).send(await serializeInSlices(result.body))
    return reply.type(SCIM_CONTENT_TYPE).send(result.body)
  }
  // The query strings are checked as before (ListQuery); only a listing's parameters are documented for a listing.
  for (const [collection, kind] of [['Users', 'User'], ['Groups', 'Group']] as const) {
    type Request = FastifyRequest<{ Params: Params, Querystring: ListParams }>
    const docs = resourceDocs(kind)
    const collectionHandler = (request: Request, reply: FastifyReply) =>
      answer(reply, { request, kind, method: request.method as ScimMethod, body: request.body, query: request.query })
    const itemHandler = (request: Request, reply: FastifyReply) =>
      answer(reply, { request, kind, method: request.method as ScimMethod, id: request.params.id, body: request.body, query: request.query })
    // Microsoft's collection asks for /users and /Users/ too: the collection answers under those spellings as well.
    for (const path of [collection, collection.toLowerCase(), `${collection}/`, `${collection.toLowerCase()}/`]) {
      register(`/:directoryId/${path}`, {
        GET: { schema: { params: DirectoryParams, querystring: ListQuery, ...docs.list() }, handler: collectionHandler },
        POST: { schema: { params: DirectoryParams, querystring: QueryOf(), ...docs.create() }, handler: collectionHandler }
      }, path !== collection)
    }
    register(`/:directoryId/${collection}/.search`, {
      POST: {
        schema: { params: DirectoryParams, ...docs.search() },
        handler: (request: Request, reply: FastifyReply) => answer(reply, { request, kind, method: 'POST', search: true, body: request.body })
      }
    })
    register(`/:directoryId/${collection}/:id`, {
      GET: { schema: { params: ResourceParams, querystring: QueryOf('attributes', 'excludedAttributes'), ...docs.get() }, handler: itemHandler },
      PUT: { schema: { params: ResourceParams, querystring: QueryOf(), ...docs.replace() }, handler: itemHandler },
      PATCH: { schema: { params: ResourceParams, querystring: QueryOf(), ...docs.patch() }, handler: itemHandler },
      DELETE: { schema: { params: ResourceParams, querystring: QueryOf(), ...docs.delete() }, handler: itemHandler }
    })
  }
}

// Registers the operations of `path`, and answers every other method with 405 before any body is parsed.
function route (fastify: FastifyInstance, path: string, operations: Operations, validation: LazyValidation, hide: boolean, documenting: FastifySchema) {
  const methods = Object.keys(operations) as ResourceMethod[]
  for (const method of methods) {
    const { schema, handler } = operations[method]!
    const validatorCompiler = validation.compilerFor(schema)
    fastify.route({
      method,
      url: path,
      schema: hide ? { ...schema, ...hidden() } : { ...schema, ...documenting },
      ...(validatorCompiler === undefined ? {} : { validatorCompiler }),
      handler
    })
  }
  const others = ALL_METHODS.filter((m) => !(methods as string[]).includes(m) && !(m === 'HEAD' && methods.includes('GET')))
  fastify.route({
    method: others,
    url: path,
    schema: hidden(),
    onRequest: (_request, reply, done) => {
      reply.header('Allow', methods.join(', '))
      sendScimError(reply, 405, `Allowed methods: ${methods.join(', ')}`)
      done()
    },
    handler: () => {}
  })
}

type ValidationResult = ReturnType<FastifySchemaCompiler<unknown>>

interface LazyValidation {
  /** The route-level validator compiler of a route with `schema` (undefined: the scope's, at ready). */
  compilerFor(schema: FastifySchema): FastifySchemaCompiler<unknown> | undefined
}

// How the routes' schemas validate. A body schema documents the body only: dialects.ts normalises each
// provider's quirks first, and users.ts and groups.ts validate the normalised body, so Fastify's Ajv must
// neither refuse nor coerce it. Params and query strings are checked by the compiler Fastify gives this
// scope (its Ajv with the host's ajv options, or the host's own compiler), exactly as before, but each
// route's validators are compiled on its first request rather than at ready: about 40 routes' schemas
// compiled at start took a tenth of a second of the cold start. The first route with params or a query
// string and no body keeps the scope's compiler, so that Fastify sets that compiler up at ready; the
// others delegate to it (a route-level compiler rather than setValidatorCompiler: the scope's compiler
// is the one to delegate to).
function lazyValidation (fastify: FastifyInstance): LazyValidation {
  let scopeSetUp = false
  const lazy: FastifySchemaCompiler<unknown> = (definition) => {
    if (definition.httpPart === 'body') return () => true
    let compiled: ValidationResult | undefined
    // Fastify reads a failed validation's errors from the function it was given.
    const validate: ValidationResult = Object.assign((data: unknown) => {
      if (compiled === undefined) {
        const compiler = fastify.validatorCompiler
        if (compiler === undefined) throw new Error(`No validator compiler in the SCIM scope for ${definition.method} ${definition.url}`)
        compiled = compiler(definition)
      }
      const result = compiled(data)
      validate.errors = compiled.errors
      return result
    }, { errors: null })
    return validate
  }
  return {
    compilerFor (schema) {
      if (schema.params === undefined && schema.querystring === undefined && schema.headers === undefined && schema.body === undefined) return undefined
      if (!scopeSetUp && schema.body === undefined) {
        scopeSetUp = true
        return undefined
      }
      return lazy
    }
  }
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
