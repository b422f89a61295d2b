// Opens the storage for the database the plugin was given: the resource store and the event queue.
import type { DbOptions } from '../options.js'
import { MemoryEventQueue } from './memory-events.js'
import { openMemoryStore } from './memory.js'
import { openRedisStore } from './redis.js'
import { openSqlStorage, openSqlStore, type SerialLock } from './sql.js'
import type { ResourceStore, Storage } from './types.js'

/** The resource store alone (the store contract's tests). */
export async function openStore (db: DbOptions): Promise<ResourceStore> {
  if (db.engine === 'sql') return openSqlStore({ type: db.type, url: db.url, ssl: db.ssl })
  if (db.engine === 'redis') return openRedisStore(db.url)
  return openMemoryStore()
}

// mem registrations of one process share one store, as jackson's mem engine does: so do their events.
const memoryQueueKey = Symbol.for('fastify-directory-sync.memory-events')

/** `db` with a resolved sqlite path. `serialLock`: on sqlite, the lock every writer to the file takes (see sql.ts). */
export async function openStorage (db: DbOptions, serialLock?: SerialLock): Promise<Storage> {
  if (db.engine === 'sql') return openSqlStorage({ type: db.type, url: db.url, ssl: db.ssl }, serialLock)
  const resources = db.engine === 'redis' ? await openRedisStore(db.url) : openMemoryStore()
  const events: MemoryEventQueue = db.engine === 'redis'
    ? new MemoryEventQueue()
    : ((globalThis as any)[memoryQueueKey] ??= new MemoryEventQueue())
  return {
    resources,
    events,
    concurrentWrites: false,
    atomically: (directoryId, fn) => fn({ resources, record: async (recorded) => events.record(directoryId, recorded) }),
    close: () => resources.close()
  }
}

export * from './types.js'
