// An app with the plugin, its admin routes under /admin (a host's auth hook: x-session must be 'ok';
// tenantOf from x-tenant: 'all' or a tenant of product 'app') and its setup pages under /setup.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Test } from 'tap'
import { directorySyncAdmin, directorySyncSetup } from '../../src/admin/index.js'
import type { DbOptions, DirectorySyncOptions } from '../../src/index.js'
import { buildAppWith } from '../helpers/app.js'

export const PRODUCT = 'app'

export async function adminApp (t: Test, db: DbOptions, options: Partial<DirectorySyncOptions> = {}): Promise<FastifyInstance> {
  return buildAppWith(t, db, options, async (app) => {
    await app.register(directorySyncAdmin, {
      prefix: '/admin',
      onRequest: async (request, reply) => {
        if (request.headers['x-session'] !== 'ok') return reply.code(401).send({ error: { message: 'log in first', code: 401 } })
      },
      tenantOf: (request: FastifyRequest) => {
        const tenant = request.headers['x-tenant']
        return tenant === 'all' ? 'all' : { tenant: String(tenant), product: PRODUCT }
      }
    })
    await app.register(directorySyncSetup, { prefix: '/setup', authFailures: { max: 5, windowMs: 60_000 } })
  })
}

/** A request to the admin routes as a session of `tenant` ('all': the operator). */
export function asTenant (app: FastifyInstance, tenant: string) {
  const headers = { 'x-session': 'ok', 'x-tenant': tenant }
  return {
    get: (url: string) => app.inject({ method: 'GET', url: '/admin' + url, headers }),
    delete: (url: string) => app.inject({ method: 'DELETE', url: '/admin' + url, headers }),
    post: (url: string, body: unknown = {}) => app.inject({ method: 'POST', url: '/admin' + url, headers, payload: body as object }),
    patch: (url: string, body: unknown) => app.inject({ method: 'PATCH', url: '/admin' + url, headers, payload: body as object })
  }
}

/** A request to the setup pages' API with a link's token. */
export function asLink (app: FastifyInstance, token: string, remoteAddress = '127.0.0.1') {
  const headers = { authorization: `Bearer ${token}` }
  return {
    get: (url: string) => app.inject({ method: 'GET', url: '/setup' + url, headers, remoteAddress }),
    post: (url: string, body?: unknown) => app.inject({ method: 'POST', url: '/setup' + url, headers, remoteAddress, ...(body === undefined ? {} : { payload: body as object }) })
  }
}
