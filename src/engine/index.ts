// The engine: the plugin's only door to jackson. It opens (or shares) the database, builds confined
// sets of jackson's directory-sync objects, and exposes them as the `directorySync` controller.
import type { FastifyBaseLogger } from 'fastify'
import { ClosedError } from '../errors.js'
import type { ResolvedOptions } from '../options.js'
import type { ScimBackend } from '../scim/backend.js'
import { openStore, type ResourceStore } from '../store/index.js'
import type { DirectorySyncController, EventCallback, Page, Result } from '../types.js'
import { Lanes, Mutex } from './confinement.js'
import { acquireDatabase } from './database.js'
import { createDirectorySync, type JacksonDirectorySync, type JacksonOptions } from './jackson.js'
import { jacksonLogger } from './logging.js'
import { jacksonEvent, mirrorChanges } from './mirror.js'

/** Lanes per registration where the database takes concurrent calls (PostgreSQL, MySQL, Redis, mem). */
const PARALLEL_LANES = 4

export interface Engine {
  /** Everything but `requests`, which the SCIM layer answers. */
  controller: Omit<DirectorySyncController, 'requests'>
  backend: ScimBackend
  close(): Promise<void>
}

export async function openEngine (options: ResolvedOptions, log: FastifyBaseLogger, onEvent?: EventCallback): Promise<Engine> {
  const lease = await acquireDatabase(options.db, log, options.connectTimeout)
  let store: Awaited<ReturnType<typeof openStore>> | undefined
  try {
    const { database } = lease
    const opts: JacksonOptions = {
      externalUrl: options.externalUrl,
      samlPath: options.samlPath,
      scimPath: options.scimPath,
      db: database.options,
      logger: jacksonLogger(log.child({ component: 'jackson' })),
      noAnalytics: true
    }
    const count = database.serialLock ? 1 : PARALLEL_LANES
    const sets: JacksonDirectorySync[] = []
    for (let i = 0; i < count; i++) sets.push(await createDirectorySync(database.db, opts))
    const locks = sets.map(() => database.serialLock ?? new Mutex())
    const lanes = new Lanes(sets, locks)
    store = await openStore(database.options)
    let closed = false
    const run = <R>(key: string | undefined, fn: (set: JacksonDirectorySync) => Promise<R>): Promise<R> => {
      if (closed) return Promise.reject(new ClosedError())
      return lanes.run(key, fn)
    }
    const opened = store
    const backend: ScimBackend = {
      store: opened,
      write: (directory, fn) => run(directory.id, async (set) => {
        const outcome = await fn()
        await mirrorChanges(set, directory, outcome.changes)
        return outcome
      }),
      async publish (directory, changes, callback) {
        for (const change of changes) {
          const event = jacksonEvent(directory, change)
          for (const handler of [onEvent, callback]) {
            if (handler === undefined) continue
            // A handler's failure is the host's to handle: the change is stored either way.
            try {
              await handler(event)
            } catch (err) {
              log.error({ err, event: event.event, directoryId: directory.id }, 'onScimEvent handler failed')
            }
          }
        }
      }
    }
    return {
      controller: buildController(run, sets[0].providers(), opened),
      backend,
      async close () {
        if (closed) return
        closed = true
        await lanes.idle()
        await opened.close()
        await lease.release()
      }
    }
  } catch (err) {
    await store?.close()
    await lease.release()
    throw err
  }
}

type Run = <R>(key: string | undefined, fn: (set: JacksonDirectorySync) => Promise<R>) => Promise<R>

const notFound = (what: string): Result<never> => ({ data: null, error: { message: `${what} not found`, code: 404 } })

function buildController (run: Run, providers: Record<string, string>, store: ResourceStore): Engine['controller'] {
  // Reads by directory id: resolve the directory's tenant and product in the same confined call that uses them.
  const inDirectory = <T>(directoryId: string, fn: (set: JacksonDirectorySync, tenant: string, product: string) => Promise<Result<T>>) =>
    run(directoryId, async (set) => {
      const directory = await set.directories.get(directoryId)
      if (directory.error) return directory
      return fn(set, directory.data.tenant, directory.data.product)
    })

  // Several directories may share a tenant and product (and so a store): a record must name this directory.
  const ownedBy = <T extends { directoryId?: string }>(directoryId: string, what: string, result: Result<T>): Result<T> =>
    result.error === null && result.data.directoryId !== undefined && result.data.directoryId !== directoryId ? notFound(what) : result

  return {
    directories: {
      create: (params) => run(undefined, (set) => set.directories.create(params)),
      get: (id) => run(id, (set) => set.directories.get(id)),
      update: (id, params) => run(id, async (set) => {
        // jackson answers an unknown id with a 500 ("Cannot read properties of undefined").
        const existing = await set.directories.get(id)
        return existing.error ? existing : set.directories.update(id, params)
      }),
      delete: (id) => run(id, async (set) => {
        const result = await set.directories.delete(id)
        if (result.error === null) await store.dropDirectory(id)
        return result
      }),
      getByTenantAndProduct: (tenant, product) => run(undefined, (set) => set.directories.getByTenantAndProduct(tenant, product)),
      getAll: (page?: Page) => run(undefined, (set) => set.directories.getAll(page))
    },
    providers: () => ({ ...providers }) as ReturnType<DirectorySyncController['providers']>,
    users: {
      list: (directoryId, page = {}) => inDirectory(directoryId, (set, tenant, product) =>
        set.users.setTenantAndProduct(tenant, product).getAll({ ...page, directoryId })),
      get: (directoryId, userId) => inDirectory(directoryId, async (set, tenant, product) =>
        ownedBy(directoryId, 'User', await set.users.setTenantAndProduct(tenant, product).get(userId)))
    },
    groups: {
      list: (directoryId, page = {}) => inDirectory(directoryId, (set, tenant, product) =>
        set.groups.setTenantAndProduct(tenant, product).getAll({ ...page, directoryId })),
      get: (directoryId, groupId) => inDirectory(directoryId, async (set, tenant, product) =>
        ownedBy(directoryId, 'Group', await set.groups.setTenantAndProduct(tenant, product).get(groupId))),
      members: (directoryId, groupId, page = {}) => inDirectory(directoryId, async (set, tenant, product) => {
        const groups = set.groups.setTenantAndProduct(tenant, product)
        const group = ownedBy(directoryId, 'Group', await groups.get(groupId))
        return group.error ? group : groups.getGroupMembers({ ...page, groupId })
      })
    }
  }
}
