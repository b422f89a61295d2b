// The controller's directory, user and group operations, shared by app.directorySync and the command
// line's admin: directories through jackson's confined objects, users and groups from the plugin's store.
import type { EventQueue, ResourceStore } from '../store/index.js'
import { directoryStatus, type DirectoryActivity } from '../events/status.js'
import { changedSettings, type LifecycleRecorder } from '../events/lifecycle.js'
import type { DirectorySyncController, GroupMember, Page, Result } from '../types.js'
import { rotateScimSecret, type JacksonDirectorySync } from './jackson.js'
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

export function buildController (
  run: Run, providers: Record<string, string>, store: ResourceStore, pageLimit: number, cache: DirectoryCache,
  queue: EventQueue, record: LifecycleRecorder, activity?: DirectoryActivity, guarded = false
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
      rotateToken: (id) => run(id, async (set) => {
        const existing = await set.directories.get(id)
        if (existing.error) return existing
        if (!existing.data.scim.path) return badRequest(`The directory ${id} is not a SCIM directory (type ${existing.data.type}): it has no token`)
        if (!await rotateScimSecret(set.directories, id)) return notFound('Directory')
        cache.forget(id) // this process refuses the old token at once
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
      getAll: (page?: Page) => run(undefined, (set) => set.directories.getAll(page))
    },
    providers: () => ({ ...providers }) as ReturnType<DirectorySyncController['providers']>,
    users: {
      list: (directoryId, page = {}) => inDirectory(directoryId, async () =>
        ({ data: (await store.list(directoryId, 'User', window(page))).items.map(jacksonUser), error: null })),
      get: (directoryId, userId) => inDirectory(directoryId, async () => {
        const user = await store.get(directoryId, 'User', userId)
        return found('User', user && jacksonUser(user))
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
      })
    }
  }
}
