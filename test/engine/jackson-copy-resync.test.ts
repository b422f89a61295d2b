// jackson's copy never stalls a directory: a record jackson's store refuses for good (too large for its
// 64 KB column on MariaDB) is given up on at once and reported in events.failed(), and the directory's
// later changes follow at once; resync(directoryId) rebuilds jackson's copy from the plugin's store.
import Database from 'better-sqlite3'
import t from 'tap'
import type { DbOptions } from '../../src/index.js'
import { buildApp, scimUser, sqliteFile } from '../helpers/app.js'
import { groupBody, ok, openDirectory, sleep } from '../helpers/scim.js'
import { withService } from '../helpers/services.js'
import { jacksonUserCount } from '../helpers/jackson-copy.js'

async function eventually (what: () => Promise<boolean>, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(100)) if (await what()) return true
  return what()
}

t.test('mariadb: a record too large for jackson\'s column fails at once, reported, and the directory goes on', (t) =>
  withService(t, 'mariadb', 'jackson_copy_permanent', async (t, db: DbOptions) => {
    // The limit that normally refuses such a user up front is raised, to meet jackson's column.
    const app = await buildApp(t, db, { limits: { resourceBytes: 400_000 } })
    const scim = await openDirectory(app, 'permanent')
    const copies = await jacksonUserCount(t, db)
    const big = await ok(scim, 'POST', '/Users', scimUser('big@example.com', { title: 'x'.repeat(100_000) }), 201)
    const after = await ok(scim, 'POST', '/Users', scimUser('after@example.com'), 201)
    t.ok(await eventually(async () => ((await app.directorySync.events.failed('jackson')).data ?? []).length === 1, 10_000),
      'the refused record is given up on within seconds (not after maxAttempts with backoff: minutes)')
    const [failure] = (await app.directorySync.events.failed('jackson')).data!
    t.equal(failure.event.data.id, big.id, 'the failure names the event of the large user')
    t.equal(failure.attempts, 1, 'after one attempt')
    t.match(failure.error, /too long/i, 'with the database\'s reason')
    t.ok(await eventually(async () => await copies() === 1, 10_000), 'the directory\'s next change reached jackson\'s copy')
    t.ok(after.id)
    const { data: report } = await app.directorySync.resync(scim.directory.id)
    t.same(report?.failed.map((f) => f.id), [big.id], 'resync reports the record jackson\'s store refuses, and copies the rest')
    t.equal(report?.users, 1)
  }))

t.test('sqlite: resync rebuilds a directory\'s users, groups and memberships in jackson\'s copy', async (t) => {
  const db = sqliteFile(t) as DbOptions & { url: string }
  const app = await buildApp(t, db)
  const scim = await openDirectory(app, 'resync')
  const other = await openDirectory(app, 'untouched')
  const ids: string[] = []
  for (let i = 0; i < 5; i++) ids.push((await ok(scim, 'POST', '/Users', scimUser(`r${i}@example.com`), 201)).id)
  await ok(scim, 'POST', '/Groups', groupBody('Team', ids.slice(0, 3).map((value) => ({ value }))), 201)
  await ok(other, 'POST', '/Users', scimUser('other@example.com'), 201)
  const count = (namespace: string) => {
    const file = new Database(db.url, { readonly: true })
    try {
      return (file.prepare('SELECT COUNT(*) AS n FROM jackson_store WHERE key LIKE ?').get(`${namespace}:%`) as { n: number }).n
    } finally {
      file.close()
    }
  }
  t.ok(await eventually(async () => count('dsync:users') === 6 && count('dsync:members') === 3, 10_000), 'jackson\'s copy caught up')

  // The copy damaged by hand: every user, group and membership record of jackson's removed.
  const file = new Database(db.url)
  for (const table of ['jackson_index', 'jackson_store']) {
    const column = table === 'jackson_store' ? 'key' : 'storeKey'
    file.prepare(`DELETE FROM ${table} WHERE ${column} LIKE 'dsync:users:%' OR ${column} LIKE 'dsync:groups:%' OR ${column} LIKE 'dsync:members:%'`).run()
  }
  file.close()
  t.equal(count('dsync:users'), 0)

  const { data: report, error } = await app.directorySync.resync(scim.directory.id)
  t.equal(error, null)
  t.same(report, { users: 5, groups: 1, memberships: 3, failed: [] }, 'what was copied')
  t.equal(count('dsync:users'), 5, 'the directory\'s users are back in jackson\'s copy (the other directory is its own business)')
  t.equal(count('dsync:groups'), 1)
  t.equal(count('dsync:members'), 3)
  t.equal((await app.directorySync.resync('no-such-directory')).error?.code, 404, 'an unknown directory answers 404')
})

t.test('sqlite: jacksonCopy: false keeps no copy (SCIM and the controller do not need it); resync makes one on demand', async (t) => {
  const db = sqliteFile(t) as DbOptions & { url: string }
  const app = await buildApp(t, db, { jacksonCopy: false })
  const scim = await openDirectory(app, 'nocopy')
  const ids: string[] = []
  for (let i = 0; i < 3; i++) ids.push((await ok(scim, 'POST', '/Users', scimUser(`n${i}@example.com`), 201)).id)
  await sleep(500) // past the background delay, in which the copy would have been written
  const count = () => {
    const file = new Database(db.url, { readonly: true })
    try {
      return (file.prepare('SELECT COUNT(*) AS n FROM jackson_store WHERE key LIKE ?').get('dsync:users:%') as { n: number }).n
    } finally {
      file.close()
    }
  }
  t.equal(count(), 0, 'jackson\'s tables hold no user')
  t.equal((await app.directorySync.users.page(scim.directory.id)).data?.total, 3, 'the controller reads the plugin\'s store')
  t.equal((await ok(scim, 'GET', `/Users/${ids[0]}`, undefined, 200)).id, ids[0], 'and so does SCIM')
  const { data: status } = await app.directorySync.directories.status(scim.directory.id)
  t.notOk(status!.deliveries.some((d) => d.handler === 'jackson'), 'no jackson handler is delivered to')
  t.same((await app.directorySync.resync(scim.directory.id)).data, { users: 3, groups: 0, memberships: 0, failed: [] }, 'resync copies on demand')
  t.equal(count(), 3)
})
