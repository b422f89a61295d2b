// Checks that the database answers before jackson is given it: jackson's own connection loop retries
// every second forever and cannot be cancelled, so registration would otherwise hang. Each probe uses the
// driver jackson itself uses for that engine, with a bounded connect time.
import { existsSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { loadMysql, loadPg, loadRedis } from '../store/drivers.js'
import { DatabaseMissingError, DatabaseRefusedError, DatabaseUnreachableError } from '../errors.js'
import type { DbOptions } from '../options.js'

export function describeDb (db: DbOptions): string {
  return db.engine === 'sql' ? db.type : db.engine
}

// Registration waits for a database that is starting (the usual container start order), retrying
// what can clear: a refused connection, an unknown host, PostgreSQL's "starting up" (57P03), a timeout.
// What cannot clear fails at once, with its own error: credentials refused, a database or a sqlite
// folder that does not exist.
const RETRY_FIRST_MS = 100
const RETRY_MAX_MS = 1000

type Verdict = 'refused' | 'missing' | 'retry'

function verdict (err: unknown): Verdict {
  const { code, errno, message } = (err ?? {}) as { code?: unknown, errno?: unknown, message?: unknown }
  // PostgreSQL: invalid_password, invalid_authorization_specification (no such role); MySQL: access
  // denied (to the server, to the database); Redis: a wrong or missing password.
  if (code === '28P01' || code === '28000' || (typeof code === 'string' && /^ER_\w*ACCESS_DENIED/.test(code)) || errno === 1045 || errno === 1044 || errno === 1698) return 'refused'
  if (typeof message === 'string' && /^(WRONGPASS|NOAUTH)/.test(message)) return 'refused'
  // PostgreSQL: invalid_catalog_name; MySQL: ER_BAD_DB_ERROR; our own check of the sqlite folder.
  if (code === '3D000' || errno === 1049 || code === 'ER_BAD_DB_ERROR' || err instanceof MissingFolder) return 'missing'
  return 'retry'
}

class MissingFolder extends Error {}
class NoAnswer extends Error {}

export async function probeDatabase (db: DbOptions, timeoutMs: number): Promise<void> {
  if (db.engine === 'mem') return
  const deadline = Date.now() + timeoutMs
  const name = describeDb(db)
  let wait = RETRY_FIRST_MS
  // The cause reported at the deadline: the last one the database (or the network) gave, rather than
  // our own timeout of a last attempt cut short by the deadline.
  let cause: string | undefined
  for (;;) {
    const left = deadline - Date.now()
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new NoAnswer('no answer')), Math.max(left, 1))
      timer.unref()
    })
    try {
      await Promise.race([connect(db, Math.max(left, 1)), timeout])
      return
    } catch (err) {
      const message = (err as Error)?.message || String(err)
      if (!(err instanceof NoAnswer) || cause === undefined) cause = message
      const kind = verdict(err)
      if (kind === 'refused') throw new DatabaseRefusedError(name, message)
      if (kind === 'missing') throw new DatabaseMissingError(name, message)
      const remaining = deadline - Date.now()
      if (remaining <= 0) throw new DatabaseUnreachableError(name, timeoutMs, cause)
      await new Promise((resolve) => setTimeout(resolve, Math.min(wait, remaining)))
      wait = Math.min(wait * 2, RETRY_MAX_MS)
    } finally {
      clearTimeout(timer)
    }
  }
}

async function connect (db: Exclude<DbOptions, { engine: 'mem' }>, timeoutMs: number): Promise<void> {
  if (db.engine === 'redis') {
    const { createClient } = await loadRedis()
    const client = createClient({ url: db.url, socket: { connectTimeout: timeoutMs, reconnectStrategy: false } })
    client.on('error', () => {}) // reported through connect()'s rejection
    try {
      await client.connect()
      await client.ping()
    } finally {
      if (client.isOpen) await client.disconnect()
    }
    return
  }
  switch (db.type) {
    case 'sqlite': {
      if (db.url !== ':memory:') {
        const folder = dirname(db.url)
        if (!existsSync(folder) || !statSync(folder).isDirectory()) throw new MissingFolder(`the folder ${folder} does not exist`)
      }
      new Database(db.url).close()
      return
    }
    case 'postgres': {
      const pg = await loadPg()
      const client = new pg.Client({ connectionString: db.url, connectionTimeoutMillis: timeoutMs })
      client.on('error', () => {})
      try {
        await client.connect()
        await client.query('SELECT 1')
      } finally {
        await client.end().catch(() => {})
      }
      return
    }
    case 'mysql':
    case 'mariadb': {
      // mysql2 reads mysql:// URLs; typeorm accepts mariadb:// too.
      const mysql = await loadMysql()
      const connection = await mysql.createConnection({ uri: db.url.replace(/^mariadb:/, 'mysql:'), connectTimeout: timeoutMs })
      try {
        await connection.query('SELECT 1')
      } finally {
        await connection.end().catch(() => {})
      }
    }
  }
}
