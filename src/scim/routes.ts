// The SCIM routes, encapsulated under the SCIM base path: content types, bearer auth before any body is
// parsed, discovery, and the Users/Groups resources. Resource requests are still answered by jackson's
// SCIM handler (through the confined controller); the SCIM endpoints issue replaces that pipeline.
import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Directory, DirectorySyncController } from '../types.js'
import { resourceType, resourceTypes, schema, schemas, serviceProviderConfig, listResponse } from './discovery.js'
import { SCIM_CONTENT_TYPE, sendScimError } from './errors.js'

export interface ScimRoutesOptions {
  controller: DirectorySyncController
  /** The SCIM base URL without the directory id, e.g. https://app.example.com/api/scim/v2.0 */
  baseUrl: string
}

declare module 'fastify' {
  interface FastifyRequest {
    scimDirectory: Directory | null
  }
}

type Params = { directoryId: string, id?: string, name?: string }
type ResourceMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
const ALL_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const

export async function scimRoutes (fastify: FastifyInstance, { controller, baseUrl }: ScimRoutesOptions): Promise<void> {
  fastify.removeAllContentTypeParsers()
  fastify.addContentTypeParser(['application/json', 'application/scim+json'], { parseAs: 'string' }, (_request, body, done) => {
    if (body === '') return done(null, undefined)
    try {
      done(null, JSON.parse(body as string))
    } catch {
      done(Object.assign(new Error('The request body is not valid JSON'), { statusCode: 400, scimType: 'invalidSyntax' }), undefined)
    }
  })
  fastify.setNotFoundHandler((request, reply) => sendScimError(reply, 404, `No SCIM endpoint at ${request.method} ${request.url.split('?')[0]}`))
  fastify.setErrorHandler((error: Error & { statusCode?: number, scimType?: any, code?: string }, request, reply) => {
    const status = error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 415 : error.statusCode ?? 500
    if (status >= 500) request.log.error({ err: error }, 'SCIM request failed')
    return sendScimError(reply, status, status >= 500 ? 'Internal server error' : error.message, error.scimType)
  })
  fastify.decorateRequest('scimDirectory', null)
  fastify.addHook('onRequest', (request, reply) => authenticate(controller, request, reply))

  const base = (request: FastifyRequest<{ Params: Params }>) => `${baseUrl}/${request.params.directoryId}`
  const discovery = (path: string, handler: (request: FastifyRequest<{ Params: Params }>) => unknown) => {
    route(fastify, path, ['GET'], async (request, reply) => {
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

  for (const [collection, resourceType] of [['Users', 'users'], ['Groups', 'groups']] as const) {
    const handler = async (request: FastifyRequest<{ Params: Params, Querystring: Record<string, string> }>, reply: FastifyReply) => {
      const directory = request.scimDirectory!
      const { count, startIndex, filter } = request.query
      const response = await controller.requests.handle({
        method: request.method,
        body: request.body,
        directoryId: directory.id,
        resourceType,
        resourceId: request.params.id,
        apiSecret: directory.scim.secret,
        query: { count: count === undefined ? undefined : Number(count), startIndex: startIndex === undefined ? undefined : Number(startIndex), filter }
      }).catch((err: Error) => {
        // jackson throws instead of answering for input it cannot handle (see shared/notes/jackson.md).
        throw Object.assign(new Error(`The request could not be processed: ${err.message}`), { statusCode: 400, scimType: filter ? 'invalidFilter' : 'invalidSyntax' })
      })
      if (response.status >= 400) return sendScimError(reply, response.status, response.data?.detail ?? 'Request failed')
      if (request.method === 'DELETE') return reply.code(204).send()
      return reply.code(response.status).type(SCIM_CONTENT_TYPE).send(response.data)
    }
    route(fastify, `/:directoryId/${collection}`, ['GET', 'POST'], handler)
    route(fastify, `/:directoryId/${collection}/:id`, ['GET', 'PUT', 'PATCH', 'DELETE'], handler)
  }
}

// Registers `methods` on `path`, and answers every other method with 405 before any body is parsed.
function route (fastify: FastifyInstance, path: string, methods: ResourceMethod[], handler: (request: any, reply: FastifyReply) => unknown) {
  fastify.route({ method: methods, url: path, handler })
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
async function authenticate (controller: DirectorySyncController, request: FastifyRequest, reply: FastifyReply) {
  const directoryId = (request.params as Params | undefined)?.directoryId
  if (directoryId === undefined) return
  const header = request.headers.authorization ?? ''
  const token = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1]
  const unauthorized = () => {
    reply.header('WWW-Authenticate', 'Bearer realm="SCIM"')
    return sendScimError(reply, 401, 'Missing or invalid bearer token')
  }
  if (!token) return unauthorized()
  const { data: directory } = await controller.directories.get(directoryId)
  if (!directory || !sameSecret(token, directory.scim.secret)) return unauthorized()
  if (directory.deactivated) return sendScimError(reply, 403, 'This directory is deactivated')
  request.scimDirectory = directory
}

// Hashing first makes both sides the same length, so the comparison takes constant time whatever the input.
function sameSecret (given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest()
  return timingSafeEqual(digest(given), digest(expected))
}
