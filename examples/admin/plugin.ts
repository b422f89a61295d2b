// The example's admin page: a sign-in with a password (printed by the server when it starts), sessions
// in memory, and the package's admin routes (directorySyncAdmin, under /admin/api) and setup-link pages
// (directorySyncSetup, under /setup) behind them. A sign-in without a tenant is an operator's session
// (every tenant); with a tenant, a customer's, confined to that tenant's directories of product
// "demo-app", which shows what tenantOf does.
//
// What protects it: the session id is 32 random bytes in an HttpOnly, SameSite=Strict cookie (Secure
// when the external URL is https); every request that changes something (/admin/api/* other than GET,
// /logout) must carry the session's CSRF token in x-csrf-token and, when the browser sends an Origin,
// come from this origin; failed sign-ins are limited per address; the page is served with a CSP that
// allows only its own files (no inline script or style), and it writes data with textContent only.
// A real app would use its own sign-in instead; tenantOf is where it says what a session may see.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { directorySyncAdmin, directorySyncSetup } from '../../src/admin/index.js'

export interface AdminPageOptions {
  /** The password of the sign-in form. */
  password: string
  /** Where the app is reached (its origin is the one a changing request must come from). */
  externalUrl: string
  /** The product a customer's session is confined to (default "demo-app"). */
  product?: string
}

export type Scope = 'all' | { tenant: string, product: string }

interface Session {
  scope: Scope
  csrf: string
  createdAt: number
  seenAt: number
}

const COOKIE = 'dsync_admin'
const IDLE_MS = 2 * 3600_000
const MAX_AGE_MS = 12 * 3600_000
const FAILURES_PER_MINUTE = 10
const MINUTE = 60_000
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])
export const CSP = "default-src 'self'; frame-ancestors 'none'"

const files = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
  // Its own icon: a data: URL would be an image the CSP refuses (and logged as an error), and without
  // one the browser asks for /favicon.ico.
  '/favicon.svg': { file: 'favicon.svg', type: 'image/svg+xml' }
} as const

/** The cookies of a Cookie header (the first of each name), without a dependency. */
export function parseCookies (header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>()
  if (header === undefined) return cookies
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0) continue
    const name = part.slice(0, eq).trim()
    let value = part.slice(eq + 1).trim()
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1)
    if (name === '' || cookies.has(name)) continue
    try {
      cookies.set(name, decodeURIComponent(value))
    } catch {
      cookies.set(name, value)
    }
  }
  return cookies
}

const digest = (text: string) => createHash('sha256').update(text).digest()
/** Compares two strings in a time that does not depend on where they differ. */
const same = (a: string, b: string) => timingSafeEqual(digest(a), digest(b))
const apiError = (reply: FastifyReply, code: number, message: string) => reply.code(code).send({ error: { message, code } })

