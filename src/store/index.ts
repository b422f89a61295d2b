// Opens the storage for the database the plugin was given: the resource store and the event queue.
import type { JacksonOptions } from '../engine/jackson.js'
import { MemoryEventQueue } from './memory-events.js'
import { openMemoryStore } from './memory.js'
import { openRedisStore } from './redis.js'
import { openSqlStorage, openSqlStore, type SerialLock } from './sql.js'
import type { ResourceStore, Storage } from './types.js'

/** The resource store alone (the store contract's tests). */
export async function openStore (db: JacksonOptions['db']): Promise<ResourceStore> {
  if (db.engine === 'sql') return openSqlStore({ type: db.type, url: db.url, ssl: db.ssl })
  if (db.engine === 'redis') return openRedisStore(db.url)
  return openMemoryStore()
}

// mem registrations of one process share one store, as jackson's mem engine does: so do their events.
const memoryQueueKey = Symbol.for('fastify-directory-sync.memory-events')

/** `serialLock`: on sqlite, the lock every jackson call takes (the queue's writes must take it too). */
export async function openStorage (db: JacksonOptions['db'], serialLock?: SerialLock): Promise<Storage> {
  if (db.engine === 'sql') return openSqlStorage({ type: db.type, url: db.url, ssl: db.ssl }, serialLock)
  const resources = db.engine === 'redis' ? await openRedisStore(db.url) : openMemoryStore()
  const events: MemoryEventQueue = db.engine === 'redis'
    ? new MemoryEventQueue()
    : ((globalThis as any)[memoryQueueKey] ??= new MemoryEventQueue())
  return {
    resources,
    events,
    durable: false,
    concurrentWrites: false,
    atomically: (_directoryId, fn) => fn({ resources, record: async (directoryId, recorded) => events.record(directoryId, recorded) }),
    close: () => resources.close()
  }
}

export * from './types.js'
