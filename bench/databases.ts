// The databases of one engine's section: fresh sqlite files in a temporary folder, or fresh PostgreSQL
// databases (dropped and created), one for the plugin and one that raw jackson's two references share.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'

export type Engine = 'sqlite' | 'postgres'

export interface Db { engine: 'sql', type: 'sqlite' | 'postgres', url: string, encryptionKey?: string }

export interface Databases {
  plugin: Db
  /** The plugin with db.encryptionKey set (the encrypted variants of some scenarios). */
  encrypted: Db
  /** Express (c). */
  jackson: Db
  /**
   * In-process (a): a copy of (c)'s database taken after its initial sync on sqlite (two processes
   * writing one sqlite file through jackson lose each other's writes), (c)'s own on PostgreSQL.
   */
  inprocess: Db
  /** Something to say about the database server, for the report. */
  version: string
}

const PG = 'postgres://postgres@127.0.0.1:5432'
const NAMES = { plugin: 'dsync_bench_plugin', encrypted: 'dsync_bench_encrypted', jackson: 'dsync_bench_jackson' }
// A fixed key: the figures do not depend on its value.
const ENCRYPTION_KEY = 'bench-encryption-key-32-chars!!!'

export function sqliteFolder (): string {
  return mkdtempSync(join(tmpdir(), 'dsync-bench-'))
}

export async function prepare (engine: Engine, folder: string): Promise<Databases | string> {
  if (engine === 'sqlite') {
    const { default: Database } = await import('better-sqlite3')
    const version = (new Database(':memory:').prepare('select sqlite_version() as v').get() as { v: string }).v
    return {
      plugin: { engine: 'sql', type: 'sqlite', url: join(folder, 'plugin.db') },
      encrypted: { engine: 'sql', type: 'sqlite', url: join(folder, 'encrypted.db'), encryptionKey: ENCRYPTION_KEY },
      jackson: { engine: 'sql', type: 'sqlite', url: join(folder, 'jackson.db') },
      inprocess: { engine: 'sql', type: 'sqlite', url: join(folder, 'inprocess.db') },
      version: `SQLite ${version} (better-sqlite3)`
    }
  }
  const client = new pg.Client({ connectionString: `${PG}/postgres`, connectionTimeoutMillis: 2000 })
  try {
    await client.connect()
  } catch (err) {
    return `PostgreSQL does not answer on 127.0.0.1:5432 (${(err as Error).message})`
  }
  try {
    for (const name of Object.values(NAMES)) {
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await client.query(`CREATE DATABASE ${name}`)
    }
    const { rows } = await client.query<{ v: string }>("SELECT current_setting('server_version') AS v")
    return {
      plugin: { engine: 'sql', type: 'postgres', url: `${PG}/${NAMES.plugin}` },
      encrypted: { engine: 'sql', type: 'postgres', url: `${PG}/${NAMES.encrypted}`, encryptionKey: ENCRYPTION_KEY },
      jackson: { engine: 'sql', type: 'postgres', url: `${PG}/${NAMES.jackson}` },
      inprocess: { engine: 'sql', type: 'postgres', url: `${PG}/${NAMES.jackson}` },
      version: `PostgreSQL ${rows[0].v}`
    }
  } finally {
    await client.end()
  }
}

/** Gives (a) its own sqlite database: an online backup of (c)'s, which sees only what (c) committed. */
export async function copyForInProcess (dbs: Databases): Promise<void> {
  if (dbs.inprocess.url === dbs.jackson.url) return
  const { default: Database } = await import('better-sqlite3')
  const source = new Database(dbs.jackson.url, { readonly: true, fileMustExist: true })
  try {
    await source.backup(dbs.inprocess.url)
  } finally {
    source.close()
  }
}

/**
 * VACUUM ANALYZE of every database of the section. Without statistics PostgreSQL picks a poor index for
 * the plugin's lookups (measured at 11,000 users: a lookup by userName scanned the whole directory, 1.4
 * to 2.1 ms instead of 0.035 ms), so a server without autovacuum would measure something no production
 * server does. Both contenders' databases get the same treatment; sqlite plans without statistics.
 */
export async function vacuumAnalyze (dbs: Databases): Promise<void> {
  if (dbs.plugin.type !== 'postgres') return
  for (const db of new Set([dbs.plugin.url, dbs.encrypted.url, dbs.jackson.url, dbs.inprocess.url])) {
    const client = new pg.Client({ connectionString: db })
    await client.connect()
    try {
      await client.query('VACUUM ANALYZE')
    } finally {
      await client.end()
    }
  }
}

/** Stands in for autovacuum where the server runs without it: VACUUM ANALYZE every minute (its naptime). */
export function emulateAutovacuum (dbs: Databases, intervalMs = 60_000): () => Promise<void> {
  let running: Promise<void> = Promise.resolve()
  const timer = setInterval(() => {
    running = running.then(() => vacuumAnalyze(dbs)).catch((err) => { process.stderr.write(`autovacuum emulation: ${(err as Error).message}\n`) })
  }, intervalMs)
  timer.unref()
  return async () => {
    clearInterval(timer)
    await running
  }
}

/** Whether the server vacuums and analyses by itself (the report says so when it does not). */
export async function autovacuum (dbs: Databases): Promise<boolean | undefined> {
  if (dbs.plugin.type !== 'postgres') return undefined
  const client = new pg.Client({ connectionString: dbs.plugin.url })
  await client.connect()
  try {
    return (await client.query<{ on: string }>("SELECT current_setting('autovacuum') AS on")).rows[0].on === 'on'
  } finally {
    await client.end()
  }
}
