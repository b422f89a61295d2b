// The controller's directory, user and group operations, shared by app.directorySync and the command
// line's admin: directories through jackson's confined objects, users and groups from the plugin's store.
import { createHash } from 'node:crypto'
import type { AdminStore, EventQueue, ResourceStore } from '../store/index.js'
import { directoryStatus, type DirectoryActivity } from '../events/status.js'
import { changedSettings, type LifecycleRecorder } from '../events/lifecycle.js'
import type { Directory, DirectorySyncController, GroupMember, Page, Paged, Result } from '../types.js'
import { rotateScimSecret, setDirectoryType, type JacksonDirectorySync } from './jackson.js'
import type { DirectoryCache } from './directory-cache.js'
import { jacksonGroup, jacksonUser } from './mirror.js'

type Run = <R>(key: string | undefined, fn: (set: JacksonDirectorySync) => Promise<R>) => Promise<R>

const notFound = (what: string): Result<never> => ({ data: null, error: { message: `${what} not found`, code: 404 } })
const badRequest = (message: string): Result<never> => ({ data: null, error: { message, code: 400 } })

/** A webhook_url given to create or update must be an http(s) URL ('' removes the webhook). */
function badWebhook (params: { webhook_url?: string }): Result<never> | null {
  const url = params.webhook_url
  if (url === undefined || url === '') return null
  try {
    const { protocol } = new URL(url)
    if (protocol === 'http:' || protocol === 'https:') return null
  } catch {}
  return badRequest(`webhook_url must be an http or https URL, got ${JSON.stringify(url)}`)
}

/** What the controller's operations work on. */
export interface ControllerParts {
  run: Run
  /** jackson's directory types and names (google is left out: see providers()). */
  providers: Record<string, string>
  store: ResourceStore
  queue: EventQueue
  admin: AdminStore
  pageLimit: number
  cache: DirectoryCache
  record: LifecycleRecorder
  /** Where the SCIM routes note each directory's last request (a server's; none on the command line). */
  activity?: DirectoryActivity
  /** Whether the deprovisioning guard is on. */
  guarded?: boolean
}

// Google Workspace needs an OAuth flow the plugin does not run: a google directory would never sync.
const UNSUPPORTED_TYPES = new Set(['google'])
// A rotated token's grace period: at most a week.
const MAX_GRACE_SECONDS = 7 * 24 * 3600
// Directories read per jackson page when listing them all.
const DIRECTORY_PAGE = 100

export const tokenDigest = (token: string) => createHash('sha256').update(token).digest('hex')

/**
 * Changes a SCIM directory's type (a setup link's provider picked again, before any SCIM request):
 * answers the directory, and records dsync.updated with the former type.
 */
export function directoryRetyper ({ run, providers, cache, record }: Pick<ControllerParts, 'run' | 'providers' | 'cache' | 'record'>) {
  return (id: string, type: string): Promise<Result<Directory>> => run(id, async (set) => {
    if (!(type in providers) || UNSUPPORTED_TYPES.has(type)) return badRequest(`Unknown or unsupported directory type ${JSON.stringify(type)}: providers() lists the types that are`)
    const existing = await set.directories.get(id)
    if (existing.error) return existing
    if (!existing.data.scim.path) return badRequest(`The directory ${id} is not a SCIM directory`)
    if (existing.data.type === type) return existing
    if (!await setDirectoryType(set.directories, id, type)) return notFound('Directory')
    cache.forget(id)
    const changed = await set.directories.get(id)
    if (changed.data !== null) await record(changed.data, 'dsync.updated', changedSettings(existing.data, changed.data))
    return changed
  })
}

