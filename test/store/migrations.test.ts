// The versioned migrations of the plugin's own schema, on sqlite, PostgreSQL, MariaDB and Redis: a fresh
// database gets each once; a database of the release before migrations (its tables, no version record,
// keys lowercased) is upgraded to folded keys; names that now fold together do not fail the upgrade;
// processes starting together apply each migration once.
import { randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import { createClient } from 'redis'
import { foldKey } from '../../src/keys.js'
import { migrate, openStore, pendingMigrations } from '../../src/store/index.js'
import { MIGRATIONS, type MigrationLogger } from '../../src/store/migrations.js'
import { openSqlClient, type SqlClient } from '../../src/store/sql-client.js'
import { initialTables } from '../../src/store/sql-migrations.js'
import { indexable } from '../../src/store/sql.js'
import { UniquenessError, type ResourceStore, type ResourceType, type StoredResource } from '../../src/store/types.js'
import type { DbOptions } from '../../src/index.js'
import { sqliteFile } from '../helpers/app.js'
import { withService, type Service } from '../helpers/services.js'

const ALL = MIGRATIONS.map((m) => ({ version: m.version, name: m.name }))
const created = '2024-05-01T10:00:00.000Z'

interface Logged { obj: Record<string, unknown>, msg: string }

function logger (): MigrationLogger & { warnings: Logged[], infos: Logged[] } {
  const warnings: Logged[] = []
  const infos: Logged[] = []
  return { warnings, infos, warn: (obj, msg) => { warnings.push({ obj, msg }) }, info: (obj, msg) => { infos.push({ obj, msg }) } }
}

async function withSql<T> (db: DbOptions, fn: (client: SqlClient) => Promise<T>): Promise<T> {
  if (db.engine !== 'sql') throw new Error('not SQL')
  const client = openSqlClient({ type: db.type, url: db.url })
  try {
    return await fn(client)
  } finally {
    await client.close()
  }
}

async function withRedis<T> (db: DbOptions, fn: (client: ReturnType<typeof createClient>) => Promise<T>): Promise<T> {
  if (db.engine !== 'redis') throw new Error('not Redis')
  const client = createClient({ url: db.url })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.quit()
  }
}

/** The versions recorded in the database, read directly. */
async function recorded (db: DbOptions): Promise<Array<{ version: number, name: string }>> {
  if (db.engine === 'redis') {
    return withRedis(db, async (client) => Object.keys(await client.hGetAll('dsync:migrations')).map(Number).sort((a, b) => a - b)
      .map((version) => ({ version, name: MIGRATIONS.find((m) => m.version === version)?.name ?? '?' })))
  }
  return withSql(db, async (client) => {
    const { rows } = await client.query<{ version: number | string, name: string }>('SELECT version, name FROM dsync_migrations ORDER BY version')
    return rows.map((row) => ({ version: Number(row.version), name: row.name }))
  })
}

/** Forgets that a migration was applied, as if a run had stopped before recording it. */
async function forget (db: DbOptions, version: number): Promise<void> {
  if (db.engine === 'redis') {
    await withRedis(db, (client) => client.hDel('dsync:migrations', String(version)))
    return
  }
  await withSql(db, (client) => client.query('DELETE FROM dsync_migrations WHERE version = ?', [version]))
}

/** Everything the store keeps, to compare before and after a second run. */
async function snapshot (db: DbOptions): Promise<unknown> {
  if (db.engine === 'redis') {
    return withRedis(db, async (client) => {
      const dump: Record<string, unknown> = {}
      for await (const key of client.scanIterator({ MATCH: 'dsync:scim:*' })) {
        const type = await client.type(key)
        if (type === 'string') dump[key] = await client.get(key)
        else if (type === 'hash') dump[key] = await client.hGetAll(key)
        else if (type === 'zset') dump[key] = await client.zRangeWithScores(key, 0, -1)
        else if (type === 'set') dump[key] = (await client.sMembers(key)).sort()
      }
      return Object.fromEntries(Object.entries(dump).sort(([a], [b]) => a < b ? -1 : 1))
    })
  }
  return withSql(db, async (client) => (await client.query(
    'SELECT seq, directory_id, resource_type, id, name_key, external_id, display_key, original_keys, body FROM dsync_scim_resources ORDER BY seq')).rows)
}

