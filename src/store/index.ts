// Opens the storage for the database the plugin was given: the resource store and the event queue.
import type { DbOptions } from '../options.js'
import { createClient } from 'redis'
import { MemoryEventQueue } from './memory-events.js'
import { openMemoryStore } from './memory.js'
import { pendingMigrationsOf, runMigrations, type Migration, type MigrationLogger, type MigrationTarget } from './migrations.js'
import { redisMigrationTarget } from './redis-migrations.js'
import { openRedisStore } from './redis.js'
import { openSqlClient } from './sql-client.js'
import { sqlMigrationTarget, tableExists } from './sql-migrations.js'
import { openSqlStorage, openSqlStore, type SerialLock } from './sql.js'
import type { ResourceStore, Storage } from './types.js'

/** The resource store alone (the store contract's tests). `log`: where the migrations warn. */
export async function openStore (db: DbOptions, log?: MigrationLogger): Promise<ResourceStore> {
  if (db.engine === 'sql') return openSqlStore({ type: db.type, url: db.url, ssl: db.ssl }, log)
  if (db.engine === 'redis') return openRedisStore(db.url, log)
  return openMemoryStore()
}

/** The migrations `db` lacks, in order, without applying any (none on mem). Opening the storage applies them. */
export function pendingMigrations (db: DbOptions): Promise<Migration[]> {
  return withMigrationTarget(db, pendingMigrationsOf)
}

/** Applies the migrations `db` lacks; answers those applied (none: it was up to date). */
export function migrate (db: DbOptions, log?: MigrationLogger): Promise<Migration[]> {
  return withMigrationTarget(db, (target) => runMigrations(target, log))
}

async function withMigrationTarget<T> (db: DbOptions, fn: (target: MigrationTarget) => Promise<T[]>): Promise<T[]> {
  if (db.engine === 'sql') {
    const client = openSqlClient({ type: db.type, url: db.url, ssl: db.ssl })
    try {
      return await fn(sqlMigrationTarget(client))
    } finally {
      await client.close()
    }
  }
  if (db.engine === 'redis') {
    const client = createClient({ url: db.url, disableOfflineQueue: true, socket: { reconnectStrategy: false } })
    client.on('error', () => {}) // the command that fails reports it
    await client.connect()
    try {
      return await fn(redisMigrationTarget(client))
    } finally {
      await client.quit().catch(() => client.disconnect())
    }
  }
  return []
}

/**
 * What an SQL `db` lacks before it may be used without creating anything (db.manualMigration): those
 * of `tables` (another component's, named by the caller) that do not exist, and the plugin's pending
 * migrations, each named. Empty when nothing is missing.
 */
export async function missingSchema (db: Extract<DbOptions, { engine: 'sql' }>, tables: string[]): Promise<string[]> {
  const client = openSqlClient({ type: db.type, url: db.url, ssl: db.ssl })
  const missing: string[] = []
  try {
    for (const table of tables) if (!await tableExists(client, table)) missing.push(`the table ${table}`)
    for (const migration of await pendingMigrationsOf(sqlMigrationTarget(client))) missing.push(`migration ${migration.version} (${migration.name})`)
  } finally {
    await client.close()
  }
  return missing
}

// mem registrations of one process share one store, as jackson's mem engine does: so do their events.
const memoryQueueKey = Symbol.for('fastify-directory-sync.memory-events')

/**
 * `db` with a resolved sqlite path. `serialLock`: on sqlite, the lock every writer to the file takes (see
 * sql.ts). `log`: where the migrations, applied first, warn (process warnings without it).
 */
export async function openStorage (db: DbOptions, serialLock?: SerialLock, log?: MigrationLogger): Promise<Storage> {
  if (db.engine === 'sql') return openSqlStorage({ type: db.type, url: db.url, ssl: db.ssl }, serialLock, log)
  const resources = db.engine === 'redis' ? await openRedisStore(db.url, log) : openMemoryStore()
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
export { MIGRATIONS, type AppliedMigration, type Migration, type MigrationLogger } from './migrations.js'
