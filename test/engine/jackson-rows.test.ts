// jackson's copy is written as rows of jackson's tables, a batch at a time (engine/jackson-rows.ts,
// store/sql-jackson.ts), instead of through jackson's API one typeorm transaction per change. This pins
// that the rows are the ones jackson's API writes: the same events applied both ways, on two databases
// of each engine, give the same records (keys, namespaces, values), the same index entries in the same
// order, and jackson's own API reads the batch-written copy back (decrypting it where encryptionKey is set).
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import t, { type Test } from 'tap'
import type { DbOptions } from '../../src/index.js'
import { openCore, type Core } from '../../src/engine/core.js'
import { jacksonEvent, mirrorEvent } from '../../src/engine/mirror.js'
import { jacksonRowsOf } from '../../src/engine/jackson-rows.js'
import { openSqlClient, type SqlConnection } from '../../src/store/sql-client.js'
import type { Change } from '../../src/scim/backend.js'
import type { StoredResource } from '../../src/store/types.js'
import type { Directory, ScimEvent } from '../../src/types.js'
import { withService } from '../helpers/services.js'

const KEY = 'k'.repeat(32)

async function open (t: Test, db: DbOptions): Promise<Core> {
  const core = await openCore({ db, externalUrl: 'http://127.0.0.1:3000', samlPath: '/saml', scimPath: '/scim', connectTimeout: 10_000 }, Fastify().log, 1)
  t.teardown(() => core.close())
  return core
}

const DIRECTORY_ID = 'dir-rows-1'
const directory = { id: DIRECTORY_ID, tenant: 'acme', product: 'app', name: 'Acme', type: 'okta-scim-v2', deactivated: false, log_webhook_events: false, webhook: { endpoint: '', secret: '' }, scim: { path: '', endpoint: '', secret: '' } } as unknown as Directory

const user = (id: string, email: string, extra: Record<string, unknown> = {}): StoredResource => ({
  directoryId: DIRECTORY_ID,
  type: 'User',
  id,
  keys: { name: email, externalId: null, displayName: null },
  body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: email, name: { givenName: 'G', familyName: id }, emails: [{ value: email, primary: true }], active: true, ...extra },
  created: '2026-01-01T00:00:00.000Z',
  lastModified: '2026-01-01T00:00:00.000Z',
  version: 1
})
const group = (id: string, name: string): StoredResource => ({
  directoryId: DIRECTORY_ID,
  type: 'Group',
  id,
  keys: { name, externalId: null, displayName: name },
  body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: name },
  created: '2026-01-01T00:00:00.000Z',
  lastModified: '2026-01-01T00:00:00.000Z',
  version: 1
})

// Every kind of event, with the sequences a batch folds: a record updated after its creation, deleted
// and created again, a membership removed and added again, a group deleted with its memberships.
function events (): ScimEvent[] {
  const [u1, u2, u3] = [user('u1', 'a@example.com'), user('u2', 'b@example.com'), user('u3', 'c@example.com')]
  const [g1, g2] = [group('g1', 'Team'), group('g2', 'Other')]
  const changes: Change[] = [
    { event: 'user.created', user: u1 }, { event: 'user.created', user: u2 }, { event: 'user.created', user: u3 },
    { event: 'user.updated', user: user('u1', 'a2@example.com', { active: false }), before: u1 },
    { event: 'group.created', group: g1 }, { event: 'group.created', group: g2 },
    { event: 'group.user_added', group: g1, user: u1 }, { event: 'group.user_added', group: g1, user: u2 },
    { event: 'group.user_added', group: g1, user: u3 }, { event: 'group.user_added', group: g2, user: u1 },
    { event: 'group.user_removed', group: g1, user: u2 },
    { event: 'group.updated', group: group('g1', 'Team renamed'), before: g1 },
    { event: 'user.deleted', user: u3 },
    { event: 'user.created', user: user('u3', 'c3@example.com') },
    { event: 'group.deleted', group: g2 },
    { event: 'group.user_added', group: g1, user: u2 }
  ]
  return changes.map((change, i) => ({ ...jacksonEvent(directory, change), id: `e${i}`, created: '2026-01-01T00:00:00.000Z' }))
}

