// Opens the storage for the database the plugin was given: the resource store and the event queue.
import type { DbOptions } from '../options.js'
import { codecOf } from './codec.js'
import { ensureEncryption, pendingEncryption, type EncryptionTarget } from './encryption.js'
import { redisEncryptionTarget } from './redis-encryption.js'
import { sqlEncryptionTarget } from './sql-encryption.js'
import { loadRedis } from './drivers.js'
import { MemoryEventQueue } from './memory-events.js'
import { MemoryAdminStore } from './memory-admin.js'
import { openMemoryStore } from './memory.js'
import { pendingMigrationsOf, runMigrations, type Migration, type MigrationLogger, type MigrationTarget } from './migrations.js'
import { redisMigrationTarget } from './redis-migrations.js'
import { openRedisStore } from './redis.js'
import { openRedisStorage } from './redis-transaction.js'
import { openSqlClient } from './sql-client.js'
import { sqlMigrationTarget, tableExists } from './sql-migrations.js'
import { openSqlStorage, openSqlStore, type SerialLock } from './sql.js'
import type { ResourceStore, Storage } from './types.js'

/** The resource store alone (the store contract's tests). `log`: where the migrations warn. */
export async function openStore (db: DbOptions, log?: MigrationLogger): Promise<ResourceStore> {
  const codec = codecOf(db)
  if (db.engine === 'sql') return openSqlStore({ type: db.type, url: db.url, ssl: db.ssl }, { log, codec })
  if (db.engine === 'redis') return openRedisStore(db.url, { log, codec })
  return openMemoryStore()
}

/** The migrations `db` lacks, in order, without applying any (none on mem). Opening the storage applies them. */
export function pendingMigrations (db: DbOptions): Promise<Migration[]> {
  return withTargets(db, ({ migrations }) => pendingMigrationsOf(migrations), [])
}

/**
 * Applies the migrations `db` lacks, then (with an encryptionKey) checks the key and encrypts what was
 * stored before it (encryption.ts); answers the migrations applied (none: it was up to date).
 */
export function migrate (db: DbOptions, log?: MigrationLogger): Promise<Migration[]> {
  return withTargets(db, async ({ migrations, encryption }) => {
    const applied = await runMigrations(migrations, log)
    await ensureEncryption(encryption, codecOf(db), { log })
    return applied
  }, [])
}

/** What the migrations and the encryption check see of one database, on a connection of their own. */
interface Targets { migrations: MigrationTarget, encryption: EncryptionTarget }

async function withTargets<T> (db: DbOptions, fn: (targets: Targets) => Promise<T>, onMem: T): Promise<T> {
  if (db.engine === 'sql') {
    const client = openSqlClient({ type: db.type, url: db.url, ssl: db.ssl })
    try {
      return await fn({ migrations: sqlMigrationTarget(client), encryption: sqlEncryptionTarget(client) })
    } finally {
      await client.close()
    }
  }
  if (db.engine === 'redis') {
    const { createClient } = await loadRedis()
    const client = createClient({ url: db.url, disableOfflineQueue: true, socket: { reconnectStrategy: false } })
    client.on('error', () => {}) // the command that fails reports it
    await client.connect()
    try {
      return await fn({ migrations: redisMigrationTarget(client), encryption: redisEncryptionTarget(client) })
    } finally {
      await client.quit().catch(() => client.disconnect())
    }
  }
  return onMem
}

/**
 * What an SQL `db` lacks before it may be used without creating anything (db.manualMigration): those
 * of `tables` (another component's, named by the caller) that do not exist, the plugin's pending
 * migrations, and the encryption of data stored before an encryptionKey was set, each named. Empty
 * when nothing is missing. Throws as registration would on a wrong or missing key.
 */
export async function missingSchema (db: Extract<DbOptions, { engine: 'sql' }>, tables: string[]): Promise<string[]> {
  const client = openSqlClient({ type: db.type, url: db.url, ssl: db.ssl })
  const missing: string[] = []
  try {
    for (const table of tables) if (!await tableExists(client, table)) missing.push(`the table ${table}`)
    const pending = await pendingMigrationsOf(sqlMigrationTarget(client))
    for (const migration of pending) missing.push(`migration ${migration.version} (${migration.name})`)
    // The encryption state lives in migration 3's table.
    if (!pending.some((m) => m.version <= 3)) {
      const encryption = await pendingEncryption(sqlEncryptionTarget(client), codecOf(db))
      if (encryption !== null) missing.push(encryption)
    }
  } finally {
    await client.close()
  }
  return missing
}

// mem registrations of one process share one store, as jackson's mem engine does: so do their events.
const memoryQueueKey = Symbol.for('fastify-directory-sync.memory-events')
const memoryAdminKey = Symbol.for('fastify-directory-sync.memory-admin')

/**
 * `db` with a resolved sqlite path. `serialLock`: on sqlite, the lock every writer to the file takes (see
 * sql.ts). `log`: where the migrations, applied first, warn (process warnings without it).
 */
export async function openStorage (db: DbOptions, serialLock?: SerialLock, log?: MigrationLogger): Promise<Storage> {
  const codec = codecOf(db)
  if (db.engine === 'sql') return openSqlStorage({ type: db.type, url: db.url, ssl: db.ssl }, { serialLock, log, codec })
  if (db.engine === 'redis') return openRedisStorage(db.url, { log, codec })
  const resources = openMemoryStore()
  const events: MemoryEventQueue = (globalThis as any)[memoryQueueKey] ??= new MemoryEventQueue()
  return {
    resources,
    events,
    admin: ((globalThis as any)[memoryAdminKey] ??= new MemoryAdminStore()),
    concurrentWrites: false,
    atomically: (directoryId, fn) => fn({ resources, record: async (recorded) => events.record(directoryId, recorded), ...events.scope(directoryId) }),
    close: () => resources.close()
  }
}

export * from './types.js'
export { MIGRATIONS, type AppliedMigration, type Migration, type MigrationLogger } from './migrations.js'