export function buildController (
  { run, providers, store, queue, admin, pageLimit, cache, record, activity, guarded = false }: ControllerParts
): Pick<DirectorySyncController, 'directories' | 'providers' | 'users' | 'groups'> {
  // Users and groups are read from the plugin's store, which answers the wire too: what a host reads is
  // what the identity provider last wrote (jackson's copy follows through the event queue).
  const inDirectory = <T>(directoryId: string, fn: () => Promise<Result<T>>) =>
    cache.get(directoryId).then((directory) => directory.error ? directory : fn())
  const window = (page: Page) => ({ offset: Math.max(page.pageOffset ?? 0, 0), limit: Math.min(Math.max(page.pageLimit ?? pageLimit, 0), pageLimit) })
  const found = <T>(what: string, value: T | null): Result<T> => value === null ? notFound(what) : { data: value, error: null }

  return {
    directories: {
      create: (params) => run(undefined, async (set) => {
        if (params.type !== undefined && UNSUPPORTED_TYPES.has(params.type)) {
          return badRequest(`Directories of type ${params.type} are not supported: providers() lists the types that are`)
        }
        const refused = badWebhook(params)
        if (refused !== null) return refused
        const created = await set.directories.create(params)
        if (created.data !== null) {
          cache.forget(created.data.id) // in case its id was asked for (and cached as unknown) before
          await record(created.data, 'dsync.created')
        }
        return created
      }),
      get: (id) => run(id, (set) => set.directories.get(id)),
      update: (id, params) => run(id, async (set) => {
        // jackson answers an unknown id with a 500 ("Cannot read properties of undefined").
        const existing = await set.directories.get(id)
        if (existing.error) return existing
        const refused = badWebhook(params)
        if (refused !== null) return refused
        const updated = await set.directories.update(id, params)
        cache.forget(id) // after the write: a lookup during it may have cached the old directory
        if (updated.data !== null) {
          const previous = changedSettings(existing.data, updated.data)
          if (Object.keys(previous).length > 0) await record(updated.data, 'dsync.updated', previous)
          const [was, is] = [existing.data.deactivated === true, updated.data.deactivated === true]
          if (was !== is) await record(updated.data, is ? 'dsync.deactivated' : 'dsync.activated')
        }
        return updated
      }),
      rotateToken: (id, { graceSeconds = 0 } = {}) => run(id, async (set) => {
        if (!Number.isInteger(graceSeconds) || graceSeconds < 0 || graceSeconds > MAX_GRACE_SECONDS) {
          return badRequest(`graceSeconds must be an integer from 0 to ${MAX_GRACE_SECONDS}`)
        }
        const existing = await set.directories.get(id)
        if (existing.error) return existing
        if (!existing.data.scim.path) return badRequest(`The directory ${id} is not a SCIM directory (type ${existing.data.type}): it has no token`)
        if (!await rotateScimSecret(set.directories, id)) return notFound('Directory')
        // The old token is still accepted for the grace period (only its digest is kept), or refused at once.
        await admin.setGrace(id, graceSeconds === 0 ? null : { tokenDigest: tokenDigest(existing.data.scim.secret), until: Date.now() + graceSeconds * 1000 })
        cache.forget(id) // this process refuses the old token at once (after its grace)
        const rotated = await set.directories.get(id)
        if (rotated.data !== null) await record(rotated.data, 'dsync.token_rotated')
        return rotated
      }),
      // jackson's record goes first, then the dsync.deleted event (with the settings as they were, and
      // the webhook kept to tell it). The users, groups, events and failures stay until every handler
      // has passed that event (or its retention), then a server purges them (purge.ts). A crash between
      // the first two loses that one event, and the data then stays until retention.
      delete: (id) => run(id, async (set) => {
        const existing = await set.directories.get(id)
        if (existing.error) return { data: null, error: existing.error }
        const result = await set.directories.delete(id)
        cache.forget(id)
        if (result.error === null) await record(existing.data, 'dsync.deleted')
        return result
      }),
      status: (id) => inDirectory(id, async () => ({ data: await directoryStatus(id, store, queue, activity, guarded), error: null })),
      getByTenantAndProduct: (tenant, product) => run(undefined, (set) => set.directories.getByTenantAndProduct(tenant, product)),
      getAll: (page?: Page) => run(undefined, (set) => set.directories.getAll(page)),
      list: async ({ tenant, product, offset = 0, limit = pageLimit } = {}) => {
        if (!Number.isInteger(offset) || offset < 0 || !Number.isInteger(limit) || limit < 0) return badRequest('offset and limit must be integers of at least 0')
        let all: Directory[]
        if (tenant !== undefined && product !== undefined) {
          const found = await run(undefined, (set) => set.directories.getByTenantAndProduct(tenant, product))
          if (found.error) return found
          all = found.data
        } else {
          // jackson's store has no index by tenant alone, nor a count: page through every directory.
          all = []
          for (let pageOffset = 0; ; pageOffset += DIRECTORY_PAGE) {
            const page = await run(undefined, (set) => set.directories.getAll({ pageOffset, pageLimit: DIRECTORY_PAGE }))
            if (page.error) return page
            all.push(...page.data.filter((d) => (tenant === undefined || d.tenant === tenant) && (product === undefined || d.product === product)))
            if (page.data.length < DIRECTORY_PAGE) break
          }
        }
        all.sort((a, b) => a.tenant.localeCompare(b.tenant) || a.product.localeCompare(b.product) || a.name.localeCompare(b.name) || a.id.localeCompare(b.id))
        return { data: { items: all.slice(offset, offset + Math.min(limit, pageLimit)), total: all.length }, error: null }
      }
    },
    providers: () => Object.fromEntries(Object.entries(providers).filter(([type]) => !UNSUPPORTED_TYPES.has(type))) as ReturnType<DirectorySyncController['providers']>,
    users: {
      list: (directoryId, page = {}) => inDirectory(directoryId, async () =>
        ({ data: (await store.list(directoryId, 'User', window(page))).items.map(jacksonUser), error: null })),
      get: (directoryId, userId) => inDirectory(directoryId, async () => {
        const user = await store.get(directoryId, 'User', userId)
        return found('User', user && jacksonUser(user))
      }),
      page: (directoryId, page = {}) => inDirectory(directoryId, async () => {
        const { items, total } = await store.list(directoryId, 'User', window(page))
        return { data: { items: items.map(jacksonUser), total }, error: null }
      })
    },
    groups: {
      list: (directoryId, page = {}) => inDirectory(directoryId, async () =>
        ({ data: (await store.list(directoryId, 'Group', window(page))).items.map(jacksonGroup), error: null })),
      get: (directoryId, groupId) => inDirectory(directoryId, async () => {
        const group = await store.get(directoryId, 'Group', groupId)
        return found('Group', group && jacksonGroup(group))
      }),
      members: (directoryId, groupId, page = {}) => inDirectory(directoryId, async (): Promise<Result<GroupMember[]>> => {
        if (await store.get(directoryId, 'Group', groupId) === null) return notFound('Group')
        const { offset, limit } = window(page)
        const members = (await store.members(directoryId, groupId)).slice(offset, offset + limit)
        return { data: members.map((m) => ({ user_id: m.value })), error: null }
      }),
      page: (directoryId, page = {}) => inDirectory(directoryId, async () => {
        const { items, total } = await store.list(directoryId, 'Group', window(page))
        return { data: { items: items.map(jacksonGroup), total }, error: null }
      }),
      membersPage: (directoryId, groupId, page = {}) => inDirectory(directoryId, async (): Promise<Result<Paged<GroupMember & { display?: string }>>> => {
        if (await store.get(directoryId, 'Group', groupId) === null) return notFound('Group')
        const { offset, limit } = window(page)
        const members = await store.members(directoryId, groupId)
        return { data: { items: members.slice(offset, offset + limit).map((m) => ({ user_id: m.value, ...(m.display === undefined ? {} : { display: m.display }) })), total: members.length }, error: null }
      })
    }
  }
}
