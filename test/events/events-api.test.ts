// events.list and events.head: one order across directories (each directory's in its own order),
// opaque cursors that survive restarts, filters by directory and type, limits, and retention with
// cursor_expired. On mem, sqlite, PostgreSQL, MariaDB and Redis.
import Fastify, { type FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import fastifyDirectorySync, { type DbOptions, type DirectoryEvent, type DirectorySyncEventType } from '../../src/index.js'
import { buildApp, externalUrl, mem, sqliteFile } from '../helpers/app.js'
import { withService } from '../helpers/services.js'
import { openScim, sleep, until } from './support.js'

const emails = (events: DirectoryEvent[]) => events.map((e) => (e.data as { email?: string }).email ?? e.event)
// The SCIM events (the stream also holds the directories' lifecycle events).
const SCIM_TYPES: DirectorySyncEventType[] = ['user.created', 'user.updated', 'user.deleted', 'group.created', 'group.updated', 'group.deleted', 'group.user_added', 'group.user_removed']

async function onEngines (t: Test, name: string, fn: (t: Test, db: DbOptions) => Promise<void>) {
  await t.test('mem', (t) => fn(t, mem))
  await t.test('sqlite', (t) => fn(t, sqliteFile(t)))
  for (const service of ['postgres', 'mariadb', 'redis'] as const) await withService(t, service, `${name}_${service}`, fn)
}

t.test('list, page, filter and follow', async (t) => {
  await onEngines(t, 'events_api', async (t, db) => {
    const app = await buildApp(t, db)
    const { data: start } = await app.directorySync.events.head()
    const a = await openScim(app)
    const b = await openScim(app)
    const ann = await a.createUser('ann@a.example')
    await b.createUser('bob@b.example')
    await a.rename(ann.id, 'Annie')
    await b.createUser('bea@b.example')

    const everything = await app.directorySync.events.list({ after: start!.after })
    t.equal(everything.error, null)
    t.same(emails(everything.data!.events), ['dsync.created', 'dsync.created', 'ann@a.example', 'bob@b.example', 'ann@a.example', 'bea@b.example'],
      'every event, the directories\' lifecycle too, in the order stored')
    const all = await app.directorySync.events.list({ after: start!.after, types: SCIM_TYPES })
    t.same(emails(all.data!.events), ['ann@a.example', 'bob@b.example', 'ann@a.example', 'bea@b.example'], 'the SCIM events')
    t.same(all.data!.events.map((e) => e.event), ['user.created', 'user.created', 'user.updated', 'user.created'])
    t.equal(all.data!.hasMore, false)

    const first = await app.directorySync.events.list({ after: start!.after, limit: 3, types: SCIM_TYPES })
    t.equal(first.data!.events.length, 3)
    t.equal(first.data!.hasMore, true, 'a full page says there is more')
    const rest = await app.directorySync.events.list({ after: first.data!.after, limit: 3, types: SCIM_TYPES })
    t.same(emails(rest.data!.events), ['bea@b.example'], 'its cursor goes on after its last event')
    t.equal(rest.data!.hasMore, false)
    const none = await app.directorySync.events.list({ after: rest.data!.after })
    t.same(none.data, { events: [], after: rest.data!.after, hasMore: false }, 'nothing new: the same cursor back')

    const ofB = await app.directorySync.events.list({ after: start!.after, directoryId: b.directory.id })
    t.same(emails(ofB.data!.events), ['dsync.created', 'bob@b.example', 'bea@b.example'], 'one directory\'s')
    const updates = await app.directorySync.events.list({ after: start!.after, types: ['user.updated'] })
    t.same(updates.data!.events.map((e) => e.event), ['user.updated'], 'one type')
    t.same((updates.data!.events[0] as { previous?: unknown }).previous, { name: { givenName: 'ann', familyName: 'Family' }, first_name: 'ann' }, 'with what changed')

    const { data: head } = await app.directorySync.events.head()
    t.same((await app.directorySync.events.list({ after: head!.after })).data!.events, [], 'from head: nothing yet')
    await a.createUser('cid@a.example')
    t.same(emails((await app.directorySync.events.list({ after: head!.after })).data!.events), ['cid@a.example'], 'then what came after')

    t.equal((await app.directorySync.events.list({ after: 'not-a-cursor' })).error?.code, 400, 'a cursor not given by the plugin: 400')
    t.equal((await app.directorySync.events.list({ limit: 0 })).error?.code, 400, 'limit 0: 400')
    t.equal((await app.directorySync.events.list({ limit: 1001 })).error?.code, 400, 'limit over 1,000: 400')
    t.equal((await app.directorySync.events.list({ after: start!.after, limit: 1000 })).data!.events.length, 7, 'limit 1,000 is taken')
  })
})

t.test('cursors survive a restart', async (t) => {
  const db = sqliteFile(t)
  const first = Fastify()
  await first.register(fastifyDirectorySync, { db, externalUrl })
  const scim = await openScim(first)
  await scim.createUser('ann@a.example')
  const { data } = await first.directorySync.events.list()
  await first.close()
  const second = await buildApp(t, db)
  await (await openScim(second)).createUser('bob@b.example')
  t.same(emails((await second.directorySync.events.list({ after: data!.after })).data!.events), ['dsync.created', 'bob@b.example'], 'the next process goes on from the cursor')
})

t.test('retention: old events go whoever has not read them; an older cursor is told so; failures keep theirs', async (t) => {
  await onEngines(t, 'events_retention', async (t, db) => {
    const app: FastifyInstance = await buildApp(t, db, {
      events: { retention: 1000, failedRetention: 60_000, maxAttempts: 1 }
    })
    app.directorySync.addHook('onScimEvent', (event) => { if ((event.data as { email?: string }).email === 'fails@a.example') throw new Error('no') }, { id: 'picky' })
    const { data: start } = await app.directorySync.events.head()
    const scim = await openScim(app)
    await scim.createUser('old@a.example')
    await scim.createUser('fails@a.example')
    await until('the failure', async () => ((await app.directorySync.events.failed('picky')).data ?? []).length === 1)
    await sleep(2500) // past the retention and a sweep
    await until('the sweep', async () => (await app.directorySync.events.list({ after: start!.after })).error?.code === 410, 5000)
    const expired = await app.directorySync.events.list({ after: start!.after })
    t.match(expired.error, { code: 410, message: /cursor_expired/ }, 'a cursor from before removed events: cursor_expired')
    const fresh = await app.directorySync.events.list()
    t.equal(fresh.error, null, 'without a cursor: from the oldest kept')
    t.same(emails(fresh.data!.events), ['fails@a.example'], 'the event a failed delivery needs is kept (the rest, lifecycle too, is gone)')
    t.equal((((await app.directorySync.events.failed('picky')).data ?? [])[0]?.event.data as { email?: string })?.email, 'fails@a.example', 'and the failure with its payload')
  })
})

t.test('a filter that matches little reads at most 10,000 events a call, and its cursor goes on', async (t) => {
  const app = await buildApp(t, mem)
  const { data: start } = await app.directorySync.events.head()
  const scim = await openScim(app)
  const created = await scim.createUser('first@a.example')
  for (let i = 0; i < 10_100; i++) await app.directorySync.directories.update(scim.directory.id, { name: `n${i % 2}` }) // dsync.updated, many
  await scim.rename(created.id, 'Renamed')
  let after = start!.after
  const seen: string[] = []
  let calls = 0
  for (;;) {
    const { data } = await app.directorySync.events.list({ after, types: ['user.updated'] })
    calls++
    seen.push(...data!.events.map((e) => e.event))
    after = data!.after
    if (!data!.hasMore) break
  }
  t.same(seen, ['user.updated'], 'the one match is found')
  t.ok(calls >= 2, `in ${calls} calls, each reading at most 10,000 events`)
})
