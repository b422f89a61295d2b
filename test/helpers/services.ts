// The database services tests run against. A test file gets a database of its own (tap runs test files
// in parallel), dropped when the test ends; Redis tests get a private `redis-server` on a free port,
// stopped when the test ends, so that no test empties a database of the machine's Redis. Where a service
// does not answer, its tests are skipped with a message, unless DSYNC_REQUIRE_SERVICES=1 (set by
// .ci/run), which turns the skip into a failure.
//
// Where the services are (the defaults are this project's machines):
//   DSYNC_TEST_POSTGRES_URL  an admin connection to PostgreSQL  (postgres://postgres@127.0.0.1:5432/postgres)
//   DSYNC_TEST_MARIADB_URL   an admin connection to MariaDB     (mysql://root@127.0.0.1:3306/)
//   DSYNC_TEST_REDIS_SERVER  the redis-server program           (redis-server, from the PATH)
import { spawn, type ChildProcess } from 'node:child_process'
import net from 'node:net'
import pg from 'pg'
import mysql from 'mysql2/promise'
import type { Test } from 'tap'
import type { DbOptions } from '../../src/index.js'

export const servicesRequired = process.env.DSYNC_REQUIRE_SERVICES === '1'

export type Service = 'postgres' | 'mariadb' | 'redis'

export const serviceUrls = {
  postgres: process.env.DSYNC_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  mariadb: process.env.DSYNC_TEST_MARIADB_URL ?? 'mysql://root@127.0.0.1:3306/'
}
const redisServer = process.env.DSYNC_TEST_REDIS_SERVER ?? 'redis-server'

/** A connection URL for `database` on the server of `admin` (same credentials, host and port). */
function onDatabase (admin: string, database: string, protocol?: string): string {
  const url = new URL(admin)
  url.pathname = `/${database}`
  const text = url.toString()
  return protocol === undefined ? text : text.replace(/^[a-z]+:/, protocol)
}

function answers (host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 1000 })
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => resolve(false))
    socket.once('timeout', () => { socket.destroy(); resolve(false) })
  })
}

const reachable = (url: string, port: number) => {
  const parsed = new URL(url)
  return answers(parsed.hostname, Number(parsed.port || port))
}

// A name safe as a database name, unique to the test file that asks.
function databaseName (name: string): string {
  return ('dsync_' + name).toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 60)
}

function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

/** A redis-server of this test's own, keeping nothing on disk; undefined when none can be started. */
async function privateRedis (): Promise<{ url: string, stop: () => Promise<void> } | { reason: string }> {
  const port = await freePort()
  let child: ChildProcess
  try {
    child = spawn(redisServer, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  } catch (err) {
    return { reason: `${redisServer} could not be started: ${(err as Error).message}` }
  }
  const failed = new Promise<string>((resolve) => {
    child.once('error', (err) => resolve(`${redisServer} could not be started: ${err.message}`))
    child.once('exit', (code) => resolve(`${redisServer} exited with code ${code}`))
  })
  for (let i = 0; i < 100; i++) {
    const outcome = await Promise.race([failed, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 50))])
    if (outcome !== undefined) return { reason: outcome }
    if (await answers('127.0.0.1', port)) {
      const stop = () => new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGKILL')
      })
      return { url: `redis://127.0.0.1:${port}`, stop }
    }
  }
  child.kill('SIGKILL')
  return { reason: `${redisServer} did not answer on port ${port}` }
}

/**
 * A fresh, empty database on the service, with the function that drops it, or the reason the service
 * cannot be had.
 */
export async function freshDatabase (service: Service, name: string): Promise<{ db: DbOptions, drop: () => Promise<void> } | { reason: string }> {
  if (service === 'redis') {
    const redis = await privateRedis()
    if ('reason' in redis) return redis
    return { db: { engine: 'redis', url: redis.url }, drop: redis.stop }
  }
  const database = databaseName(name)
  if (service === 'postgres') {
    if (!await reachable(serviceUrls.postgres, 5432)) return { reason: `postgres does not answer at ${new URL(serviceUrls.postgres).host}` }
    const admin = async (statement: string) => {
      const client = new pg.Client({ connectionString: serviceUrls.postgres })
      await client.connect()
      try {
        await client.query(statement)
      } finally {
        await client.end()
      }
    }
    await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
    await admin(`CREATE DATABASE ${database}`)
    return {
      db: { engine: 'sql', type: 'postgres', url: onDatabase(serviceUrls.postgres, database) },
      drop: () => admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
    }
  }
  if (!await reachable(serviceUrls.mariadb, 3306)) return { reason: `mariadb does not answer at ${new URL(serviceUrls.mariadb).host}` }
  const admin = async (statement: string) => {
    const connection = await mysql.createConnection({ uri: serviceUrls.mariadb })
    try {
      await connection.query(statement)
    } finally {
      await connection.end()
    }
  }
  await admin(`DROP DATABASE IF EXISTS ${database}`)
  await admin(`CREATE DATABASE ${database}`)
  return {
    db: { engine: 'sql', type: 'mariadb', url: onDatabase(serviceUrls.mariadb, database, 'mariadb:') },
    drop: () => admin(`DROP DATABASE IF EXISTS ${database}`)
  }
}

/**
 * Runs `fn` as a subtest with a fresh database of `service`, dropped afterwards; skipped with the reason
 * when the service cannot be had, failed instead when DSYNC_REQUIRE_SERVICES=1.
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
  try {
    await t.test(`${service}: ${name}`, (st) => fn(st, found.db))
  } finally {
    // After the subtest's own teardowns (its apps are closed by then), so that nothing holds it open.
    await found.drop().catch((err) => t.comment(`dropping the ${service} database ${name} failed: ${(err as Error).message}`))
  }
}
