// The process-wide registry of open databases. Registrations on the same database share one connection
// (counted: the last one to close closes it); a closed database is reopened fresh by the next
// registration. The registry lives on globalThis so that the ESM and CommonJS builds of this package,
// if both are loaded in one process, still share it.
import { resolve } from 'node:path'
import type { FastifyBaseLogger } from 'fastify'
import { DatabaseConflictError, DatabaseUnreachableError } from '../errors.js'
import type { DbOptions } from '../options.js'
import { JACKSON_VERSION, type JacksonDb, type JacksonOptions, openJacksonDb } from './jackson.js'
import { jacksonLogger, redact, typeormLogger } from './logging.js'
import { Mutex } from './confinement.js'
import { describeDb, probeDatabase } from './probe.js'
import { jacksonSchemaIsCurrent, recordJacksonSchema, sqlJacksonDriver, type JacksonDriverOptions } from './jackson-driver.js'
import { isInMemorySqlite, openSqlClient } from '../store/sql-client.js'

export interface OpenDatabase {
  readonly options: JacksonOptions['db']
  readonly db: JacksonDb
  /** Set where the database takes one call at a time: a sqlite connection cannot interleave transactions. */
  readonly serialLock: Mutex | undefined
}

interface Entry {
  identity: string
  settings: Record<string, string>
  refs: number
  opening: Promise<OpenDatabase>
}

const registryKey = Symbol.for('fastify-directory-sync.databases')
const registry: Map<string, Entry> = ((globalThis as any)[registryKey] ??= new Map())

/** jackson's defaults for `db` (dist/db/defaultDb.js), applied here because its entry point is not used. */
export function withDefaults (db: DbOptions): JacksonOptions['db'] {
  const filled: JacksonOptions['db'] = { manualMigration: false, ttl: 300, cleanupLimit: 1000, pageLimit: 50, ...db }
  if (filled.engine === 'sql' && filled.type === 'sqlite' && !isInMemorySqlite(filled.url)) filled.url = resolve(filled.url)
  return filled
}

// Which database this is (shared when equal), and the settings every sharer must agree on.
function identify (db: JacksonOptions['db']): { identity: string, settings: Record<string, string> } {
  const { engine, url, type, ...rest } = db as Record<string, unknown>
  // mem has no address: every mem registration in a process shares one store, as jackson's global did.
  const identity = JSON.stringify([engine, type ?? null, url ?? null])
  const settings: Record<string, string> = {}
  for (const [key, value] of Object.entries(rest)) settings[key] = JSON.stringify(value)
  return { identity, settings }
}

export interface DatabaseLease {
  database: OpenDatabase
  release(): Promise<void>
}

export async function acquireDatabase (db: DbOptions, log: FastifyBaseLogger, timeoutMs: number): Promise<DatabaseLease> {
  const options = withDefaults(db)
  const { identity, settings } = identify(options)
  let entry = registry.get(identity)
  if (entry) {
    for (const key of new Set([...Object.keys(settings), ...Object.keys(entry.settings)])) {
      if (settings[key] !== entry.settings[key]) throw new DatabaseConflictError(redact(identity), key)
    }
  } else {
    entry = { identity, settings, refs: 0, opening: open(options, log, timeoutMs) }
    registry.set(identity, entry)
  }
  entry.refs++
  const held = entry
  try {
    const database = await held.opening
    let released = false
    return {
      database,
      release: async () => {
        if (released) return
        released = true
        await releaseEntry(held)
      }
    }
  } catch (err) {
    held.refs--
    if (registry.get(identity) === held) registry.delete(identity)
    throw err
  }
}

async function releaseEntry (entry: Entry): Promise<void> {
  entry.refs--
  if (entry.refs > 0) return
  if (registry.get(entry.identity) === entry) registry.delete(entry.identity)
  const { db } = await entry.opening
  await closeJacksonDb(db)
}

async function open (options: JacksonOptions['db'], log: FastifyBaseLogger, timeoutMs: number): Promise<OpenDatabase> {
  const started = Date.now()
  await probeDatabase(options, timeoutMs)
  const logger = log.child({ component: 'jackson' })
  const opening = openJackson(options, logger)
  // The probe answered, so jackson should connect at once; if it still hangs (say, its schema
  // synchronisation keeps failing), fail registration rather than wait on a loop that never ends.
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new DatabaseUnreachableError(describeDb(options), timeoutMs, 'jackson could not initialise it')), Math.max(timeoutMs - (Date.now() - started), 1000))
    timer.unref()
  })
  let db: JacksonDb
  try {
    db = await Promise.race([opening, deadline])
  } finally {
    clearTimeout(timer)
  }
  // Where jackson keeps its own typeorm driver (an in-memory sqlite database): its failed queries are
  // logged without their parameters (stored records), never to the console.
  if (db.db.dataSource) db.db.dataSource.logger = typeormLogger(logger)
  const serialLock = options.engine === 'sql' && options.type === 'sqlite' ? new Mutex() : undefined
  return { options, db, serialLock }
}

// On the SQL engines jackson's store is served by the plugin's own client (jackson-driver.ts). jackson's
// typeorm driver is built only to create or update jackson's tables (its synchronize), where this
// version of jackson has not yet done so on this database, and closed again at once; with
// manualMigration it is never built here (the `migrate` command does it). An in-memory sqlite database
// exists only on the connection that made it, so there jackson keeps its own driver, tables and all.
async function openJackson (options: JacksonOptions['db'], logger: FastifyBaseLogger): Promise<JacksonDb> {
  const log = jacksonLogger(logger)
  if (options.engine !== 'sql' || (options.type === 'sqlite' && isInMemorySqlite(options.url))) return openJacksonDb(options, log)
  const client = openSqlClient({ type: options.type, url: options.url, ssl: options.ssl })
  try {
    const version = JACKSON_VERSION
    if (options.manualMigration !== true && (version === null || !await jacksonSchemaIsCurrent(client, version))) {
      await closeJacksonDb(await openJacksonDb(options, log))
      if (version !== null) await recordJacksonSchema(client, version)
    }
  } catch (err) {
    await client.close()
    throw err
  }
  const { pageLimit, ttl, cleanupLimit } = options as JacksonDriverOptions
  return openJacksonDb({ ...options, driver: sqlJacksonDriver(client, { pageLimit, ttl, cleanupLimit, log }) }, log)
}

async function closeJacksonDb (db: JacksonDb): Promise<void> {
  // The mem engine's close() is a no-op that leaves its TTL clean-up timer running.
  if (db.db.timerId) clearTimeout(db.db.timerId)
  await db.close()
}
