// The admin routes (directorySyncAdmin, from fastify-directory-sync/admin): a JSON API over the
// controller for a host's admin pages. Registered by the host under a prefix of its choosing, after
// the main plugin, with its own authentication hooks and tenantOf(request), which confines every route
// to one customer's directories: another customer's directory answers 404, as an unknown one does.
import type { FastifyInstance, FastifyRequest, onRequestHookHandler, preHandlerHookHandler } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { AdminAuthRequiredError, NotRegisteredError } from '../errors.js'
import type { Directory, DirectorySyncController, DirectorySyncEventType, DirectoryLifecycleEventType, Result } from '../types.js'
import { adminDirectory, credentialsOf, stepsFor } from './present.js'
import { setupUrlOf } from './urls.js'
import * as S from './schemas.js'

/** Whose directories a request may see: one tenant and product, or every one. */
export type AdminScope = { tenant: string, product: string } | 'all'

export interface DirectorySyncAdminOptions {
  /** The host's authentication, run before every admin route (as @fastify/swagger-ui's uiHooks). At least one of onRequest and preHandler. */
  onRequest?: onRequestHookHandler | onRequestHookHandler[]
  preHandler?: preHandlerHookHandler | preHandlerHookHandler[]
  /** Whose directories the (authenticated) request may see and change; run after the hooks. */
  tenantOf: (request: FastifyRequest) => AdminScope | Promise<AdminScope>
  /**
   * Whether a session confined to a tenant may set a directory's webhook (webhook_url, webhook_secret).
   * Default false: the server would send requests wherever a customer's admin points it (and report how
   * the address answered in the failed deliveries), so only 'all' sessions may, unless you allow it.
   */
  tenantWebhooks?: boolean
}

const hooksOf = <T>(hooks: T | T[] | undefined): T[] => hooks === undefined ? [] : Array.isArray(hooks) ? hooks : [hooks]

const scopes = new WeakMap<FastifyRequest, AdminScope>()
const loaded = new WeakMap<FastifyRequest, Directory>()

const within = (scope: AdminScope, owner: { tenant: string, product: string }) =>
  scope === 'all' || (owner.tenant === scope.tenant && owner.product === scope.product)

class AdminProblem extends Error {
  constructor (readonly code: number, message: string) { super(message) }
}

/** The tenant and product a create or a list is for: the session's own, or (for 'all') the ones asked for. */
function ownerFor (scope: AdminScope, asked: { tenant?: string, product?: string }, required: boolean): { tenant?: string, product?: string } {
  if (scope === 'all') {
    if (required && (asked.tenant === undefined || asked.product === undefined)) throw new AdminProblem(400, 'tenant and product are required')
    return asked
  }
  if ((asked.tenant !== undefined && asked.tenant !== scope.tenant) || (asked.product !== undefined && asked.product !== scope.product)) {
    throw new AdminProblem(403, 'This session is limited to its own tenant and product')
  }
  return scope
}

