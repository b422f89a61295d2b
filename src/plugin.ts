// The fastify-plugin wrapper: options → engine → decorator → onClose → the encapsulated SCIM routes.
import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import { resolveOptions, type DirectorySyncOptions } from './options.js'
import { openEngine } from './engine/index.js'
import { AlreadyRegisteredError } from './errors.js'
import { scimRoutes } from './scim/routes.js'
import type { DirectorySyncController } from './types.js'

declare module 'fastify' {
  interface FastifyInstance {
    directorySync: DirectorySyncController
  }
}

const directorySync: FastifyPluginAsync<DirectorySyncOptions> = async (fastify, rawOptions) => {
  const options = resolveOptions(rawOptions)
  if (fastify.hasDecorator('directorySync')) throw new AlreadyRegisteredError()
  const engine = await openEngine(options, fastify.log.child({ plugin: 'fastify-directory-sync' }))
  fastify.decorate('directorySync', engine.controller)
  fastify.addHook('onClose', () => engine.close())
  await fastify.register(scimRoutes, { prefix: options.scimPath, controller: engine.controller, baseUrl: options.externalUrl + options.scimPath })
}

export const fastifyDirectorySync = fp(directorySync, { fastify: '5.x', name: 'fastify-directory-sync' })
export default fastifyDirectorySync
