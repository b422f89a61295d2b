// The database services tests run against, each on 127.0.0.1. A test file gets a database (or Redis
// index) of its own, because tap runs test files in parallel. Where a service does not answer, its
// tests are skipped with a message, unless DSYNC_REQUIRE_SERVICES=1 (set by .ci/run), which turns the
// skip into a failure.
import net from 'node:net'
import pg from 'pg'
import mysql from 'mysql2/promise'
import { createClient } from 'redis'
import type { Test } from 'tap'
import type { DbOptions } from '../../src/index.js'

export const servicesRequired = process.env.DSYNC_REQUIRE_SERVICES === '1'

const ports = { postgres: 5432, mariadb: 3306, redis: 6379 } as const
export type Service = keyof typeof ports

function answers (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port, timeout: 1000 })
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => resolve(false))
    socket.once('timeout', () => { socket.destroy(); resolve(false) })
  })
}

// A name safe as a database name, unique to the test file that asks.
function databaseName (name: string): string {
  return ('dsync_' + name).toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 60)
}

/** A fresh, empty database on the service, or undefined (with the reason) when the service is down. */
export async function freshDatabase (service: Service, name: string): Promise<{ db: DbOptions } | { reason: string }> {
  if (!await answers(ports[service])) return { reason: `${service} does not answer on 127.0.0.1:${ports[service]}` }
  const database = databaseName(name)
  if (service === 'postgres') {
    const client = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' })
    await client.connect()
    try {
      await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
      await client.query(`CREATE DATABASE ${database}`)
    } finally {
      await client.end()
    }
    return { db: { engine: 'sql', type: 'postgres', url: `postgres://postgres@127.0.0.1:5432/${database}` } }
  }
  if (service === 'mariadb') {
    const connection = await mysql.createConnection({ uri: 'mysql://root@127.0.0.1:3306/' })
    try {
      await connection.query(`DROP DATABASE IF EXISTS ${database}`)
      await connection.query(`CREATE DATABASE ${database}`)
    } finally {
      await connection.end()
    }
    return { db: { engine: 'sql', type: 'mariadb', url: `mariadb://root@127.0.0.1:3306/${database}` } }
  }
  // Redis has 16 numbered databases: pick one from the name, and empty it.
  let index = 0
  for (const c of database) index = (index * 31 + c.charCodeAt(0)) % 15
  const url = `redis://127.0.0.1:6379/${index + 1}`
  const client = createClient({ url })
  await client.connect()
  try {
    await client.flushDb()
  } finally {
    await client.quit()
  }
  return { db: { engine: 'redis', url } }
}

/**
 * Runs `fn` as a subtest with a fresh database of `service`; skipped with the reason when the service
 * is down, failed instead when DSYNC_REQUIRE_SERVICES=1.
 */
export async function withService (t: Test, service: Service, name: string, fn: (t: Test, db: DbOptions) => Promise<void>): Promise<void> {
  const found = await freshDatabase(service, name)
  if ('reason' in found) {
    if (servicesRequired) {
      t.fail(`${found.reason}, and DSYNC_REQUIRE_SERVICES=1 requires it`)
    } else {
      await t.test(`${service}: ${name}`, { skip: `${found.reason} (set DSYNC_REQUIRE_SERVICES=1 to fail instead)` }, async () => {})
    }
    return
  }
  await t.test(`${service}: ${name}`, (st) => fn(st, found.db))
}
