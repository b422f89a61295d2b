// Concurrent writes on MariaDB (and PostgreSQL): 4 directories × 250 POST /Users, 32 requests in flight.
// Writes of one directory meet on its event head row: each must lock it and read its latest value (not
// a REPEATABLE READ snapshot), and a write the database gives up as a deadlock victim is run again. No
// request may fail, every user is stored, and each directory's events are numbered 1..250 exactly.
import mysql from 'mysql2/promise'
import pg from 'pg'
import t, { type Test } from 'tap'
import type { DbOptions } from '../../src/index.js'
import { buildApp, scimUser } from '../helpers/app.js'
import { ok, openDirectory, type ScimClient } from '../helpers/scim.js'
import { withService } from '../helpers/services.js'

const DIRECTORIES = 4
const USERS_EACH = 250
const IN_FLIGHT = 32

/** Each directory's recorded event numbers, in order, read apart from the plugin. */
async function eventNumbers (db: DbOptions, directoryIds: string[]): Promise<Map<string, number[]>> {
  if (db.engine !== 'sql') throw new Error('an SQL engine')
  const numbers = new Map<string, number[]>(directoryIds.map((id) => [id, []]))
  let rows: Array<{ directory_id: unknown, seq: unknown }>
  if (db.type === 'postgres') {
    const client = new pg.Client({ connectionString: db.url })
    await client.connect()
    try {
      rows = (await client.query('SELECT directory_id, seq FROM dsync_events ORDER BY directory_id, seq')).rows
    } finally {
      await client.end()
    }
  } else {
    const connection = await mysql.createConnection({ uri: db.url.replace(/^mariadb:/, 'mysql:') })
    try {
      rows = (await connection.query('SELECT directory_id, seq FROM dsync_events ORDER BY directory_id, seq'))[0] as typeof rows
    } finally {
      await connection.end()
    }
  }
  for (const row of rows) numbers.get(String(row.directory_id))?.push(Number(row.seq)) // VARBINARY comes back as a Buffer
  return numbers
}

async function suite (t: Test, db: DbOptions): Promise<void> {
  const app = await buildApp(t, db)
  const directories: ScimClient[] = []
  for (let i = 0; i < DIRECTORIES; i++) directories.push(await openDirectory(app, 'concurrency'))

  // The directories' requests interleaved, taken by IN_FLIGHT workers.
  const requests = Array.from({ length: DIRECTORIES * USERS_EACH }, (_, i) => ({ scim: directories[i % DIRECTORIES], n: Math.floor(i / DIRECTORIES) }))
  const statuses = new Map<number, number>()
  const failures: string[] = []
  let next = 0
  const started = Date.now()
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next < requests.length) {
      const { scim, n } = requests[next++]
      const res = await scim.send('POST', '/Users', scimUser(`user${n}@acme.example.com`))
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
      if (res.statusCode !== 201 && failures.length < 5) failures.push(`${res.statusCode}: ${res.body.slice(0, 300)}`)
    }
  }))
  t.comment(`${requests.length} creates, ${IN_FLIGHT} in flight: ${Date.now() - started} ms`)
  const serverErrors = [...statuses].filter(([status]) => status >= 500).reduce((sum, [, count]) => sum + count, 0)
  t.equal(serverErrors, 0, 'no request answers 5xx')
  t.same(Object.fromEntries(statuses), { 201: requests.length }, 'every create answers 201')
  for (const failure of failures) t.comment(failure)

  for (const scim of directories) {
    const { totalResults } = await ok(scim, 'GET', '/Users?count=1', undefined, 200)
    t.equal(totalResults, USERS_EACH, `directory ${scim.directory.id}: ${USERS_EACH} users stored`)
  }
  const numbers = await eventNumbers(db, directories.map((scim) => scim.directory.id))
  // Event 1 is the directory's dsync.created, then one per user created.
  const expected = Array.from({ length: USERS_EACH + 1 }, (_, i) => i + 1)
  for (const scim of directories) {
    t.same(numbers.get(scim.directory.id), expected, `directory ${scim.directory.id}: events numbered 1..${USERS_EACH + 1}, no gap, no duplicate`)
  }
}

t.test('mariadb', (t) => withService(t, 'mariadb', 'concurrency', suite))
t.test('postgres', (t) => withService(t, 'postgres', 'concurrency', suite))
