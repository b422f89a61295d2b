// Deleting a directory: one dsync.deleted event after its earlier ones, delivered to the hooks that take
// lifecycle events and to the directory's own webhook (signed with its secret, kept for that), then the
// directory's users, groups, events, cursors and failures purged once every handler has passed the
// event, or once it is older than the retention. On sqlite and PostgreSQL.
import t, { type Test } from 'tap'
import type { DbOptions, DirectoryEvent } from '../../src/index.js'
import { openStorage, type Storage } from '../../src/store/index.js'
import { buildApp } from '../helpers/app.js'
import { onSqlEngines, openScim, receiver, until } from './support.js'

/** A second look at the database, as another process would have (closed when the test ends). */
async function inspect (t: Test, db: DbOptions): Promise<Storage> {
  const storage = await openStorage(db)
  t.teardown(() => storage.close())
  return storage
}

/** What the database still keeps of a directory. */
async function kept (storage: Storage, directoryId: string) {
  const count = async (type: 'User' | 'Group') => (await storage.resources.list(directoryId, type, { offset: 0, limit: 0 })).total
  return {
    users: await count('User'),
    groups: await count('Group'),
    events: (await storage.events.next(directoryId, 0, 1000)).length,
    head: await storage.events.directoryHead(directoryId),
    failures: (await storage.events.failures()).filter((f) => f.event.directoryId === directoryId).length,
    deleted: (await storage.events.directoryState(directoryId)).deleted !== null
  }
}

const NOTHING = { users: 0, groups: 0, events: 0, head: 0, failures: 0, deleted: false }

t.test('a deleted directory tells its hooks and its own webhook, then its data is purged', async (t) => {
  await onSqlEngines(t, 'deletion_purge', async (t, db) => {
    const hook = await receiver(t, 'whsec-own')
    const app = await buildApp(t, db, { events: { pollInterval: 100, lifecycleWebhooks: true } })
    const seen: DirectoryEvent[] = []
    let letGo: () => void = () => {}
    const held = new Promise<void>((resolve) => { letGo = resolve })
    // A hook that takes its time over the deletion: the data stays until it is through.
    app.directorySync.addHook('onScimEvent', async (event) => {
      if (event.event === 'dsync.deleted') await held
      seen.push(event)
    }, { id: 'slow', lifecycle: true })
    const scim = await openScim(app, { webhook_url: hook.url, webhook_secret: 'whsec-own' })
    const directoryId = scim.directory.id
    for (const name of ['ann', 'bob', 'cy']) await scim.createUser(`${name}@acme.example`)
    const group = await scim.send('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Staff' })
    t.equal(group.statusCode, 201)
    const other = await openScim(app)
    await other.createUser('dee@other.example')
    await until('the SCIM events at the webhook', () => hook.deliveries.filter((d) => d.body?.event === 'user.created').length === 3)

    const storage = await inspect(t, db)
    t.match(await kept(storage, directoryId), { users: 3, groups: 1, deleted: false })
    t.equal((await app.directorySync.directories.delete(directoryId)).error, null)
    await until('the webhook to hear of its own deletion', () => hook.deliveries.some((d) => d.body?.event === 'dsync.deleted'))
    const told = hook.deliveries.find((d) => d.body?.event === 'dsync.deleted')!
    t.ok(told.valid, 'signed with the deleted directory\'s webhook secret')
    t.match(told.body, { directory_id: directoryId, data: { id: directoryId, webhook: { endpoint: hook.url } } }, 'carrying its settings as they were')
    t.notOk(told.rawBody.includes('whsec-own'), 'never its secret')

    await new Promise((resolve) => setTimeout(resolve, 1000))
    t.match(await kept(storage, directoryId), { users: 3, groups: 1, deleted: true }, 'kept while a hook has not passed the deletion')
    const listed = (await app.directorySync.events.list({ directoryId, types: ['dsync.deleted'] })).data!
    t.equal(listed.events.length, 1, 'events.list has the deletion meanwhile')

    letGo()
    await until('the slow hook to pass the deletion', () => seen.some((e) => e.event === 'dsync.deleted'))
    await until('the purge', async () => JSON.stringify(await kept(storage, directoryId)) === JSON.stringify(NOTHING), 10_000)
    t.same(await kept(storage, directoryId), NOTHING, 'users, groups, events, numbering, failures and state: all gone')
    t.match(await kept(storage, other.directory.id), { users: 1, deleted: false }, 'another directory keeps its data')
    t.equal((await app.directorySync.events.list({ directoryId })).data!.events.length, 0)
  })
})

t.test('a deletion no handler gets through is purged at the retention', async (t) => {
  await onSqlEngines(t, 'deletion_retention', async (t, db) => {
    const app = await buildApp(t, db, { events: { pollInterval: 100, retention: 1500, backoff: 60_000, maxBackoff: 60_000 } })
    // Fails on the deletion, and retries only in a minute: it will not pass it within the retention.
    app.directorySync.addHook('onScimEvent', async (event) => {
      if (event.event === 'dsync.deleted') throw new Error('not now')
    }, { id: 'stuck', lifecycle: true })
    const scim = await openScim(app)
    await scim.createUser('ann@acme.example')
    await app.directorySync.directories.delete(scim.directory.id)
    const storage = await inspect(t, db)
    t.match(await kept(storage, scim.directory.id), { users: 1, deleted: true }, 'kept at first')
    await until('the purge at the retention', async () => JSON.stringify(await kept(storage, scim.directory.id)) === JSON.stringify(NOTHING), 15_000)
    t.pass('purged once the deletion was older than the retention')
  })
})
