// The engine: the plugin's only door to jackson. It opens (or shares) the database, builds confined
// sets of jackson's directory-sync objects, and exposes them as the `directorySync` controller.
import type { FastifyBaseLogger } from 'fastify'
import { ClosedError } from '../errors.js'
import type { ResolvedOptions } from '../options.js'
import { randomUUID } from 'node:crypto'
import { Dispatcher } from '../events/dispatcher.js'
import type { HookRegistry } from '../events/hooks.js'
import { eventsController } from '../events/controller.js'
import { WEBHOOK_HANDLER, webhookHandler } from '../events/webhooks.js'
import { RetentionSweeper } from '../events/retention.js'
import type { ScimBackend } from '../scim/backend.js'
import type { ResourceStore } from '../store/index.js'
import type { Directory, DirectorySyncController, GroupMember, Page, Result, ScimEvent } from '../types.js'
import { Lanes, Mutex } from './confinement.js'
import { openCore } from './core.js'
import { rotateScimSecret, type JacksonDirectorySync } from './jackson.js'
import { DirectoryCache } from './directory-cache.js'
import { JACKSON_HANDLER, jacksonEvent, jacksonGroup, jacksonUser, mirrorEvent, resyncDirectory } from './mirror.js'

/** Lanes per registration where the database takes concurrent calls (PostgreSQL, MySQL, Redis, mem). */
const PARALLEL_LANES = 4
/** Lanes for the plugin's own writes (one directory's writes are serial; the store's pool has 4 connections). */
const WRITE_LANES = 4

export interface Engine {
  /** Everything but `requests`, which the SCIM layer answers. */
  controller: Omit<DirectorySyncController, 'requests'>
  backend: ScimBackend
  /** A directory for authenticating SCIM requests: cached briefly (see directory-cache.ts). */
  directory(id: string): Promise<Result<Directory>>
  close(): Promise<void>
}

/** How long a directory read for SCIM auth is reused: a change made by another process shows within this. */
const DIRECTORY_TTL_MS = 2000

export async function openEngine (options: ResolvedOptions, log: FastifyBaseLogger, hooks: HookRegistry): Promise<Engine> {
  const core = await openCore(options, log, PARALLEL_LANES)
  try {
    const { lease: { database }, sets, storage } = core
    // SCIM writes do not touch jackson, so they queue apart from jackson's lanes (where its copy is
    // kept). Where the database orders them (PostgreSQL, MySQL) they spread over the lanes, as many at
    // once as there are lanes; elsewhere one directory's writes go one at a time, on its lane. On
    // sqlite a write must hold the one lock every writer to the file takes (see store/sql.ts).
    const writeLocks = database.serialLock ? [database.serialLock] : Array.from({ length: WRITE_LANES }, () => new Mutex())
    const writes = new Lanes(writeLocks.map(() => null), writeLocks)
    let spread = 0
    const writeKey = (directoryId: string) => opened.concurrentWrites ? String(spread++) : directoryId
    let closed = false
    const run = <R>(key: string | undefined, fn: (set: JacksonDirectorySync) => Promise<R>): Promise<R> => {
      if (closed) return Promise.reject(new ClosedError())
      return core.run(key, fn)
    }
    const opened = storage
    const directories = new DirectoryCache((id) => run(id, (set) => set.directories.get(id)), DIRECTORY_TTL_MS)
    const controller = buildController(run, sets[0].providers(), opened.resources, database.options.pageLimit as number, directories)

    const dispatcher = new Dispatcher(opened.events, options.events, log.child({ component: 'events' }))
    // jackson's copy is kept from the queue too, so that a crash after a commit cannot leave it behind;
    // nothing on the wire or in the controller reads it, so no response waits for it.
    dispatcher.add(JACKSON_HANDLER, (event) => run(event.directory_id, (set) => mirrorEvent(set, event)), false, true)
    hooks.each((hook) => dispatcher.add(hook.key, hook.run, true, false, hook.from))
    dispatcher.add(WEBHOOK_HANDLER, webhookHandler((id) => directories.get(id), options.events.webhookTimeout), false)
    await dispatcher.start()
    const retention = new RetentionSweeper(opened.events, options.events, log.child({ component: 'events' }))
    retention.start()

    // A write's events (the array the operation passes on to deliver) → the number of the last of them.
    const lastSeqOf = new WeakMap<ScimEvent[], number>()
    const backend: ScimBackend = {
      store: opened.resources,
      // The directory's lane orders its writes in this process; the transaction (and its directory lock)
      // across processes. The change and its events are stored together; jackson's copy follows from the events.
      write: (directory, fn) => writes.run(writeKey(directory.id), async () => {
        const { outcome, events } = await opened.atomically(directory.id, async (scope) => {
          const outcome = await fn(scope.resources)
          const created = Date.now()
          const events: ScimEvent[] = outcome.changes.map((change) => ({
            ...jacksonEvent(directory, change), id: randomUUID(), created: new Date(created).toISOString()
          }))
          const recorded = await scope.record(events.map((payload) => ({ id: payload.id, payload: payload as unknown as Record<string, unknown>, createdAt: created })))
          if (recorded.length > 0) lastSeqOf.set(events, recorded[recorded.length - 1].seq)
          return { outcome, events }
        })
        return { ...outcome, events }
      }),
      async deliver (directory, events, callback) {
        // Up to the write's last event: the response waits for it whichever instance delivers it.
        await dispatcher.deliver(directory.id, lastSeqOf.get(events))
        // jackson's per-request callback (requests.handle): called inline, as jackson did, and not retried.
        if (callback === undefined) return
        for (const event of events) {
          try {
            await callback(event)
          } catch (err) {
            log.error({ err, event: event.event, directoryId: directory.id }, 'requests.handle callback failed')
          }
        }
      }
    }
    return {
      controller: {
        ...controller,
        addHook: (name, handler, hookOptions) => hooks.add(name, handler, hookOptions),
        resync: async (directoryId) => {
          const found = await directories.get(directoryId)
          if (found.error !== null) return found
          return { data: await run(directoryId, (set) => resyncDirectory(set, found.data, opened.resources)), error: null }
        },
        events: eventsController(opened.events, dispatcher)
      },
      backend,
      directory: (id) => directories.get(id),
      async close () {
        if (closed) return
        closed = true
        await retention.close()
        await dispatcher.close()
        await writes.idle()
        await core.close()
      }
    }
  } catch (err) {
    await core.close()
    throw err
  }
}

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
  run: Run, providers: Record<string, string>, store: ResourceStore, pageLimit: number, cache: DirectoryCache
): Omit<Engine['controller'], 'addHook' | 'events' | 'resync'> {
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
        if (created.data !== null) cache.forget(created.data.id) // in case its id was asked for (and cached as unknown) before
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
        return updated
      }),
      rotateToken: (id) => run(id, async (set) => {
        const existing = await set.directories.get(id)
        if (existing.error) return existing
        if (!existing.data.scim.path) return badRequest(`The directory ${id} is not a SCIM directory (type ${existing.data.type}): it has no token`)
        if (!await rotateScimSecret(set.directories, id)) return notFound('Directory')
        cache.forget(id) // this process refuses the old token at once
        return set.directories.get(id)
      }),
      delete: (id) => run(id, async (set) => {
        const result = await set.directories.delete(id)
        cache.forget(id)
        if (result.error === null) await store.dropDirectory(id)
        return result
      }),
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