interface Tables { store: Array<Record<string, unknown>>, index: Array<[string, string]> }

async function tables (db: DbOptions): Promise<Tables> {
  const client = openSqlClient(db as SqlConnection)
  const key = client.dialect === 'mysql' ? '`key`' : '"key"'
  const sk = client.dialect === 'mysql' ? 'storeKey' : '"storeKey"'
  try {
    const store = (await client.query<Record<string, unknown>>(
      `SELECT ${key} AS k, namespace, value, iv, tag, createdAt AS c, modifiedAt AS m FROM jackson_store WHERE namespace LIKE 'dsync:%' ORDER BY ${key}`.replace(/(createdAt|modifiedAt) AS/g, client.dialect === 'mysql' ? '$1 AS' : '"$1" AS'))).rows
    const index = (await client.query<{ k: string, s: string }>(`SELECT ${key} AS k, ${sk} AS s FROM jackson_index WHERE ${key} LIKE 'dsync:%' ORDER BY id`)).rows
    return { store, index: index.map((row) => [row.k, row.s]) }
  } finally {
    await client.close()
  }
}

async function compare (t: Test, dbOf: (name: string) => Promise<DbOptions>, encrypted: boolean): Promise<void> {
  const viaApi = await dbOf('api')
  const viaRows = await dbOf('rows')
  const api = await open(t, viaApi)
  const rows = await open(t, viaRows)
  const all = events()
  for (const event of all) await api.run(DIRECTORY_ID, (set) => mirrorEvent(set, event))
  // In uneven batches, so that folds meet batch edges.
  for (let i = 0; i < all.length; i += 5) await rows.storage.jacksonTables!.apply(jacksonRowsOf(all.slice(i, i + 5), rows.lease.database.db.encryptionKey))
  const [a, b] = [await tables(viaApi), await tables(viaRows)]

  t.ok(a.store.length > 0 && a.index.length > 0, `jackson's API wrote records (${a.store.length}) and index entries (${a.index.length})`)
  t.same(b.index, a.index, 'the same index entries, in the same order')
  t.same(b.store.map((r) => [r.k, r.namespace]), a.store.map((r) => [r.k, r.namespace]), 'the same record keys and namespaces')
  for (const [i, row] of b.store.entries()) {
    t.ok(row.c !== null && row.m !== null, `${row.k as string}: createdAt and modifiedAt are set`)
    if (!encrypted) {
      t.same(JSON.parse(row.value as string), JSON.parse(a.store[i].value as string), `${row.k as string}: the same value`)
      t.equal(row.iv, null)
    } else {
      t.ok(typeof row.iv === 'string' && typeof row.tag === 'string', 'encrypted: iv and tag stored')
      t.notMatch(row.value as string, /example\.com|"id"/, 'encrypted: no clear text in the value (base64 has no dot nor quote)')
    }
  }
  // jackson's own API reads the batch-written copy as it reads its own.
  const read = (core: Core) => core.run(DIRECTORY_ID, async (set) => {
    const users = set.users.setTenantAndProduct('acme', 'app')
    const groups = set.groups.setTenantAndProduct('acme', 'app')
    return {
      users: await Promise.all(['u1', 'u2', 'u3'].map(async (id) => (await users.get(id)).data)),
      all: (await users.getAll({ directoryId: DIRECTORY_ID })).data?.map((u) => u.id).sort(),
      byName: (await (users as any).search('c3@example.com', DIRECTORY_ID)).data?.map((u: { id: string }) => u.id),
      g1: (await groups.get('g1')).data,
      g2: (await groups.get('g2')).error?.code,
      members: (await groups.getGroupMembers({ groupId: 'g1' })).data?.map((m) => m.user_id),
      gone: (await groups.getGroupMembers({ groupId: 'g2' })).data
    }
  })
  const [fromApi, fromRows] = [await read(api), await read(viaRows === viaApi ? api : rows)]
  t.same(fromRows, fromApi, 'jackson reads the same users, groups and memberships from both')
  t.equal(fromRows.users[0]?.active, false, 'the update is there')
  t.same(fromRows.members, ['u2', 'u3', 'u1'], 'g1\'s members, newest first (jackson keeps a deleted user\'s memberships)')
  t.same(fromRows.gone, [], 'the deleted group\'s memberships are gone')
}

