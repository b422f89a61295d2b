// Setup links (directorySync.setupLinks): a link the host sends to a customer's IT admin, bound to one
// tenant and product. Its token is 32 random bytes; only its SHA-256 digest is stored (AdminStore), so
// a copy of the database cannot be used to open links. Through the token the IT admin picks the
// provider (which creates the directory, and may change its type until the first SCIM request), reads
// the steps and the token, and sees what arrives. Works on the controller's directories (engine/ is the
// only door to jackson; the type change is the engine's).
import { randomBytes, randomUUID } from 'node:crypto'
import { Mutex } from '../engine/confinement.js'
import { tokenDigest } from '../engine/controller.js'
import type { AdminStore, SetupLinkRecord } from '../store/types.js'
import type { Directory, DirectorySyncController, Result, SetupLink, SetupLinkSession, SetupLinksController } from '../types.js'

export interface SetupLinkParts {
  admin: AdminStore
  /** The controller's directories, answering each directory with its endpoint as served. */
  directories: DirectorySyncController['directories']
  providers: () => Record<string, string>
  /** Changes a directory's type (engine/controller.ts directoryRetyper). */
  retype: (id: string, type: string) => Promise<Result<Directory>>
  now?: () => number
}

const DAY = 24 * 3600
// How long after the first SCIM request the link still gives the SCIM token (to finish or fix the
// provider's settings); after that the connection is live and the link shows progress only.
const CREDENTIALS_AFTER_FIRST_REQUEST_MS = 3600_000
const DEFAULT_EXPIRY_SECONDS = 7 * DAY
const MAX_EXPIRY_SECONDS = 90 * DAY
// A prefix that names what the token is (secret scanners, logs): dsl_ = directory setup link.
const TOKEN_PREFIX = 'dsl_'

const fail = (code: number, message: string): Result<never> => ({ data: null, error: { message, code } })
const iso = (ms: number | null) => ms === null ? null : new Date(ms).toISOString()

