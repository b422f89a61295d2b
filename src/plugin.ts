// The fastify-plugin wrapper: options → engine → decorator → onClose → the encapsulated SCIM routes.
import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import { joinPaths, resolveOptions, type DirectorySyncOptions } from './options.js'
import { presentingEndpoints } from './scim/endpoints.js'
import { openEngine } from './engine/index.js'
import { AlreadyRegisteredError } from './errors.js'
import { HookRegistry } from './events/hooks.js'
import { handleJacksonRequest } from './scim/jackson-requests.js'
import { scimRoutes } from './scim/routes.js'
import { DirectoryGate } from './scim/fairness.js'
import { FailedAuthLimiter } from './scim/auth-limiter.js'
import type { ScimService } from './scim/operations.js'
import { setupLinksController } from './admin/setup-links.js'
import { noteExternalUrl } from './admin/urls.js'
import type { DirectorySyncController } from './types.js'

declare module 'fastify' {
  interface FastifyInstance {
    directorySync: DirectorySyncController
  }
}

const directorySync: FastifyPluginAsync<DirectorySyncOptions> = async (fastify, rawOptions) => {
  const options = resolveOptions(rawOptions)
  if (fastify.hasDecorator('directorySync')) throw new AlreadyRegisteredError()
  const hooks = new HookRegistry(fastify)
  if (options.onScimEvent !== undefined) hooks.add('onScimEvent', options.onScimEvent.handler, options.onScimEvent)
  const engine = await openEngine(options, fastify.log.child({ plugin: 'fastify-directory-sync' }), hooks)
  // The URL of the SCIM routes as served: under the prefix of the context the plugin is registered in
  // too, which Fastify adds to the routes (fastify.prefix here is that context's, the plugin being
  // wrapped by fastify-plugin).
  const basePath = joinPaths(fastify.prefix, options.scimPath)
  const baseUrl = options.externalUrl + (basePath === '/' ? '' : basePath)
  const service: ScimService = { backend: engine.backend, limits: options.limits, gate: new DirectoryGate(options.fairness) }
  const directories = presentingEndpoints(engine.controller.directories, baseUrl)
  const controller: DirectorySyncController = {
    ...engine.controller,
    directories,
    setupLinks: setupLinksController({ admin: engine.admin, directories, providers: engine.controller.providers, retype: engine.retype }),
    requests: { handle: (request, callback) => handleJacksonRequest(service, engine.directory, baseUrl, request, callback) }
  }
  noteExternalUrl(controller, options.externalUrl)
  fastify.decorate('directorySync', controller)
  fastify.addHook('onClose', () => engine.close())
  const authLimiter = options.authFailures === undefined ? undefined : new FailedAuthLimiter(options.authFailures)
  await fastify.register(scimRoutes, {
    prefix: options.scimPath, ...options.routes, directory: engine.directory, service, baseUrl, bodyLimit: options.bodyLimit, authLimiter, openapi: options.openapi, activity: engine.activity, metrics: engine.metrics
  })
}

export const fastifyDirectorySync = fp(directorySync, { fastify: '5.x', name: 'fastify-directory-sync' })
export default fastifyDirectorySync
