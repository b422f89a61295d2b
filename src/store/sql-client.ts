// One small query interface over the three SQL drivers jackson already brings (better-sqlite3, pg,
// mysql2), so that the store's SQL is written once. Placeholders are `?` everywhere; PostgreSQL's `$n`
// are produced here. The store opens its own connection: jackson's typeorm connection is not reachable
// through any public API, and sharing it would tie the plugin to typeorm's internals.
import { createHash } from 'node:crypto'
import Database from 'better-sqlite3'
import type pg from 'pg'
import type mysql from 'mysql2/promise'
import { loadMysql, loadPg, onFirstUse } from './drivers.js'
import { Mutex } from '../engine/confinement.js'
import { asUnavailable, isUnavailable } from './outage.js'

export type Dialect = 'sqlite' | 'postgres' | 'mysql'

export interface Query {
  <T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: T[], changes: number }>
}

export interface SqlClient {
  readonly dialect: Dialect
  query: Query
  /**
   * Runs `fn` in one transaction on one connection; rolls back if it throws. A transaction the database
   * gave up as a deadlock victim (or on a lock wait timeout) is run again from the start, a few times:
   * `fn` must compute everything it writes from what it reads in the transaction.
   */
  transaction<T>(fn: (query: Query) => Promise<T>): Promise<T>
  /** Whether an error is a unique-constraint violation. */
  isUniqueViolation(err: unknown): boolean
  close(): Promise<void>
}

export interface SqlConnection {
  type: 'sqlite' | 'postgres' | 'mysql' | 'mariadb'
  url: string
  ssl?: unknown
  /**
   * PostgreSQL: commit without waiting for the disk (synchronous_commit off). For bookkeeping whose
   * loss in a crash only repeats work (delivery cursors: an event is then delivered again).
   */
  asyncCommit?: boolean
}

// Writes take at most 4 connections at once (engine/index.ts WRITE_LANES); reads and delivery share the rest.
const POOL_SIZE = 8

/** How the store reaches the database: the client itself, or one transaction of it. */
export interface Executor {
  dialect: Dialect
  query: Query
  /** A transaction; inside one, it simply runs `fn` on the same transaction. */
  transaction<T>(fn: (query: Query) => Promise<T>): Promise<T>
  isUniqueViolation(err: unknown): boolean
  /** Inside a transaction, reads of a row about to be rewritten lock it (PostgreSQL, MySQL). */
  inTransaction: boolean
}

/**
 * The most bound parameters one statement may carry; a multi-row statement is cut into chunks under it
 * (chunked()), all sent in the one transaction of the write:
 * - sqlite: SQLITE_MAX_VARIABLE_NUMBER, 32,766 since SQLite 3.32 (better-sqlite3 keeps the default);
 * - PostgreSQL: the wire protocol counts a statement's parameters in 16 bits, so 65,535;
 * - MySQL/MariaDB: 65,535 placeholders in a prepared statement. mysql2's query() fills the values in on
 *   the client, so there the statement's size (MAX_STATEMENT_BYTES) is usually what binds first.
 */
export const MAX_PARAMETERS: Readonly<Record<Dialect, number>> = { sqlite: 32_766, postgres: 65_535, mysql: 65_535 }

/**
 * The most bytes of values one multi-row statement carries (where the caller counts them): MySQL and
 * MariaDB refuse a statement larger than max_allowed_packet (16 MiB by default on MariaDB, 64 MiB on
 * MySQL 8, 4 MiB on older servers). Event payloads are what can grow that large.
 */
export const MAX_STATEMENT_BYTES = 4 * 1024 * 1024

/**
 * `rows` in runs that each fit one statement: at most MAX_PARAMETERS of the dialect (`perRow` a row,
 * plus `fixed` once), and at most MAX_STATEMENT_BYTES by `bytes` (one row alone always makes a run).
 */
export function chunked<T> (dialect: Dialect, rows: T[], { perRow, fixed = 0, bytes }: { perRow: number, fixed?: number, bytes?: (row: T) => number }): T[][] {
  const most = Math.floor((MAX_PARAMETERS[dialect] - fixed) / perRow)
  const runs: T[][] = []
  let run: T[] = []
  let size = 0
  for (const row of rows) {
    const rowBytes = bytes === undefined ? 0 : bytes(row)
    if (run.length > 0 && (run.length >= most || size + rowBytes > MAX_STATEMENT_BYTES)) {
      runs.push(run)
      run = []
      size = 0
    }
    run.push(row)
    size += rowBytes
  }
  if (run.length > 0) runs.push(run)
  return runs
}

