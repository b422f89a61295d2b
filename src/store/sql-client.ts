// One small query interface over the three SQL drivers jackson already brings (better-sqlite3, pg,
// mysql2), so that the store's SQL is written once. Placeholders are `?` everywhere; PostgreSQL's `$n`
// are produced here. The store opens its own connection: jackson's typeorm connection is not reachable
// through any public API, and sharing it would tie the plugin to typeorm's internals.
import Database from 'better-sqlite3'
import pg from 'pg'
import mysql from 'mysql2/promise'
import { Mutex } from '../engine/confinement.js'

export type Dialect = 'sqlite' | 'postgres' | 'mysql'

export interface Query {
  <T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: T[], changes: number }>
}

export interface SqlClient {
  readonly dialect: Dialect
  query: Query
  /** Runs `fn` in one transaction on one connection; rolls back if it throws. */
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

export function insertIgnore (dialect: Dialect, table: string, columns: string[]): string {
  const verb = { sqlite: 'INSERT OR IGNORE INTO', postgres: 'INSERT INTO', mysql: 'INSERT IGNORE INTO' }[dialect]
  const tail = dialect === 'postgres' ? ' ON CONFLICT DO NOTHING' : ''
  return `${verb} ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})${tail}`
}

export function openSqlClient (connection: SqlConnection): SqlClient {
  switch (connection.type) {
    case 'sqlite': return sqliteClient(connection.url)
    case 'postgres': return postgresClient(connection)
    default: return mysqlClient(connection.url)
  }
}

// better-sqlite3 is synchronous, but a transaction here spans `await`s: one lock keeps any other
// statement on this connection from landing inside an open transaction.
function sqliteClient (file: string): SqlClient {
  const db = new Database(file)
  db.pragma('journal_mode = WAL') // readers never block jackson's writer, nor the other way round
  db.pragma('busy_timeout = 5000') // another process (the directory command) may hold the write lock briefly
  const statements = new Map<string, Database.Statement>()
  const lock = new Mutex()
  const run: Query = async <T>(sql: string, params: unknown[] = []) => {
    let statement = statements.get(sql)
    if (statement === undefined) {
      statement = db.prepare(sql)
      statements.set(sql, statement)
    }
    if (statement.reader) return { rows: statement.all(...params) as T[], changes: 0 }
    return { rows: [] as T[], changes: statement.run(...params).changes }
  }
  return {
    dialect: 'sqlite',
    query: (sql, params) => lock.run(() => run(sql, params)),
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
      db.close()
    }
  }
}

function numbered (sql: string): string {
  let n = 0
  return sql.replace(/\?/g, () => `$${++n}`)
}

function postgresClient ({ url, ssl, asyncCommit }: SqlConnection): SqlClient {
  const pool = new pg.Pool({
    connectionString: url, max: POOL_SIZE, ssl: ssl as pg.PoolConfig['ssl'], ...(asyncCommit ? { options: '-c synchronous_commit=off' } : {})
  })
  pool.on('error', () => {}) // an idle client's error: the next query reports it
  const on = (client: pg.Pool | pg.PoolClient): Query => async <T>(sql: string, params: unknown[] = []) => {
    const result = await client.query(numbered(sql), params)
    return { rows: result.rows as T[], changes: result.rowCount ?? 0 }
  }
  return {
    dialect: 'postgres',
    query: on(pool),
    transaction: async (fn) => {
      const client = await pool.connect()
      try {
        await client.query('BEGIN')
        const result = await fn(on(client))
        await client.query('COMMIT')
        return result
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {})
        throw err
      } finally {
        client.release()
      }
    },
    isUniqueViolation: (err) => (err as { code?: string })?.code === '23505',
    close: () => pool.end()
  }
}

// Binary columns (exact comparison, see sql.ts) come back as Buffers: the store reads text.
function textOf (row: Record<string, unknown>): Record<string, unknown> {
  for (const [key, value] of Object.entries(row)) if (Buffer.isBuffer(value)) row[key] = value.toString('utf8')
  return row
}

function mysqlClient (url: string): SqlClient {
  const pool = mysql.createPool({ uri: url.replace(/^mariadb:/, 'mysql:'), connectionLimit: POOL_SIZE })
  const on = (client: mysql.Pool | mysql.PoolConnection): Query => async <T>(sql: string, params: unknown[] = []) => {
    const [result] = await client.query(sql, params)
    if (Array.isArray(result)) return { rows: (result as Array<Record<string, unknown>>).map(textOf) as T[], changes: 0 }
    return { rows: [] as T[], changes: (result as mysql.ResultSetHeader).affectedRows }
  }
  return {
    dialect: 'mysql',
    query: on(pool),
    transaction: async (fn) => {
      const connection = await pool.getConnection()
      try {
        await connection.beginTransaction()
        const result = await fn(on(connection))
        await connection.commit()
        return result
      } catch (err) {
        await connection.rollback().catch(() => {})
        throw err
      } finally {
        connection.release()
      }
    },
    isUniqueViolation: (err) => (err as { code?: string })?.code === 'ER_DUP_ENTRY',
    close: () => pool.end()
  }
}