export function setupLinksController ({ admin, directories, providers, retype, now = Date.now }: SetupLinkParts): SetupLinksController {
  // One link's provider is picked one request at a time in this process (two clicks would make two
  // directories); across processes, the link's directory is claimed in the database.
  const picking = new Map<string, { lock: Mutex, users: number }>()
  const oneAtATime = async <T>(id: string, fn: () => Promise<T>): Promise<T> => {
    let entry = picking.get(id)
    if (entry === undefined) picking.set(id, entry = { lock: new Mutex(), users: 0 })
    entry.users++
    try {
      return await entry.lock.run(fn)
    } finally {
      if (--entry.users === 0) picking.delete(id)
    }
  }

  const view = (link: SetupLinkRecord): SetupLink => ({
    id: link.id,
    tenant: link.tenant,
    product: link.product,
    createdAt: iso(link.createdAt)!,
    expiresAt: iso(link.expiresAt)!,
    revokedAt: iso(link.revokedAt),
    directoryId: link.directoryId,
    firstRequestAt: iso(link.firstRequestAt),
    state: link.revokedAt !== null ? 'revoked' : link.expiresAt <= now() ? 'expired' : 'active'
  })

  /** The link a token opens, or 401 (unknown) / 410 (expired or revoked). */
  const byToken = async (token: string): Promise<Result<SetupLinkRecord>> => {
    if (typeof token !== 'string' || !token.startsWith(TOKEN_PREFIX)) return fail(401, 'This setup link is not valid')
    const link = await admin.linkByDigest(tokenDigest(token))
    if (link === null) return fail(401, 'This setup link is not valid')
    if (link.revokedAt !== null) return fail(410, 'This setup link was revoked: ask for a new one')
    if (link.expiresAt <= now()) return fail(410, 'This setup link has expired: ask for a new one')
    return { data: link, error: null }
  }

  /** The link's directory, or null when none was picked (or the host deleted it since). */
  const directoryOf = async (link: SetupLinkRecord): Promise<Directory | null> => {
    if (link.directoryId === null) return null
    const found = await directories.get(link.directoryId)
    return found.error === null ? found.data : null
  }

  const session = async (link: SetupLinkRecord): Promise<Result<SetupLinkSession>> => {
    const directory = await directoryOf(link)
    // The host deleted the link's directory: the link has nothing left to set up (it does not make another).
    if (directory === null && link.directoryId !== null) return fail(410, 'The directory of this setup link was deleted: ask for a new link')
    if (directory === null) return { data: { link: view(link), directory: null, progress: null, canChangeProvider: true }, error: null }
    const status = await directories.status(directory.id)
    if (status.error !== null) return status
    const { users, groups, lastRequest, lastError } = status.data
    // The mark is written after the first response (by whichever process answered it); this process may know sooner.
    const firstRequestAt = iso(link.firstRequestAt) ?? lastRequest?.at ?? null
    const { scim, webhook, ...settings } = directory
    return {
      data: {
        link: view({ ...link, firstRequestAt: firstRequestAt === null ? null : Date.parse(firstRequestAt) }),
        // The session never carries a secret: credentials() answers the token, to a POST.
        directory: { ...settings, scim: { path: scim.path, endpoint: scim.endpoint, secret: '' }, webhook: { endpoint: webhook.endpoint, secret: '' } },
        progress: { firstRequestAt, users, groups, lastRequest, lastError },
        canChangeProvider: firstRequestAt === null && users === 0 && groups === 0
      },
      error: null
    }
  }

  const ownLink = async (id: string): Promise<Result<SetupLinkRecord>> => {
    const link = typeof id === 'string' ? await admin.linkById(id) : null
    return link === null ? fail(404, 'Setup link not found') : { data: link, error: null }
  }

  return {
    async create ({ tenant, product, expiresInSeconds = DEFAULT_EXPIRY_SECONDS }) {
      if (typeof tenant !== 'string' || tenant === '' || typeof product !== 'string' || product === '') return fail(400, 'tenant and product are required')
      if (!Number.isInteger(expiresInSeconds) || expiresInSeconds < 1 || expiresInSeconds > MAX_EXPIRY_SECONDS) {
        return fail(400, `expiresInSeconds must be an integer from 1 to ${MAX_EXPIRY_SECONDS}`)
      }
      const token = TOKEN_PREFIX + randomBytes(32).toString('base64url')
      const createdAt = now()
      const link: SetupLinkRecord = {
        id: randomUUID(), tokenDigest: tokenDigest(token), tenant, product, createdAt, expiresAt: createdAt + expiresInSeconds * 1000, revokedAt: null, directoryId: null, firstRequestAt: null
      }
      await admin.createLink(link)
      return { data: { link: view(link), token }, error: null }
    },
    async list ({ tenant, product } = {}) {
      const links = tenant !== undefined && product !== undefined
        ? await admin.links({ tenant, product })
        : (await admin.links()).filter((l) => (tenant === undefined || l.tenant === tenant) && (product === undefined || l.product === product))
      return { data: links.map(view), error: null }
    },
    async get (id) {
      const link = await ownLink(id)
      return link.error === null ? { data: view(link.data), error: null } : link
    },
    async revoke (id) {
      const link = await ownLink(id)
      if (link.error !== null) return link
      if (link.data.revokedAt !== null) return { data: view(link.data), error: null }
      const revokedAt = now()
      await admin.updateLink(id, { revokedAt })
      return { data: view({ ...link.data, revokedAt }), error: null }
    },
    async open (token) {
      const link = await byToken(token)
      return link.error === null ? session(link.data) : link
    },
    async pickProvider (token, type) {
      const opened = await byToken(token)
      if (opened.error !== null) return opened
      if (typeof type !== 'string' || !(type in providers())) return fail(400, `Unknown provider ${JSON.stringify(type)}: choose one of ${Object.keys(providers()).join(', ')}`)
      return oneAtATime(opened.data.id, async () => {
        const link = (await admin.linkById(opened.data.id))!
        const current = await session(link)
        if (current.error !== null) return current
        const existing = current.data.directory
        if (existing === null) {
          const created = await directories.create({ tenant: link.tenant, product: link.product, type, name: `${providers()[type]} (${link.tenant})` })
          if (created.error !== null) return created
          if (!await admin.claimLinkDirectory(link.id, created.data.id)) {
            // Another instance picked at the same moment: its directory is the link's, this one goes.
            await directories.delete(created.data.id)
            return session((await admin.linkById(link.id))!)
          }
          return session({ ...link, directoryId: created.data.id })
        }
        if (existing.type === type) return current
        if (!current.data.canChangeProvider) return fail(409, 'The provider cannot be changed: the directory has already answered its identity provider')
        const changed = await retype(existing.id, type)
        if (changed.error !== null) return changed
        await directories.update(existing.id, { name: `${providers()[type]} (${link.tenant})` })
        return session(link)
      })
    },
    async credentials (token, { rotate = false } = {}) {
      const link = await byToken(token)
      if (link.error !== null) return link
      const current = await session(link.data)
      if (current.error !== null) return current
      const { directory, link: shown } = current.data
      if (directory === null) return fail(409, 'Choose the identity provider first')
      if (directory.deactivated === true) return fail(403, 'This directory is deactivated: its token is not given out')
      // Once the connection has been live a while, the link no longer hands out (or replaces) its token.
      if (shown.firstRequestAt !== null && Date.parse(shown.firstRequestAt) + CREDENTIALS_AFTER_FIRST_REQUEST_MS <= now()) {
        return fail(403, 'The connection is live: this link no longer gives out its token. Ask for a new token if you need one')
      }
      return rotate ? directories.rotateToken(directory.id) : directories.get(directory.id)
    }
  }
}
