// A group of 9,000 members, created by one POST and emptied by one PATCH, over SCIM on sqlite,
// PostgreSQL and MariaDB: the write's multi-row statements (the memberships, one event per member) stay
// under each engine's limits on bound parameters and statement size, all in the write's one transaction.
// The events are counted in the queue's table, as stored.
import Database from 'better-sqlite3'
import mysql from 'mysql2/promise'
import pg from 'pg'
import t, { type Test } from 'tap'
import type { DbOptions } from '../../src/index.js'
import { buildApp, scimUser, sqliteFile } from '../helpers/app.js'
import { groupBody, ok, openDirectory, patchOf, type Json } from '../helpers/scim.js'
import { withService } from '../helpers/services.js'

// Three engines, each up to about a minute on a small machine: past the runner's default per file.
t.setTimeout(6 * 60_000)

const USERS = 9000
const IN_FLIGHT = 50

/** The payloads of a directory's recorded events, in their order, with their sequence numbers. */
type EventRows = Array<{ seq: number, payload: string }>

async function recordedEvents (db: DbOptions, directoryId: string): Promise<EventRows> {
  if (db.engine !== 'sql') throw new Error('an SQL engine')
  const sql = 'SELECT seq, payload FROM dsync_events WHERE directory_id = ? ORDER BY seq'
  const numbered = (rows: Array<{ seq: unknown, payload: unknown }>): EventRows => rows.map((row) => ({ seq: Number(row.seq), payload: String(row.payload) }))
  if (db.type === 'sqlite') {
    const file = new Database(db.url, { readonly: true })
    try {
      return numbered(file.prepare(sql).all(directoryId) as Array<{ seq: unknown, payload: unknown }>)
    } finally {
      file.close()
    }
  }
  if (db.type === 'postgres') {
    const client = new pg.Client({ connectionString: db.url })
    await client.connect()
    try {
      return numbered((await client.query('SELECT seq, payload FROM dsync_events WHERE directory_id = $1 ORDER BY seq', [directoryId])).rows)
    } finally {
      await client.end()
    }
  }
  const connection = await mysql.createConnection({ uri: db.url.replace(/^mariadb:/, 'mysql:') })
  try {
    const [rows] = await connection.query(sql, [directoryId])
    return numbered(rows as Array<{ seq: unknown, payload: unknown }>)
  } finally {
    await connection.end()
  }
}

// Creating the 9,000 users is most of the run; on PostgreSQL most of that is waiting for each commit's
// flush. The test's own database does without (nothing here is about durability).
async function withoutFlushWaits (db: DbOptions): Promise<void> {
  if (db.engine !== 'sql' || db.type !== 'postgres') return
  const client = new pg.Client({ connectionString: db.url })
  await client.connect()
  try {
    const { rows: [{ name }] } = await client.query('SELECT current_database() AS name')
    await client.query(`ALTER DATABASE ${client.escapeIdentifier(name)} SET synchronous_commit = off`)
  } finally {
    await client.end()
  }
}

async function suite (t: Test, db: DbOptions): Promise<void> {
  await withoutFlushWaits(db)
  const app = await buildApp(t, db) // the group's body (9,000 ids) is about 450 KB: under the default bodyLimit
  const scim = await openDirectory(app, 'large')
  const seconds = (since: number) => ((Date.now() - since) / 1000).toFixed(1) + ' s'

  let started = Date.now()
  const ids: string[] = []
  for (let i = 0; i < USERS; i += IN_FLIGHT) {
    const batch = Array.from({ length: Math.min(IN_FLIGHT, USERS - i) }, (_, n) => `user${i + n}@acme.example.com`)
    const created = await Promise.all(batch.map((userName) => ok(scim, 'POST', '/Users', scimUser(userName), 201)))
    ids.push(...created.map((user) => user.id as string))
  }
  t.equal(ids.length, USERS, `${USERS} users created`)
  t.comment(`${USERS} users created in ${seconds(started)}`)

  started = Date.now()
  const res = await scim.send('POST', '/Groups', groupBody('Everyone', ids.map((value) => ({ value }))))
  t.equal(res.statusCode, 201, `a group of ${USERS} members: created in one request`)
  if (res.statusCode !== 201) {
    t.comment(res.body.slice(0, 2000))
    return
  }
  const group = res.json()
  t.comment(`POST /Groups with ${USERS} members: ${seconds(started)}`)
  const members = async (): Promise<string[]> => ((await ok(scim, 'GET', `/Groups/${group.id}`, undefined, 200)).members ?? []).map((m: Json) => m.value)
  t.same((await members()).sort(), [...ids].sort(), `GET lists the ${USERS} members`)

  // Okta's group push may send the full member list as a replace (idp-traffic.md): the largest request
  // the providers document passes under the default limits, and changes nothing here.
  started = Date.now()
  const full = patchOf({ op: 'replace', path: 'members', value: ids.map((value, i) => ({ value, display: `user${i}@acme.example.com` })) })
  await ok(scim, 'PATCH', `/Groups/${group.id}`, full, 200)
  t.comment(`PATCH replacing the ${USERS} members with themselves (${Math.round(JSON.stringify(full).length / 1024)} KiB): ${seconds(started)}`)

  started = Date.now()
  await ok(scim, 'PATCH', `/Groups/${group.id}`, patchOf({ op: 'replace', path: 'members', value: [] }), 200)
  t.comment(`PATCH removing ${USERS} members: ${seconds(started)}`)
  t.same(await members(), [], 'GET lists no members')

  const events = await recordedEvents(db, scim.directory.id)
  const counts = new Map<string, number>()
  for (const { payload } of events) {
    const { event } = JSON.parse(payload) as { event: string }
    counts.set(event, (counts.get(event) ?? 0) + 1)
  }
  t.same(Object.fromEntries(counts), { 'dsync.created': 1, 'user.created': USERS, 'group.created': 1, 'group.user_added': USERS, 'group.user_removed': USERS },
    'the directory\'s creation, then one event per user created, per member added and per member removed')
  t.ok(events.every((event, i) => event.seq === i + 1), `the events are numbered 1..${events.length}, without gap or duplicate`)
}

t.test('sqlite', (t) => suite(t, sqliteFile(t)))
t.test('postgres', (t) => withService(t, 'postgres', 'large_membership', suite))
t.test('mariadb', (t) => withService(t, 'mariadb', 'large_membership', suite))