function resource (directoryId: string, type: ResourceType, body: Record<string, unknown>, keys: StoredResource['keys']): StoredResource {
  return { directoryId, type, id: randomUUID(), keys, body, created, lastModified: created, version: 1 }
}

/** A resource as the release before migrations stored it: its keys lowercased. */
function previous (directoryId: string, type: ResourceType, body: Record<string, unknown>, name?: string): StoredResource {
  const given = (type === 'User' ? body.userName : body.displayName) as string
  const display = type === 'User' && typeof body.displayName === 'string' ? body.displayName.toLowerCase() : null
  return resource(directoryId, type, body, { name: name ?? given.toLowerCase(), externalId: (body.externalId as string | undefined) ?? null, displayName: display })
}

/**
 * A database as the release before migrations left it, holding `resources` (created in this order): on
 * SQL its tables as it created them and no dsync_migrations; on Redis its keys (written by the store,
 * whose format did not change) and no dsync:migrations.
 */
async function previousRelease (db: DbOptions, resources: StoredResource[]): Promise<void> {
  if (db.engine === 'redis') {
    const store = await openStore(db)
    try {
      for (const r of resources) await store.insert(r)
    } finally {
      await store.close()
    }
    await withRedis(db, (client) => client.del('dsync:migrations'))
    return
  }
  await withSql(db, async (client) => {
    for (const statement of initialTables(client.dialect)) await client.query(statement)
    for (const r of resources) {
      await client.query(
        `INSERT INTO dsync_scim_resources (directory_id, resource_type, id, name_key, external_id, display_key, original_keys, body, created, last_modified, version)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [r.directoryId, r.type, r.id, indexable(r.keys.name), indexable(r.keys.externalId), indexable(r.keys.displayName), JSON.stringify(r.keys),
          JSON.stringify(r.body), r.created, r.lastModified, r.version])
    }
  })
}

async function named (store: ResourceStore, directoryId: string, type: ResourceType, value: string, key: 'name' | 'displayName' = 'name'): Promise<string[]> {
  const page = await store.list(directoryId, type, { lookup: { key, value }, offset: 0, limit: 10 })
  return page.items.map((r) => r.id)
}

async function rejection (promise: Promise<unknown>): Promise<unknown> {
  return promise.then(() => undefined, (err: unknown) => err)
}

async function fresh (t: Test, db: DbOptions): Promise<void> {
  t.strictSame(await pendingMigrations(db), ALL, 'an empty database lacks every migration')
  t.strictSame(await pendingMigrations(db), ALL, 'and asking applied none')
  const log = logger()
  const store = await openStore(db, log)
  await store.close()
  t.strictSame(await recorded(db), ALL, 'opening applied and recorded every migration')
  t.strictSame(log.infos.map((i) => i.obj.version), ALL.map((m) => m.version), 'each once, in order')
  t.strictSame(log.warnings, [], 'without a warning')
  t.strictSame(await pendingMigrations(db), [], 'none is pending')

  const again = logger()
  const reopened = await openStore(db, again)
  const directory = randomUUID()
  await reopened.insert(resource(directory, 'User', { userName: 'Jane@example.com' }, { name: foldKey('Jane@example.com'), externalId: null, displayName: null }))
  t.equal((await named(reopened, directory, 'User', 'jane@example.com')).length, 1, 'the store works')
  await reopened.close()
  t.strictSame(again.infos, [], 'opening again applies nothing')
  t.strictSame(await migrate(db), [], 'nor does migrate()')
  t.strictSame(await recorded(db), ALL, 'each migration is recorded once')

  // A version recorded by a newer release is left alone, with a warning.
  if (db.engine === 'redis') await withRedis(db, (client) => client.hSet('dsync:migrations', '99', '0'))
  else await withSql(db, (client) => client.query('INSERT INTO dsync_migrations (version, name, applied_at) VALUES (?, ?, ?)', [99, 'future', 0]))
  const newer = logger()
  t.strictSame(await migrate(db, newer), [], 'a version this release does not know is not a reason to migrate')
  t.strictSame(newer.warnings.map((w) => w.obj.versions), [[99]], 'it is warned of')
  t.strictSame(await pendingMigrations(db), [], 'nor is anything pending')
}

async function upgrade (t: Test, db: DbOptions): Promise<void> {
  const directory = randomUUID()
  const straße = previous(directory, 'User', { userName: 'Straße@Example.com', displayName: 'Jane Straße', externalId: 'ext-1', active: true })
  const plain = previous(directory, 'User', { userName: 'john@example.com', displayName: 'John', active: true })
  const long = previous(directory, 'User', { userName: 'ß'.repeat(150) + '@example.com', active: true })
  const οδος = previous(directory, 'Group', { displayName: 'ΟΔΟΣ' }, 'οδοσ')
  const ligature = previous(directory, 'Group', { displayName: 'ﬁnance' })
  await previousRelease(db, [straße, plain, long, οδος, ligature])
  t.strictSame(await pendingMigrations(db), ALL, 'a database of the previous release lacks every migration')

  const log = logger()
  const store = await openStore(db, log)
  t.after(() => store.close())
  t.strictSame(await recorded(db), ALL, 'both are applied and recorded')
  t.strictSame(log.warnings, [], 'without a warning')

  t.strictSame(await named(store, directory, 'User', foldKey('STRASSE@example.com')), [straße.id], 'a user is found by its folded userName')
  t.strictSame(await named(store, directory, 'User', foldKey('jane STRASSE'), 'displayName'), [straße.id], 'and by its folded displayName')
  t.strictSame(await named(store, directory, 'User', 'straße@example.com'), [], 'no longer by its lowercased userName')
  t.strictSame(await named(store, directory, 'User', foldKey('JOHN@example.com')), [plain.id], 'a key already folded stays')
  t.strictSame(await named(store, directory, 'User', foldKey('SS'.repeat(150) + '@example.com')), [long.id], 'a long folded key is found (by its digest)')
  t.strictSame(await named(store, directory, 'Group', foldKey('οδος')), [οδος.id], 'a group is found by its folded displayName')
  t.strictSame(await named(store, directory, 'Group', foldKey('FINANCE')), [ligature.id], 'ligatures fold')
  const stored = await store.get(directory, 'User', straße.id)
  t.strictSame(stored?.keys, { name: 'strasse@example.com', externalId: 'ext-1', displayName: 'jane strasse' }, 'the keys kept with the resource are folded')
  t.strictSame(stored?.body, straße.body, 'the body is untouched')

  const clash = resource(directory, 'User', { userName: 'STRASSE@example.com' }, { name: foldKey('STRASSE@example.com'), externalId: null, displayName: null })
  const err = await rejection(store.insert(clash))
  t.ok(err instanceof UniquenessError, 'a user whose folded name collides is refused')
  const group = resource(directory, 'Group', { displayName: 'ΟΔΟς' }, { name: foldKey('ΟΔΟς'), externalId: null, displayName: null })
  t.ok(await rejection(store.insert(group)) instanceof UniquenessError, 'so is a group')

  // A run cut short (MySQL commits per batch; Redis per resource) is run again: the same keys come out.
  const before = await snapshot(db)
  await forget(db, 2)
  t.strictSame(await pendingMigrations(db), [ALL[1]], 'a migration not recorded is pending')
  const rerun = logger()
  const reopened = await openStore(db, rerun)
  await reopened.close()
  t.strictSame(rerun.infos.map((i) => i.obj.version), [2], 'it is applied again')
  t.strictSame(await snapshot(db), before, 'to the same result')
}

async function collision (t: Test, db: DbOptions): Promise<void> {
  const directory = randomUUID()
  // Both keys change and fold together: the first created gets the folded key.
  const first = previous(directory, 'User', { userName: 'Straße@example.com' })
  const second = previous(directory, 'User', { userName: 'ﬆraße@example.com' })
  // The later one's key is folded already: it keeps it, and the earlier keeps its own.
  const earlier = previous(directory, 'User', { userName: 'Grüße@example.com', displayName: 'GRÜSSE' })
  const holder = previous(directory, 'User', { userName: 'GRÜSSE@example.com' })
  const other = previous(randomUUID(), 'User', { userName: 'STRASSE@example.com' })
  await previousRelease(db, [first, second, earlier, holder, other])

  const log = logger()
  const store = await openStore(db, log)
  t.after(() => store.close())
  t.strictSame(await recorded(db), ALL, 'the migration does not fail')
  t.strictSame(log.warnings.map((w) => [w.obj.id, w.obj.heldBy]).sort(), [[second.id, first.id], [earlier.id, holder.id]].sort(),
    'each resource left with its previous key is warned of, with the one holding its folded key')
  t.ok(log.warnings.every((w) => w.obj.directoryId === directory && w.obj.type === 'User' && w.obj.migration === 2), 'naming where it is')

  t.strictSame(await named(store, directory, 'User', foldKey('STRASSE@example.com')), [first.id], 'the first created holds the folded key')
  t.strictSame(await named(store, directory, 'User', 'ﬆraße@example.com'), [second.id], 'the other keeps its previous key')
  t.strictSame((await store.get(directory, 'User', second.id))?.keys.name, 'ﬆraße@example.com', 'and keeps it with the resource')
  t.strictSame(await named(store, directory, 'User', foldKey('grüsse@example.com')), [holder.id], 'a resource holding its folded key keeps it')
  t.strictSame(await named(store, directory, 'User', 'grüße@example.com'), [earlier.id], 'the earlier one keeps its previous key')
  t.strictSame(await named(store, directory, 'User', foldKey('grüsse'), 'displayName'), [earlier.id], 'its display key is folded all the same')
  t.strictSame(await named(store, other.directoryId, 'User', foldKey('straße@example.com')), [other.id], 'another directory is another namespace')

  const before = await snapshot(db)
  await forget(db, 2)
  const rerun = logger()
  const reopened = await openStore(db, rerun)
  await reopened.close()
  t.strictSame(await snapshot(db), before, 'running it again gives the same result')
  t.equal(rerun.warnings.length, 2, 'with the same warnings')
}

async function race (t: Test, db: DbOptions): Promise<void> {
  const logs = [logger(), logger(), logger()]
  const opened = await Promise.allSettled([openStore(db, logs[0]), openStore(db, logs[1])])
  for (const result of opened) if (result.status === 'fulfilled') await result.value.close()
  t.strictSame(opened.map((result) => result.status === 'rejected' ? String(result.reason) : 'opened'), ['opened', 'opened'], 'two stores opened together both succeed')
  t.strictSame(await recorded(db), ALL, 'each migration is recorded')
  t.strictSame(logs.flatMap((log) => log.infos.map((i) => i.obj.version)).sort(), ALL.map((m) => m.version), 'each migration was applied once')

  // A pending migration with work to do, run by three at once.
  const directory = randomUUID()
  const user = previous(directory, 'User', { userName: 'Straße@example.com' })
  if (db.engine === 'sql') {
    await withSql(db, (client) => client.query(
      `INSERT INTO dsync_scim_resources (directory_id, resource_type, id, name_key, external_id, display_key, original_keys, body, created, last_modified, version)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [directory, 'User', user.id, user.keys.name, null, null, JSON.stringify(user.keys), JSON.stringify(user.body), created, created, 1]))
  } else {
    await withStore(db, (s) => s.insert(user))
  }
  await forget(db, 2)
  const results = await Promise.all([migrate(db, logs[2]), migrate(db, logs[2]), migrate(db, logs[2])])
  t.strictSame(results.flat().map((m) => m.version), [2], 'it is applied by one of them')
  t.strictSame(await recorded(db), ALL, 'and recorded once')
  await withStore(db, async (s) => {
    t.strictSame(await named(s, directory, 'User', foldKey('STRASSE@example.com')), [user.id], 'with its result')
  })
}

async function withStore (db: DbOptions, fn: (store: ResourceStore) => Promise<unknown>): Promise<void> {
  const store = await openStore(db)
  try {
    await fn(store)
  } finally {
    await store.close()
  }
}

const cases = { fresh, upgrade, collision, race }

t.test('sqlite', async (t) => {
  for (const [name, run] of Object.entries(cases)) {
    if (name === 'race') continue // one process's connections would wait on each other's write lock; processes do not
    await t.test(name, (t) => run(t, sqliteFile(t)))
  }
})

for (const service of ['postgres', 'mariadb', 'redis'] as Service[]) {
  t.test(service, async (t) => {
    for (const [name, run] of Object.entries(cases)) await withService(t, service, `migrations-${name}`, run)
  })
}

t.test('mem has nothing to migrate', async (t) => {
  t.strictSame(await pendingMigrations({ engine: 'mem' }), [])
  t.strictSame(await migrate({ engine: 'mem' }), [])
})
