// Checks that the database answers before jackson is given it: jackson's own connection loop retries
// every second forever and cannot be cancelled, so registration would otherwise hang. Each probe uses the
// driver jackson itself uses for that engine, with a bounded connect time.
import { existsSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import pg from 'pg'
import mysql from 'mysql2/promise'
import { createClient } from 'redis'
import { DatabaseUnreachableError } from '../errors.js'
import type { DbOptions } from '../options.js'

export function describeDb (db: DbOptions): string {
  return db.engine === 'sql' ? db.type : db.engine
}

export async function probeDatabase (db: DbOptions, timeoutMs: number): Promise<void> {
  if (db.engine === 'mem') return
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), timeoutMs)
    timer.unref()
  })
  try {
    await Promise.race([connect(db, timeoutMs), deadline])
  } catch (err) {
    throw new DatabaseUnreachableError(describeDb(db), timeoutMs, (err as Error).message || String(err))
  } finally {
    clearTimeout(timer)
  }
}

async function connect (db: Exclude<DbOptions, { engine: 'mem' }>, timeoutMs: number): Promise<void> {
  if (db.engine === 'redis') {
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
        if (!existsSync(folder) || !statSync(folder).isDirectory()) throw new Error(`the folder ${folder} does not exist`)
      }
      new Database(db.url).close()
      return
    }
    case 'postgres': {
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
      const connection = await mysql.createConnection({ uri: db.url.replace(/^mariadb:/, 'mysql:'), connectTimeout: timeoutMs })
      try {
        await connection.query('SELECT 1')
      } finally {
        await connection.end().catch(() => {})
      }
    }
  }
}