/** `?, ?, ?` for `n` values. */
export const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(', ')

/** Attempts of a transaction that lost a deadlock or a lock wait (see retried()). */
const TRANSACTION_ATTEMPTS = 5

/**
 * Runs `attempt` (one whole transaction: begin, fn, commit, or rollback) again when the database gave
 * it up as a deadlock victim or a lock wait timeout, at most TRANSACTION_ATTEMPTS times, after a short
 * jittered pause (so that the same two writes do not collide again at once). Running `fn` again is
 * safe: it gets a fresh transaction, and every transaction of the store computes its writes from what
 * it reads inside it (the store's own, and the engine's writes, whose SCIM operation reads the resource,
 * derives the change and its events, and keeps nothing from a failed attempt).
 */
async function retried<T> (transient: (err: unknown) => boolean, attempt: () => Promise<T>): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt()
    } catch (err) {
      if (n >= TRANSACTION_ATTEMPTS || !transient(err)) throw err
      const ceiling = 10 * 2 ** n // 20, 40, 80, 160 ms
      await new Promise((resolve) => setTimeout(resolve, ceiling / 2 + Math.random() * ceiling / 2))
    }
  }
}

/** An INSERT of `rows` rows (one by default) that skips the rows whose key is taken. */
export function insertIgnore (dialect: Dialect, table: string, columns: string[], rows = 1): string {
  const verb = { sqlite: 'INSERT OR IGNORE INTO', postgres: 'INSERT INTO', mysql: 'INSERT IGNORE INTO' }[dialect]
  const tail = dialect === 'postgres' ? ' ON CONFLICT DO NOTHING' : ''
  const row = `(${placeholders(columns.length)})`
  return `${verb} ${table} (${columns.join(', ')}) VALUES ${Array.from({ length: rows }, () => row).join(', ')}${tail}`
}

/** Whether a sqlite `url` names an in-memory database, which exists only on the connection that opens it. */
export const isInMemorySqlite = (url: string): boolean => url === ':memory:' || url === ''

export function openSqlClient (connection: SqlConnection): SqlClient {
  switch (connection.type) {
    case 'sqlite': return sqliteClient(connection.url)
    case 'postgres': return postgresClient(connection)
    default: return mysqlClient(connection.url)
  }
}

const CACHED_SQL_LENGTH = 4096

// better-sqlite3 is synchronous, but a transaction here spans `await`s: one lock keeps any other
// statement on this connection from landing inside an open transaction.
// Reads outside a transaction go to a second connection to the file and take no lock: in WAL mode a
// reader sees every committed write and never waits for a writer, so one directory's long write
// transaction (a 9,000-member change) does not hold back another directory's reads. A statement that
// writes (readonly false: INSERT … RETURNING reads rows too) always goes to the writer, under the lock.
function sqliteClient (file: string): SqlClient {
  const open = (path: string) => {
    const connection = new Database(path)
    connection.pragma('busy_timeout = 5000') // another process (the directory command) may hold the write lock briefly
    return connection
  }
  const db = open(file)
  db.pragma('journal_mode = WAL') // readers never block jackson's writer, nor the other way round
  // The file's only foreign key is jackson's (jackson_index.storeKey → jackson_store, ON DELETE CASCADE),
  // whose column has no index: enforced, every store row this connection deletes (jackson's copy,
  // sql-jackson.ts, which deletes the index rows itself) would scan the whole index table.
  // better-sqlite3 enforces foreign keys by default; the plugin's own tables declare none.
  db.pragma('foreign_keys = OFF')
  const reader = isInMemorySqlite(file) ? db : open(file)
  const lock = new Mutex()
  const prepared = (connection: Database.Database, cache: Map<string, Database.Statement>, sql: string) => {
    let statement = cache.get(sql)
    if (statement === undefined) {
      statement = connection.prepare(sql)
      // Long statements are the chunks of multi-row writes, whose row count varies: kept, every size
      // would hold its memory for ever. Short ones (the rest) are few and come back.
      if (sql.length <= CACHED_SQL_LENGTH) cache.set(sql, statement)
    }
    return statement
  }
  const execute = <T>(statement: Database.Statement, params: unknown[]) => statement.reader
    ? { rows: statement.all(...params) as T[], changes: 0 }
    : { rows: [] as T[], changes: statement.run(...params).changes }
  const writes = new Map<string, Database.Statement>()
  const reads = new Map<string, Database.Statement>()
  const run: Query = async <T>(sql: string, params: unknown[] = []) => execute<T>(prepared(db, writes, sql), params)
  return {
    dialect: 'sqlite',
    query: async (sql, params = []) => {
      if (reader !== db) {
        const statement = prepared(reader, reads, sql)
        if (statement.readonly) return execute(statement, params)
      }
      return lock.run(() => run(sql, params))
    },
    transaction: (fn) => lock.run(async () => {
      db.exec('BEGIN IMMEDIATE')
      try {
        const result = await fn(run)
        db.exec('COMMIT')
        return result
      } catch (err) {
        if (db.inTransaction) db.exec('ROLLBACK')
        throw err
      }
    }),
    isUniqueViolation: (err) => /^SQLITE_CONSTRAINT_(UNIQUE|PRIMARYKEY)$/.test((err as { code?: string })?.code ?? ''),
    close: async () => {
      await lock.idle()
      if (reader !== db) reader.close()
      db.close()
    }
  }
}

