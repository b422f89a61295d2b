// The engine, as the plugin runs it: what every user opens (core.ts), the controller's operations
// (controller.ts), and here the wiring of what only a server does: the SCIM write path, event delivery
// (dispatcher, hooks, webhooks, jackson's copy) and retention.
import type { FastifyBaseLogger } from 'fastify'
import { ClosedError } from '../errors.js'
import type { ResolvedOptions } from '../options.js'
import { randomUUID } from 'node:crypto'
import { Dispatcher } from '../events/dispatcher.js'
import type { HookRegistry } from '../events/hooks.js'
import { eventsController } from '../events/controller.js'
import { WEBHOOK_HANDLER, webhookHandler } from '../events/webhooks.js'
import { RetentionSweeper } from '../events/retention.js'
import { DirectoryActivity } from '../events/status.js'
import { DsyncMetrics } from '../events/metrics.js'
import { lifecycleRecorder, type LifecycleRecorder } from '../events/lifecycle.js'
import { deprovisionOf, guardController, guardWrite } from '../events/guard.js'
import { DeletedDirectoryPurger } from '../events/purge.js'
import type { AdminStore, NewEvent } from '../store/types.js'
import type { ScimBackend } from '../scim/backend.js'
import { TOKEN_GRACE, type AuthDirectory } from '../scim/auth.js'
import type { Directory, DirectorySyncController, Result, ScimEvent } from '../types.js'
import { Lanes, Mutex } from './confinement.js'
import { openCore } from './core.js'
import { buildController, directoryRetyper } from './controller.js'
import type { JacksonDirectorySync } from './jackson.js'
import { DirectoryCache } from './directory-cache.js'
import { JACKSON_HANDLER, jacksonEvent, mirrorEvent, resyncDirectory } from './mirror.js'
import { jacksonRowsOf } from './jackson-rows.js'

/** Lanes per registration where the database takes concurrent calls (PostgreSQL, MySQL, Redis, mem). */
const PARALLEL_LANES = 4
/** Lanes for the plugin's own writes (one directory's writes are serial; the store's pool has 4 connections). */
const WRITE_LANES = 4

export interface Engine {
  /** Everything but `requests`, which the SCIM layer answers, and the setup links, built on the directories as served. */
  controller: Omit<DirectorySyncController, 'requests' | 'setupLinks'>
  /** Setup links and token grace periods. */
  admin: AdminStore
  /** Changes a directory's type (a setup link's provider picked again). */
  retype: (id: string, type: string) => Promise<Result<Directory>>
  backend: ScimBackend
  /** A directory for authenticating SCIM requests: cached briefly (see directory-cache.ts). */
  directory(id: string): Promise<Result<Directory>>
  /** Where the SCIM routes note each directory's last request (for directories.status). */
  activity: DirectoryActivity
  /** undefined: metrics are off. */
  metrics: DsyncMetrics | undefined
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
    // With a rotated token's grace period, if one is running (read only when the directory is).
    const directories = new DirectoryCache(async (id): Promise<Result<AuthDirectory>> => {
      const found = await run(id, (set) => set.directories.get(id))
      if (found.error !== null) return found
      const grace = await opened.admin.grace(id)
      return grace === null || grace.until <= Date.now() ? found : { data: { ...found.data, [TOKEN_GRACE]: grace }, error: null }
    }, DIRECTORY_TTL_MS)
    // A directory's first SCIM request seen here is noted on its setup link, if it has one (admin/setup-links.ts).
    const activity = new DirectoryActivity(undefined, (id, at) => {
      opened.admin.markFirstRequest(id, at).catch((err) => log.warn({ err, directoryId: id }, 'could not note a directory\'s first SCIM request'))
    })
    // A lifecycle event is handed to the dispatcher at once (no response waits for it).
    const recordLifecycle = lifecycleRecorder(opened)
    const record: LifecycleRecorder = async (directory, type, previous) => {
      const seq = await recordLifecycle(directory, type, previous)
      dispatcher.deliver(directory.id, seq).catch(() => {}) // what this misses, the poller delivers
      if (type === 'dsync.deleted') purger.deleted(directory.id)
      return seq
    }
    const controller = buildController({
      run,
      providers: sets[0].providers(),
      store: opened.resources,
      queue: opened.events,
      admin: opened.admin,
      pageLimit: database.options.pageLimit as number,
      cache: directories,
      record,
      activity,
      guarded: options.guard !== undefined
    })

