// The setup-link pages (directorySyncSetup, from fastify-directory-sync/admin): what a customer's IT
// admin opens from the link the host sent. The link is <pages>#<token>: browsers never send a
// fragment, so a mail scanner that fetches the link gets the page and nothing else. The page's script
// calls the API below with the token as a Bearer token; nothing a GET answers changes anything or
// carries a SCIM token (that is answered to a POST). Failed tokens are rate-limited per address, as
// SCIM authentication is.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { NotRegisteredError } from '../errors.js'
import { DEFAULT_AUTH_FAILURES, FailedAuthLimiter, type AuthFailureOptions } from '../scim/auth-limiter.js'
import type { DirectorySyncController, Result, SetupLinkSession } from '../types.js'
import { joinPaths } from '../options.js'
import { hidden } from '../scim/openapi.js'
import { adminDirectory, credentialsOf, stepsFor } from './present.js'
import { noteSetupPages } from './urls.js'
import { setupHtml } from './setup-page/html.js'
import { SETUP_JS } from './setup-page/script.js'
import { SETUP_CSS } from './setup-page/style.js'
import * as S from './schemas.js'

export interface DirectorySyncSetupOptions {
  /** Failed link tokens one address may try in a window before it is answered 429 (default: 20 a minute). */
  authFailures?: AuthFailureOptions
}

// The pages load nothing but themselves; nothing may frame them (clickjacking of the reveal button).
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store'
}

const bearer = (request: FastifyRequest) => {
  const header = request.headers.authorization
  return typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7).trim() : ''
}

export async function directorySyncSetup (fastify: FastifyInstance, options: DirectorySyncSetupOptions = {}): Promise<void> {
  if (!fastify.hasDecorator('directorySync')) throw new NotRegisteredError('directorySyncSetup')
  const ds: DirectorySyncController = fastify.directorySync
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const limiter = new FailedAuthLimiter(options.authFailures ?? DEFAULT_AUTH_FAILURES)
  // The external URL of the pages, for the links the admin routes hand out.
  const base = joinPaths(fastify.prefix, '/')
  noteSetupPages(ds, base)
  const path = (suffix: string) => (base === '/' ? '' : base) + suffix

  app.addHook('onSend', async (_request, reply) => { reply.headers(PAGE_HEADERS) })
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: { message: `${request.method} ${request.url} is not a setup page`, code: 404 } }))
  app.setErrorHandler((error: Error & { statusCode?: number, validation?: unknown }, request, reply) => {
    const code = error.validation !== undefined ? 400 : error.statusCode ?? 500
    if (code >= 500) request.log.error({ err: error }, 'setup page failed')
    return reply.code(code).send({ error: { message: code >= 500 && code !== 503 ? 'Internal server error' : error.message, code } })
  })

  /** The controller's answer, or its error; a token that is not a link's counts against the address. */
  const answer = <T, R>(request: FastifyRequest, reply: FastifyReply, result: Result<T>, map: (data: T) => R): R | FastifyReply => {
    if (result.error === null) return map(result.data)
    if (result.error.code === 401) {
      const wait = limiter.fail(request.ip)
      if (wait !== undefined) {
        return reply.code(429).header('retry-after', String(wait)).send({ error: { message: `Too many attempts: wait ${wait} seconds`, code: 429 } })
      }
    }
    return reply.code(result.error.code).send({ error: result.error })
  }
  const view = (session: SetupLinkSession) => ({
    link: session.link,
    providers: ds.providers(),
    // Without the webhook: where the vendor's events go is not the IT admin's business (its URL may carry a key).
    directory: session.directory === null ? null : { ...adminDirectory(session.directory), webhook: { endpoint: '' } },
    steps: session.directory === null ? null : stepsFor(session.directory, ds.providers()),
    canChangeProvider: session.canChangeProvider,
    progress: session.progress
  })
  const schema = <T extends { response?: object, [key: string]: unknown }>(summary: string, extra: T) =>
    ({ tags: [S.TAG], summary, ...extra, response: { ...extra.response, ...S.errors(400, 401, 409, 410, 429) } as T['response'] })

  const html = setupHtml(path(''))
  app.get('/', { schema: hidden() }, async (_request, reply) => reply.type('text/html; charset=utf-8').send(html))
  app.get('/setup.js', { schema: hidden() }, async (_request, reply) => reply.type('text/javascript; charset=utf-8').send(SETUP_JS))
  app.get('/setup.css', { schema: hidden() }, async (_request, reply) => reply.type('text/css; charset=utf-8').send(SETUP_CSS))

  app.get('/api/link', { schema: schema('What a setup link gives access to (Bearer: the link\'s token)', { response: { 200: S.SetupLinkView } }) },
    async (request, reply) => answer(request, reply, await ds.setupLinks.open(bearer(request)), view))
  app.post('/api/provider', { schema: schema('Picks the identity provider: creates the directory, or changes its type until its first SCIM request', { body: S.PickBody, response: { 200: S.SetupLinkView } }) },
    async (request, reply) => answer(request, reply, await ds.setupLinks.pickProvider(bearer(request), request.body.type), view))
  app.post('/api/credentials', { schema: schema('The SCIM URL and token to paste into the identity provider', { response: { 200: S.Credentials } }) },
    async (request, reply) => answer(request, reply, await ds.setupLinks.credentials(bearer(request)), credentialsOf))
  app.post('/api/token', { schema: schema('A new SCIM token (the old one stops working at once)', { response: { 200: S.Credentials } }) },
    async (request, reply) => answer(request, reply, await ds.setupLinks.credentials(bearer(request), { rotate: true }), credentialsOf))
}