export async function directorySyncAdmin (fastify: FastifyInstance, options: DirectorySyncAdminOptions): Promise<void> {
  const onRequest = hooksOf(options.onRequest)
  const preHandler = hooksOf(options.preHandler)
  if ((onRequest.length === 0 && preHandler.length === 0) || typeof options.tenantOf !== 'function') throw new AdminAuthRequiredError()
  if (!fastify.hasDecorator('directorySync')) throw new NotRegisteredError('directorySyncAdmin')
  const ds: DirectorySyncController = fastify.directorySync
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()

  for (const hook of onRequest) app.addHook('onRequest', hook)
  // A changing request carries JSON (or nothing): an HTML form on another site can send text/plain,
  // urlencoded or multipart bodies with the host's cookies, but not application/json.
  app.addHook('onRequest', async (request, reply) => {
    if (request.method === 'GET' || request.method === 'HEAD' || request.method === 'OPTIONS') return
    const type = request.headers['content-type']
    if (type !== undefined && !/^application\/json\s*(;|$)/i.test(type)) {
      return reply.code(415).send({ error: { message: 'The admin routes take application/json', code: 415 } })
    }
  })
  // A body the routes document as optional may be left out.
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined && (request.method === 'POST' || request.method === 'PATCH')) request.body = {}
  })
  for (const hook of preHandler) app.addHook('preHandler', hook)
  // After the host's hooks: whose directories this request may see; then the directory it names, if in scope.
  app.addHook('preHandler', async (request) => {
    const scope = await options.tenantOf(request)
    if (scope !== 'all' && (typeof scope?.tenant !== 'string' || typeof scope.product !== 'string')) throw new AdminProblem(403, 'No tenant for this session')
    scopes.set(request, scope)
    const id = (request.params as { id?: string }).id
    if (id === undefined) return
    const found = await ds.directories.get(id)
    if (found.error !== null || !within(scope, found.data)) throw new AdminProblem(404, 'Directory not found')
    loaded.set(request, found.data)
  })
  app.setErrorHandler((error: Error & { statusCode?: number, validation?: unknown }, request, reply) => {
    const code = error instanceof AdminProblem ? error.code : error.validation !== undefined ? 400 : error.statusCode ?? 500
    if (code >= 500) request.log.error({ err: error }, 'directory sync admin route failed')
    return reply.code(code).send({ error: { message: code >= 500 && code !== 503 ? 'Internal server error' : error.message, code } })
  })
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: { message: `${request.method} ${request.url} is not an admin route`, code: 404 } }))

  const scopeOf = (request: FastifyRequest) => scopes.get(request)!
  /** Refuses a webhook setting from a session confined to a tenant, unless tenantWebhooks allows it. */
  const checkWebhook = (request: FastifyRequest, body: { webhook_url?: string, webhook_secret?: string }) => {
    if (options.tenantWebhooks !== true && scopeOf(request) !== 'all' && (body.webhook_url !== undefined || body.webhook_secret !== undefined)) {
      throw new AdminProblem(403, 'This session may not set a webhook (tenantWebhooks)')
    }
  }
  const directoryOf = (request: FastifyRequest) => loaded.get(request)!
  /** The data of a controller answer, or its error as the route's answer. */
  const ok = <T>(result: Result<T>): T => {
    if (result.error !== null) throw new AdminProblem(result.error.code, result.error.message)
    return result.data
  }
  // The error shapes are documented beside each route's answers (left out of its type: the handlers throw them).
  const schema = <T extends { response?: object, [key: string]: unknown }>(summary: string, extra: T, ...codes: number[]) =>
    ({ tags: [S.TAG], summary, ...extra, response: { ...extra.response, ...S.errors(400, 401, 403, 404, ...codes) } as T['response'] })

  app.get('/providers', { schema: schema('The identity providers a directory can be made for', { response: { 200: S.Providers } }) },
    async () => ({ providers: ds.providers() }))

  app.get('/directories', { schema: schema('Directories, with how many there are', { querystring: S.DirectoryListQuery, response: { 200: S.PagedDirectories } }) }, async (request) => {
    const { offset, limit, ...asked } = request.query
    const owner = ownerFor(scopeOf(request), asked, false)
    const page = ok(await ds.directories.list({ ...owner, offset, limit }))
    return { items: page.items.map(adminDirectory), total: page.total }
  })

  app.post('/directories', { schema: schema('Creates a directory', { body: S.CreateDirectoryBody, response: { 201: S.CreatedDirectory } }) }, async (request, reply) => {
    const { tenant, product, ...settings } = request.body
    checkWebhook(request, settings)
    const owner = ownerFor(scopeOf(request), { tenant, product }, true) as { tenant: string, product: string }
    const created = ok(await ds.directories.create({ ...settings, ...owner, name: settings.name ?? `${(ds.providers() as Record<string, string>)[settings.type] ?? settings.type} (${owner.tenant})` }))
    return reply.code(201).send({ directory: adminDirectory(created), credentials: credentialsOf(created) })
  })

  app.get('/directories/:id', { schema: schema('A directory', { params: S.DirectoryParams, response: { 200: S.Directory } }) },
    async (request) => adminDirectory(directoryOf(request)))

  app.patch('/directories/:id', { schema: schema('Changes a directory\'s settings', { params: S.DirectoryParams, body: S.UpdateDirectoryBody, response: { 200: S.Directory } }) },
    async (request) => {
      checkWebhook(request, request.body)
      return adminDirectory(ok(await ds.directories.update(request.params.id, request.body)))
    })

  for (const [action, deactivated] of [['deactivate', true], ['activate', false]] as const) {
    app.post(`/directories/:id/${action}`, { schema: schema(`${action === 'activate' ? 'Activates' : 'Deactivates'} a directory`, { params: S.DirectoryParams, response: { 200: S.Directory } }) },
      async (request) => adminDirectory(ok(await ds.directories.update(request.params.id, { deactivated }))))
  }

  app.delete('/directories/:id', { schema: schema('Deletes a directory, its users and groups', { params: S.DirectoryParams }) }, async (request, reply) => {
    ok(await ds.directories.delete(request.params.id))
    return reply.code(204).send()
  })

  app.post('/directories/:id/credentials', { schema: schema('The SCIM URL and token to give the identity provider', { params: S.DirectoryParams, response: { 200: S.Credentials } }) },
    async (request) => credentialsOf(directoryOf(request)))

  app.post('/directories/:id/token', { schema: schema('A new SCIM token; the old one works for graceSeconds more (default 0)', { params: S.DirectoryParams, body: S.RotateBody, response: { 200: S.Credentials } }) },
    async (request) => credentialsOf(ok(await ds.directories.rotateToken(request.params.id, { graceSeconds: request.body?.graceSeconds }))))

  app.get('/directories/:id/steps', { schema: schema('What to do in the identity provider, with the URL filled in', { params: S.DirectoryParams, response: { 200: S.Steps } }) },
    async (request) => stepsFor(directoryOf(request), ds.providers()))

  app.get('/directories/:id/status', { schema: schema('How the directory is doing', { params: S.DirectoryParams, response: { 200: S.Status } }) },
    async (request) => ok(await ds.directories.status(request.params.id)))

  const page = (query: { offset?: number, limit?: number }) => ({ pageOffset: query.offset, pageLimit: query.limit })
  app.get('/directories/:id/users', { schema: schema('A page of the directory\'s users', { params: S.DirectoryParams, querystring: S.PageQuery, response: { 200: S.PagedUsers } }) },
    async (request) => ok(await ds.users.page(request.params.id, page(request.query))))
  app.get('/directories/:id/users/:userId', { schema: schema('A user', { params: S.UserParams, response: { 200: S.User } }) },
    async (request) => ok(await ds.users.get(request.params.id, request.params.userId)))
  app.get('/directories/:id/groups', { schema: schema('A page of the directory\'s groups', { params: S.DirectoryParams, querystring: S.PageQuery, response: { 200: S.PagedGroups } }) },
    async (request) => ok(await ds.groups.page(request.params.id, page(request.query))))
  app.get('/directories/:id/groups/:groupId', { schema: schema('A group', { params: S.GroupParams, response: { 200: S.Group } }) },
    async (request) => ok(await ds.groups.get(request.params.id, request.params.groupId)))
  app.get('/directories/:id/groups/:groupId/members', { schema: schema('A page of a group\'s members', { params: S.GroupParams, querystring: S.PageQuery, response: { 200: S.PagedMembers } }) },
    async (request) => ok(await ds.groups.membersPage(request.params.id, request.params.groupId, page(request.query))))

  app.get('/directories/:id/events', { schema: schema('The directory\'s events after a cursor (without one, from the oldest kept)', { params: S.DirectoryParams, querystring: S.EventQuery, response: { 200: S.EventPage } }, 410) }, async (request) => {
    const { after, types, limit } = request.query
    const list = types === undefined ? undefined : types.split(',').map((t) => t.trim()).filter((t) => t !== '') as Array<DirectorySyncEventType | DirectoryLifecycleEventType>
    return ok(await ds.events.list({ directoryId: request.params.id, after, types: list, limit }))
  })

  // A directory's failed deliveries: the controller keeps them across directories, by handler.
  const failedOf = async (directoryId: string, handler?: string) => ok(await ds.events.failed(handler)).filter((f) => f.event.directory_id === directoryId)
  app.get('/directories/:id/failed', { schema: schema('Deliveries given up on after their last attempt', { params: S.DirectoryParams, querystring: S.FailedQuery, response: { 200: S.Failed } }) },
    async (request) => ({ items: await failedOf(request.params.id, request.query.handler) }))

  app.post('/directories/:id/failed/:eventId/replay', { schema: schema('Delivers a failed event again', { params: S.EventParams, body: S.ReplayBody, response: { 200: S.Replayed } }) }, async (request) => {
    const handler = request.body?.handler
    if (!(await failedOf(request.params.id, handler)).some((f) => f.event.id === request.params.eventId)) throw new AdminProblem(404, 'No failed delivery of that event')
    return ok(await ds.events.replay(request.params.eventId, handler))
  })

  app.post('/directories/:id/guard/release', { schema: schema('Releases the events the deprovisioning guard holds', { params: S.DirectoryParams, body: S.ReleaseBody, response: { 200: S.Released } }, 409) },
    async (request) => ok(await ds.guard.release(request.params.id, { coalesce: request.body?.coalesce })))

  // Setup links: one tenant and product each; a scoped session sees and makes only its own.
  const linkInScope = async (request: FastifyRequest, id: string) => {
    const link = ok(await ds.setupLinks.get(id))
    if (!within(scopeOf(request), link)) throw new AdminProblem(404, 'Setup link not found')
    return link
  }
  app.get('/setup-links', { schema: schema('Setup links, newest first', { querystring: S.LinkQuery, response: { 200: S.Links } }) },
    async (request) => ({ items: ok(await ds.setupLinks.list(ownerFor(scopeOf(request), request.query, false))) }))
  app.post('/setup-links', { schema: schema('A setup link for a customer\'s IT admin (its token is answered only here)', { body: S.CreateLinkBody, response: { 201: S.CreatedLink } }) }, async (request, reply) => {
    const { tenant, product, expiresInSeconds } = request.body ?? {}
    const owner = ownerFor(scopeOf(request), { tenant, product }, true) as { tenant: string, product: string }
    const { link, token } = ok(await ds.setupLinks.create({ ...owner, expiresInSeconds }))
    return reply.code(201).send({ link, token, url: setupUrlOf(ds, token) })
  })
  app.get('/setup-links/:linkId', { schema: schema('A setup link', { params: S.LinkParams, response: { 200: S.SetupLink } }) },
    async (request) => linkInScope(request, request.params.linkId))
  app.delete('/setup-links/:linkId', { schema: schema('Revokes a setup link (its directory keeps working)', { params: S.LinkParams, response: { 200: S.SetupLink } }) }, async (request) => {
    await linkInScope(request, request.params.linkId)
    return ok(await ds.setupLinks.revoke(request.params.linkId))
  })
}