function numbered (sql: string): string {
  let n = 0
  return sql.replace(/\?/g, () => `$${++n}`)
}

/** One connection checked out of a driver's pool, as a transaction needs it. */
interface CheckedOut {
  query: Query
  begin(): Promise<unknown>
  commit(): Promise<unknown>
  rollback(): Promise<unknown>
  /** Listens to the connection's 'error' events; answers the function that stops listening. */
  listen(onError: () => void): () => void
  /** Gives the connection back to the pool, or (broken) closes it. */
  release(broken: boolean): void
}

/**
 * Runs `fn` in one transaction on a checked-out connection, on PostgreSQL and MySQL alike. A checked-out
 * connection has no listener of its pool's: one that ends between two of the transaction's statements
 * (a restart, pg_terminate_backend) would otherwise emit an unhandled 'error' event, which ends the
 * host's process; here the next statement reports it instead. A connection that failed (or timed out)
 * mid-transaction may still be inside it: it is closed, never given back to the pool.
 */
async function onConnection<T> (connection: CheckedOut, fn: (query: Query) => Promise<T>): Promise<T> {
  let broken = false
  const stop = connection.listen(() => { broken = true })
  try {
    await connection.begin()
    const result = await fn(connection.query)
    await connection.commit()
    return result
  } catch (err) {
    if (isUnavailable(err)) broken = true
    else await connection.rollback().catch(() => { broken = true })
    throw asUnavailable(err)
  } finally {
    stop()
    connection.release(broken)
  }
}

// deadlock_detected, serialization_failure (which READ COMMITTED does not raise, but a server whose
// default isolation is stricter does).
const isTransientPostgres = (err: unknown) => ['40P01', '40001'].includes((err as { code?: string })?.code ?? '')

// How long a request may wait for a connection, or for one statement, before the database counts as
// unavailable (503): during an outage nothing hangs longer than this.
const CONNECT_TIMEOUT_MS = 3000
const STATEMENT_TIMEOUT_MS = 15_000

// PostgreSQL parses and plans an unnamed statement at every call: most of a short write's server time.
// A statement the store sends again and again (its text at most CACHED_SQL_LENGTH: not the multi-row
// chunks, whose length varies) is named instead, so that each connection prepares it once (node-postgres
// keeps them per connection). Its plan may become generic after five calls; every lookup names its
// exact unique key, so the generic plan is the same index scan. At most PREPARED_NAMES texts are named.
const PREPARED_NAMES = 500
const statementNames = new Map<string, string>()
function prepared (sql: string, values: unknown[]): pg.QueryConfig {
  const text = numbered(sql)
  if (text.length > CACHED_SQL_LENGTH) return { text, values }
  let name = statementNames.get(text)
  if (name === undefined && statementNames.size < PREPARED_NAMES) {
    name = 'dsync_' + createHash('sha1').update(text).digest('hex').slice(0, 20)
    statementNames.set(text, name)
  }
  return name === undefined ? { text, values } : { name, text, values }
}