function sqlite (t: Test): (name: string) => Promise<DbOptions> {
  const dir = mkdtempSync(join(tmpdir(), 'dsync-rows-'))
  return async (name) => ({ engine: 'sql', type: 'sqlite', url: join(dir, `${name}.db`), ...(t.name.includes('encrypt') ? { encryptionKey: KEY } : {}) } as DbOptions)
}

function service (t: Test, kind: 'postgres' | 'mariadb', encrypted: boolean): Promise<void> {
  return withService(t, kind, `jackson_rows_api${encrypted ? '_enc' : ''}`, (t, api) =>
    withService(t, kind, `jackson_rows_rows${encrypted ? '_enc' : ''}`, async (t, rows) => {
      const withKey = (db: DbOptions) => encrypted ? { ...db, encryptionKey: KEY } as DbOptions : db
      await compare(t, async (name) => withKey(name === 'api' ? api : rows), encrypted)
    }))
}

t.test('sqlite: the rows equal what jackson\'s API writes', (t) => compare(t, sqlite(t), false))
t.test('sqlite, encrypt: encrypted as jackson encrypts, read back by jackson', (t) => compare(t, sqlite(t), true))
t.test('postgres: the rows equal what jackson\'s API writes', (t) => service(t, 'postgres', false))
t.test('postgres, encrypt: read back by jackson', (t) => service(t, 'postgres', true))
t.test('mariadb: the rows equal what jackson\'s API writes', (t) => service(t, 'mariadb', false))

// What the deletes in store/sql-jackson.ts work around: jackson_index has no index on storeKey alone,
// and jackson relies on the foreign key's ON DELETE CASCADE to remove a record's index rows, which without
// such an index scans the table for every record deleted. A membership's index rows are deleted by their
// exact (key, storeKey) instead, and the plugin's sqlite connection does not enforce foreign keys.
t.test('jackson_index: indexed by key and by (key, storeKey) only, its rows removed by a cascade from jackson_store', async (t) => {
  const { createRequire } = await import('node:module')
  const { readFileSync } = await import('node:fs')
  const require = createRequire(import.meta.url)
  for (const flavour of ['entity', 'sqlite/entity', 'mariadb/entity']) {
    const source = readFileSync(require.resolve(`@boxyhq/saml-jackson/dist/db/sql/${flavour}/JacksonIndex.js`), 'utf8')
    t.same(source.match(/typeorm_1\.Index\)\([^)]*\)/g), ['typeorm_1.Index)(\'_jackson_index_key\')', 'typeorm_1.Index)(\'_jackson_index_key_store\', [\'key\', \'storeKey\'])'],
      `${flavour}: an index on key and one on (key, storeKey), none on storeKey alone`)
    t.match(source, /onDelete: 'CASCADE'/, `${flavour}: the store row's delete cascades to its index rows`)
  }
})

t.test('the plugin\'s sqlite connection enforces no foreign key (jackson\'s copy deletes index rows itself)', async (t) => {
  const folder = mkdtempSync(join(tmpdir(), 'rows-fk-'))
  const client = openSqlClient({ type: 'sqlite', url: join(folder, 'fk.db') })
  t.teardown(() => client.close())
  // A cascading foreign key like jackson's: deleting the parent through the writer leaves the child alone.
  await client.transaction(async (query) => {
    await query('CREATE TABLE parent (k TEXT PRIMARY KEY)')
    await query('CREATE TABLE child (id INTEGER PRIMARY KEY, k TEXT REFERENCES parent (k) ON DELETE CASCADE)')
    await query('INSERT INTO parent (k) VALUES (?)', ['a'])
    await query('INSERT INTO child (k) VALUES (?)', ['a'])
  })
  await client.query('DELETE FROM parent WHERE k = ?', ['a'])
  const { rows } = await client.query<{ n: number }>('SELECT count(*) AS n FROM child')
  t.equal(Number(rows[0].n), 1, 'no cascade: foreign keys are not enforced on the writer')
})
