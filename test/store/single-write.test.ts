// A write of one user on PostgreSQL runs without a transaction (store/sql-single-write.ts): a read without
// a lock, then the insert or replace and its events as one statement. What must still hold: no update is
// lost when writes of one user race (the replace names the version it read, and a loser runs again), the
// events follow the order of the changes, a taken userName is still 409, and the events of a write are
// recorded exactly when its change is.
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import type { ScimEvent } from '../../src/index.js'
import { buildApp, scimUser } from '../helpers/app.js'
import { createDirectory } from '../helpers/directory.js'
import { patchOf, scimClient, type ScimClient } from '../helpers/scim.js'
import { withService } from '../helpers/services.js'
import { statementsOf as captured } from '../helpers/pg-statements.js'

async function setUp (t: Parameters<typeof withService>[0], db: Parameters<Parameters<typeof withService>[3]>[1], jacksonCopy = true): Promise<{ app: FastifyInstance, scim: ScimClient, events: ScimEvent[] }> {
  const events: ScimEvent[] = []
  const app = await buildApp(t, db, { onScimEvent (event) { events.push(event) }, jacksonCopy })
  const directory = await createDirectory(app, 'acme')
  return { app, scim: scimClient(app, directory), events }
}

t.test('a POST and a PATCH of a user: one statement for the write and its events, no transaction', (t) =>
  withService(t, 'postgres', 'single_write_shape', async (t, db) => {
    // Without jackson's copy, whose batches (a transaction each) run in the background meanwhile.
    const { scim } = await setUp(t, db, false)
    let id = ''
    const post = await captured(async () => {
      const res = await scim.send('POST', '/Users', scimUser('ann.lee@acme.example.com'))
      t.equal(res.statusCode, 201)
      id = res.json().id
    })
    t.notOk(post.some((sql) => /^(BEGIN|COMMIT)\b/.test(sql)), 'the POST opens no transaction')
    t.equal(post.filter((sql) => sql.startsWith('WITH written AS (INSERT INTO dsync_scim_resources')).length, 1, 'its insert and its event are one statement')
    const patch = await captured(async () => {
      const res = await scim.send('PATCH', `/Users/${id}`, patchOf({ op: 'replace', path: 'active', value: false }))
      t.equal(res.statusCode, 200)
      t.equal(res.json().active, false)
    })
    t.notOk(patch.some((sql) => /^(BEGIN|COMMIT)\b/.test(sql)), 'the PATCH opens no transaction')
    t.notOk(patch.some((sql) => sql.includes('FOR UPDATE')), 'and locks nothing when it reads')
    t.equal(patch.filter((sql) => sql.startsWith('WITH written AS (UPDATE dsync_scim_resources')).length, 1, 'its replace and its event are one statement')
  }))

t.test('racing PATCHes of one user: none lost, and the events in the order of the changes', (t) =>
  withService(t, 'postgres', 'single_write_race', async (t, db) => {
    const { scim, events } = await setUp(t, db)
    const created = await scim.send('POST', '/Users', scimUser('race.user@acme.example.com'))
    const id = created.json().id
    const n = 24
    // Each adds a phone number of its own: a lost update would drop one.
    const answers = await Promise.all(Array.from({ length: n }, (_, i) =>
      scim.send('PATCH', `/Users/${id}`, patchOf({ op: 'add', path: 'phoneNumbers', value: [{ value: `+1555000${String(i).padStart(4, '0')}`, type: 'work' }] }))))
    t.same(answers.map((res) => res.statusCode), Array(n).fill(200), 'every PATCH answered 200')
    const user = (await scim.send('GET', `/Users/${id}`)).json()
    t.equal(user.phoneNumbers.length, n, 'every phone number was kept')
    const deadline = Date.now() + 10_000
    while (events.filter((e) => e.event === 'user.updated').length < n && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    const updates = events.filter((e) => e.event === 'user.updated')
    t.equal(updates.length, n, 'one user.updated per PATCH, none for a run that lost')
    const counts = updates.map((e) => ((e.data.raw as { phoneNumbers?: unknown[] }).phoneNumbers ?? []).length)
    t.same(counts, Array.from({ length: n }, (_, i) => i + 1), 'in delivery order, each event shows one more number than the one before')
  }))

t.test('a userName taken, by a POST or a PATCH, even when two race: 409, and no event for the loser', (t) =>
  withService(t, 'postgres', 'single_write_unique', async (t, db) => {
    const { scim, events } = await setUp(t, db)
    const [a, b] = await Promise.all([
      scim.send('POST', '/Users', scimUser('same.name@acme.example.com')),
      scim.send('POST', '/Users', scimUser('same.name@acme.example.com'))
    ])
    t.same([a.statusCode, b.statusCode].sort(), [201, 409], 'one is created, the other answered 409')
    const loser = a.statusCode === 409 ? a : b
    t.equal(loser.json().scimType, 'uniqueness')
    const other = (await scim.send('POST', '/Users', scimUser('other.name@acme.example.com'))).json()
    const renamed = await scim.send('PATCH', `/Users/${other.id}`, patchOf({ op: 'replace', path: 'userName', value: 'same.name@acme.example.com' }))
    t.equal(renamed.statusCode, 409, 'a PATCH to a taken userName is 409')
    t.equal(renamed.json().scimType, 'uniqueness')
    const stored = (await scim.send('GET', `/Users/${other.id}`)).json()
    t.equal(stored.userName, 'other.name@acme.example.com', 'and changed nothing')
    const deadline = Date.now() + 5000
    while (events.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    await new Promise((resolve) => setTimeout(resolve, 200))
    t.same(events.map((e) => e.event), ['user.created', 'user.created'], 'two users created, and no other event')
  }))