function postgresClient ({ url, ssl, asyncCommit }: SqlConnection): SqlClient {
  // The driver is loaded, and the pool made, on the first query (drivers.ts).
  const pool = onFirstUse(async () => {
    const { Pool } = await loadPg()
    const made = new Pool({
      connectionString: url,
      max: POOL_SIZE,
      ssl: ssl as pg.PoolConfig['ssl'],
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      query_timeout: STATEMENT_TIMEOUT_MS,
      ...(asyncCommit ? { options: '-c synchronous_commit=off' } : {})
    })
    made.on('error', () => {}) // an idle client's error: the pool drops it, and the next query reports it
    // And a client's own error between the moments a listener of the pool's or of a transaction's is on
    // it (a backend terminated as a restart does, seen once under load in CI): never an unhandled
    // 'error' event, which would end the host's process. A query in flight still gets the error.
    made.on('connect', (client) => { client.on('error', () => {}) })
    return made
  })
  const on = (client: pg.Pool | pg.PoolClient | (() => Promise<pg.Pool>)): Query => async <T>(sql: string, params: unknown[] = []) => {
    try {
      const result = await (typeof client === 'function' ? await client() : client).query(prepared(sql, params))
      return { rows: result.rows as T[], changes: result.rowCount ?? 0 }
    } catch (err) {
      throw asUnavailable(err)
    }
  }
  return {
    dialect: 'postgres',
    query: on(pool),
    transaction: (fn) => retried(isTransientPostgres, async () => {
      const client = await (await pool()).connect().catch((err) => { throw asUnavailable(err) })
      return onConnection({
        query: on(client),
        begin: () => client.query('BEGIN'),
        commit: () => client.query('COMMIT'),
        rollback: () => client.query('ROLLBACK'),
        listen: (onError) => { client.on('error', onError); return () => client.off('error', onError) },
        release: (broken) => client.release(broken) // true: the client is closed, not pooled
      }, fn)
    }),
    isUniqueViolation: (err) => (err as { code?: string })?.code === '23505',
    close: async () => { if (pool.started()) await (await pool()).end() }
  }
}

// Binary columns (exact comparison, see sql.ts) come back as Buffers: the store reads text.
function textOf (row: Record<string, unknown>): Record<string, unknown> {
  for (const [key, value] of Object.entries(row)) if (Buffer.isBuffer(value)) row[key] = value.toString('utf8')
  return row
}

// ER_LOCK_DEADLOCK (the transaction was rolled back), ER_LOCK_WAIT_TIMEOUT (its statement was; the
// rest is rolled back here).
const isTransientMysql = (err: unknown) => [1213, 1205].includes((err as { errno?: number })?.errno ?? 0)

function mysqlClient (url: string): SqlClient {
  const pool = onFirstUse(async () => (await loadMysql()).createPool({ uri: url.replace(/^mariadb:/, 'mysql:'), connectionLimit: POOL_SIZE, connectTimeout: CONNECT_TIMEOUT_MS }))
  const on = (client: mysql.Pool | mysql.PoolConnection | (() => Promise<mysql.Pool>)): Query => async <T>(sql: string, params: unknown[] = []) => {
    let result: unknown
    try {
      [result] = await (typeof client === 'function' ? await client() : client).query(sql, params)
    } catch (err) {
      throw asUnavailable(err)
    }
    if (Array.isArray(result)) return { rows: (result as Array<Record<string, unknown>>).map(textOf) as T[], changes: 0 }
    return { rows: [] as T[], changes: (result as mysql.ResultSetHeader).affectedRows }
  }
  return {
    dialect: 'mysql',
    query: on(pool),
    transaction: (fn) => retried(isTransientMysql, async () => {
      const connection = await (await pool()).getConnection().catch((err) => { throw asUnavailable(err) })
      return onConnection({
        query: on(connection),
        begin: () => connection.beginTransaction(),
        commit: () => connection.commit(),
        rollback: () => connection.rollback(),
        listen: (onError) => { connection.on('error', onError); return () => connection.removeListener('error', onError) },
        release: (broken) => broken ? connection.destroy() : connection.release()
      }, fn)
    }),
    isUniqueViolation: (err) => (err as { code?: string })?.code === 'ER_DUP_ENTRY',
    close: async () => { if (pool.started()) await (await pool()).end() }
  }
}