    const metrics = options.metrics === undefined ? undefined : new DsyncMetrics(options.metrics)
    const eventsLog = log.child({ component: 'events' })
    const dispatcher = new Dispatcher(opened.events, options.events, eventsLog, metrics, options.guard !== undefined)
    // jackson's copy is kept from the queue too, so that a crash after a commit cannot leave it behind;
    // nothing on the wire or in the controller reads it, so no response waits for it. The guard does not hold it.
    // Off with jacksonCopy: false, for hosts that never read jackson's own APIs (resync rebuilds it on demand).
    // On SQL it is written as rows of jackson's tables, a drained batch in one transaction (jackson-rows.ts);
    // one event at a time through jackson's API where a batch fails (to find the bad one) and on Redis.
    if (options.jacksonCopy) {
      const tables = opened.jacksonTables
      const encryptionKey = database.db.encryptionKey
      dispatcher.add(JACKSON_HANDLER, (event) => run(event.directory_id, (set) => mirrorEvent(set, event)), {
        awaited: false,
        usesDatabase: true,
        runBatch: tables === undefined ? undefined : (events) => run(events[0].directory_id, () => tables.apply(jacksonRowsOf(events, encryptionKey)))
      })
    }
    hooks.each((hook) => dispatcher.add(hook.key, hook.run, { awaited: true, from: hook.from, lifecycle: hook.lifecycle, held: true }))
    // Lifecycle events only when the host asked for them: receivers written for jackson's eight event types may refuse others.
    const deletedWebhook = async (id: string) => (await opened.events.directoryState(id)).deleted?.webhook
    dispatcher.add(WEBHOOK_HANDLER, webhookHandler((id) => directories.get(id), deletedWebhook, options.events.webhookTimeout),
      { awaited: false, lifecycle: options.events.lifecycleWebhooks, held: true })
    await dispatcher.start()
    const retention = new RetentionSweeper(opened.events, options.events, eventsLog)
    retention.start()
    const inWrite = <T>(directoryId: string, fn: () => Promise<T>) => writes.run(writeKey(directoryId), fn)
    const purger = new DeletedDirectoryPurger(opened.events, opened.resources, options.events, () => dispatcher.handlerKeys(), inWrite, eventsLog)
    purger.start()

    // A write's events (the array the operation passes on to deliver) → the number of the last of them.
    const lastSeqOf = new WeakMap<ScimEvent[], number>()
    const backend: ScimBackend = {
      store: opened.resources,
      // The directory's lane orders its writes in this process; the transaction (and its directory lock)
      // across processes. The change and its events are stored together; jackson's copy follows from the events.
      write: (directory, fn, writeOptions) => writes.run(writeKey(directory.id), async () => {
        const written = dispatcher.writing(directory.id)
        const { outcome, events, tripped, recorded } = await opened.atomically(directory.id, async (scope) => {
          const outcome = await fn(scope.resources)
          const created = Date.now()
          const events: ScimEvent[] = outcome.changes.map((change) => ({
            ...jacksonEvent(directory, change), id: randomUUID(), created: new Date(created).toISOString()
          }))
          let recording: NewEvent[] = events.map((event) => {
            const payload = event as unknown as Record<string, unknown>
            return { id: event.id, payload, createdAt: created, deprovision: deprovisionOf(payload) }
          })
          // The guard counts this write's deprovisions with the directory's earlier ones (guard.ts).
          if (options.guard !== undefined) recording = await guardWrite(options.guard, scope, directory, recording, created)
          const recorded = await scope.record(recording)
          if (recorded.length > 0) {
            lastSeqOf.set(events, recorded[recorded.length - 1].seq)
            dispatcher.recording(directory.id, recorded[recorded.length - 1].seq)
          }
          return { outcome, events, tripped: recording.length > events.length, recorded }
          // The guard reads and writes the directory's state in the write: not a single statement.
        }, options.guard === undefined ? writeOptions : undefined).finally(written)
        // Committed: the hooks take them from memory (dispatcher.offer).
        dispatcher.offer(directory.id, recorded)
        if (tripped) eventsLog.warn({ directoryId: directory.id }, 'deprovisioning guard tripped: the directory\'s events are held until guard.release')
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
        metrics: metrics?.registry ?? null,
        resync: async (directoryId) => {
          const found = await directories.get(directoryId)
          if (found.error !== null) return found
          return { data: await run(directoryId, (set) => resyncDirectory(set, found.data, opened.resources)), error: null }
        },
        events: eventsController(opened.events, dispatcher, options.guard !== undefined),
        guard: guardController(opened, options.guard, directories, inWrite, dispatcher, eventsLog)
      },
      admin: opened.admin,
      retype: directoryRetyper({ run, providers: sets[0].providers(), cache: directories, record }),
      backend,
      directory: (id) => directories.get(id),
      activity,
      metrics,
      async close () {
        if (closed) return
        closed = true
        await retention.close()
        await purger.close()
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