export async function adminPage (app: FastifyInstance, options: AdminPageOptions): Promise<void> {
  const { password } = options
  if (typeof password !== 'string' || password.length < 8) throw new Error('the admin password must have at least 8 characters')
  const external = new URL(options.externalUrl)
  const product = options.product ?? 'demo-app'
  const secure = external.protocol === 'https:'
  const publicDir = new URL('./public/', import.meta.url)
  const bodies = new Map(Object.entries(files).map(([path, { file }]) => [path, readFileSync(new URL(file, publicDir))]))

  const sessions = new Map<string, Session>()
  // Which session a request to the admin routes was let in with (tenantOf reads it).
  const sessionOfRequest = new WeakMap<FastifyRequest, Session>()
  const failures = new Map<string, { count: number, resetAt: number }>()

  const sweep = setInterval(() => {
    const now = Date.now()
    for (const [id, session] of sessions) if (expired(session, now)) sessions.delete(id)
    for (const [ip, entry] of failures) if (entry.resetAt <= now) failures.delete(ip)
  }, MINUTE)
  sweep.unref()
  app.addHook('onClose', async () => { clearInterval(sweep) })

  function expired (session: Session, now: number): boolean {
    return now - session.seenAt > IDLE_MS || now - session.createdAt > MAX_AGE_MS
  }

  function sessionOf (request: FastifyRequest): { id: string, session: Session } | null {
    const id = parseCookies(request.headers.cookie).get(COOKIE)
    if (id === undefined) return null
    const session = sessions.get(id)
    if (session === undefined) return null
    const now = Date.now()
    if (expired(session, now)) {
      sessions.delete(id)
      return null
    }
    session.seenAt = now
    return { id, session }
  }

  function cookie (value: string, maxAgeSeconds?: number): string {
    return `${COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}${maxAgeSeconds === undefined ? '' : `; Max-Age=${maxAgeSeconds}`}`
  }

  /** Whether the request's Origin, when the browser sent one, is this app's (as configured, or as the browser reached it). */
  function sameOrigin (request: FastifyRequest): boolean {
    const origin = request.headers.origin
    if (origin === undefined) return true
    if (origin === external.origin) return true
    const host = request.headers.host
    return host !== undefined && origin === `${request.protocol}://${host}`
  }

  /** Lets a changing request through only with the session's CSRF token and from this origin. */
  function checkChange (request: FastifyRequest, reply: FastifyReply, session: Session): boolean {
    if (SAFE_METHODS.has(request.method)) return true
    if (!sameOrigin(request)) {
      apiError(reply, 403, 'Cross-origin request refused')
      return false
    }
    const token = request.headers['x-csrf-token']
    if (typeof token !== 'string' || !same(token, session.csrf)) {
      apiError(reply, 403, 'Missing or wrong CSRF token (x-csrf-token)')
      return false
    }
    return true
  }

  const view = (session: Session) => ({ authenticated: true, scope: session.scope, csrfToken: session.csrf })

  // Every response of this context (the page, the admin routes, the setup pages): no sniffing, no
  // referrer, no framing, and a CSP unless a route set its own.
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff')
    reply.header('referrer-policy', 'no-referrer')
    reply.header('x-frame-options', 'DENY')
    if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', CSP)
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store')
    return payload
  })

  for (const [path, { type }] of Object.entries(files)) {
    app.get(path, async (request, reply) => reply.type(type).header('cache-control', 'no-cache').send(bodies.get(path)))
  }

  app.get('/session', async (request) => {
    const found = sessionOf(request)
    return found === null ? { authenticated: false } : view(found.session)
  })

  app.post<{ Body: { password: string, tenant?: string } }>('/login', {
    bodyLimit: 4096,
    schema: {
      body: {
        type: 'object',
        required: ['password'],
        additionalProperties: false,
        properties: {
          password: { type: 'string', maxLength: 200 },
          tenant: { type: 'string', maxLength: 100 }
        }
      }
    }
  }, async (request, reply) => {
    if (!sameOrigin(request)) return apiError(reply, 403, 'Cross-origin request refused')
    const now = Date.now()
    let failed = failures.get(request.ip)
    if (failed !== undefined && failed.resetAt <= now) {
      failures.delete(request.ip)
      failed = undefined
    }
    if (failed !== undefined && failed.count >= FAILURES_PER_MINUTE) {
      reply.header('retry-after', String(Math.ceil((failed.resetAt - now) / 1000)))
      return apiError(reply, 429, 'Too many failed sign-ins: wait a minute')
    }
    if (!same(request.body.password, password)) {
      if (failed === undefined) failures.set(request.ip, failed = { count: 0, resetAt: now + MINUTE })
      failed.count++
      return apiError(reply, 401, 'Wrong password')
    }
    const tenant = (request.body.tenant ?? '').trim()
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(tenant)) return apiError(reply, 400, 'The tenant may not contain control characters')
    const old = sessionOf(request)
    if (old !== null) sessions.delete(old.id)
    const id = randomBytes(32).toString('base64url')
    const session: Session = {
      scope: tenant === '' ? 'all' : { tenant, product },
      csrf: randomBytes(32).toString('base64url'),
      createdAt: now,
      seenAt: now
    }
    sessions.set(id, session)
    reply.header('set-cookie', cookie(id))
    return view(session)
  })

  app.post('/logout', async (request, reply) => {
    const found = sessionOf(request)
    if (found === null) return apiError(reply, 401, 'Not signed in')
    if (!checkChange(request, reply, found.session)) return reply
    sessions.delete(found.id)
    reply.header('set-cookie', cookie('', 0))
    return reply.code(204).send()
  })

  await app.register(directorySyncAdmin, {
    prefix: '/admin/api',
    async onRequest (request: FastifyRequest, reply: FastifyReply) {
      const found = sessionOf(request)
      if (found === null) return apiError(reply, 401, 'Sign in first')
      if (!checkChange(request, reply, found.session)) return reply
      sessionOfRequest.set(request, found.session)
    },
    tenantOf (request: FastifyRequest): Scope {
      const session = sessionOfRequest.get(request)
      // Not reached: onRequest lets no request in without a session. Should it be, nothing is visible.
      if (session === undefined) throw Object.assign(new Error('Sign in first'), { statusCode: 401 })
      return session.scope
    }
  })
  await app.register(directorySyncSetup, { prefix: '/setup' })
}
