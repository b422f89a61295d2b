// What every user of the engine opens first, the plugin and the command line alike: the database
// (shared per process), jackson's directory-sync objects in confined lanes, the plugin's storage
// (migrations applied, the encryption key checked), and the controller's directory, user and group
// reads and writes over them. Delivery (the dispatcher, hooks, webhooks, jackson's copy) is the
// plugin's alone: engine/index.ts adds it.
import type { FastifyBaseLogger } from 'fastify'
import { ClosedError, MigrationPendingError } from '../errors.js'
import type { ResolvedOptions } from '../options.js'
import { missingSchema, openStorage, type Storage } from '../store/index.js'
import { Lanes, Mutex } from './confinement.js'
import { acquireDatabase, type DatabaseLease } from './database.js'
import { createDirectorySync, JACKSON_TABLES, type JacksonDirectorySync, type JacksonOptions } from './jackson.js'
import { jacksonLogger } from './logging.js'

export type CoreOptions = Pick<ResolvedOptions, 'db' | 'externalUrl' | 'samlPath' | 'scimPath' | 'connectTimeout'>

export interface Core {
  lease: DatabaseLease
  sets: JacksonDirectorySync[]
  lanes: Lanes<JacksonDirectorySync>
  storage: Storage
  /** Runs `fn` on the lane of `key` (a directory id; undefined: any lane); refused once closed. */
  run<R>(key: string | undefined, fn: (set: JacksonDirectorySync) => Promise<R>): Promise<R>
  /** Stops taking calls, waits for those running, closes the storage and releases the database. */
  close(): Promise<void>
}

/** `lanes`: how many sets of jackson's objects, where the database takes concurrent calls (sqlite: always 1). */
export async function openCore (options: CoreOptions, log: FastifyBaseLogger, lanes: number): Promise<Core> {
  const lease = await acquireDatabase(options.db, log, options.connectTimeout)
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
    const count = database.serialLock ? 1 : lanes
    const sets: JacksonDirectorySync[] = []
    for (let i = 0; i < count; i++) sets.push(await createDirectorySync(database.db, opts))
    const confined = new Lanes(sets, sets.map(() => database.serialLock ?? new Mutex()))
    // db.manualMigration: the plugin creates nothing; what is missing is named (npm run migrate applies it).
    if (database.options.engine === 'sql' && database.options.manualMigration === true) {
      const missing = await missingSchema(database.options, JACKSON_TABLES)
      if (missing.length > 0) throw new MigrationPendingError(missing.join(', '))
    }
    const storage = await openStorage(database.options, database.serialLock, log.child({ component: 'migrations' }))
    let closed = false
    return {
      lease,
      sets,
      lanes: confined,
      storage,
      run: (key, fn) => closed ? Promise.reject(new ClosedError()) : confined.run(key, fn),
      async close () {
        closed = true
        await confined.idle()
        await storage.close()
        await lease.release()
      }
    }
  } catch (err) {
    await lease.release()
    throw err
  }
}
