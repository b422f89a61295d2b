// Encryption at rest (db.encryptionKey): after a provisioning run, a raw copy of each engine's database
// (the sqlite file with its WAL, a pg_dump, a MariaDB dump, every Redis key name and DUMP) holds none
// of the values sent, while SCIM answers them as sent; a database written without a key is rewritten
// under it when a key is set; a database refuses another key, or none; and the codec's own properties.
import { randomUUID } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import fastifyDirectorySync, { type DbOptions, type ScimEvent } from '../../src/index.js'
import { encryptionCodec } from '../../src/store/codec.js'
import { ensureEncryption } from '../../src/store/encryption.js'
import { openStore } from '../../src/store/index.js'
import { openSqlClient } from '../../src/store/sql-client.js'
import { sqlEncryptionTarget } from '../../src/store/sql-encryption.js'
import { openSqlStorage } from '../../src/store/sql.js'
import { buildApp, externalUrl, scimUser, sqliteFile } from '../helpers/app.js'
import { dumpTools, found, rawRead } from '../helpers/raw-read.js'
import { CORE_GROUP, ENTERPRISE, PATCH_OP, ok, openDirectory, sleep, type ScimClient } from '../helpers/scim.js'
import { servicesRequired, withService, type Service } from '../helpers/services.js'
import Fastify from 'fastify'

const KEY = 'a-32-character-encryption-key!!!'
const OTHER_KEY = 'another-32-character-key-here!!!'

// Values no database holds by chance: each is searched for, lowercased, in the raw copy.
const sent = {
  userName: 'zorblat.quimbyfax@atrest.example',
  givenName: 'Zorblatine',
  familyName: 'Quimbyfax',
  displayName: 'Zorblatine Q. Quimbyfax',
  homeEmail: 'zq.home@wallaby-mail.example',
  phone: '+1 555 0199 4242',
  street: '42 Wallabyway Crescent',
  locality: 'Grimsbytonia',
  postalCode: 'ZX9 8QW',
  title: 'Chief Vexillologist',
  newTitle: 'Senior Vexillographer',
  externalId: 'ext-zq-77318',
  department: 'Heraldic Studies',
  second: 'ulfhildine.ostrander@atrest.example',
  groupName: 'Vexillology Guild',
  groupExternalId: 'grp-ext-88127'
}
const values = Object.values(sent)

// The failures of this hook carry personal values in their error text, which is stored too.
const failingHook = (event: ScimEvent) => {
  throw new Error(`could not provision ${JSON.stringify(event.data)}`)
}
const delivery = { backoff: 50, maxBackoff: 50, maxAttempts: 3, pollInterval: 100 }

/** Sends every value once (and a few changes), through SCIM; answers the user's and the group's ids. */
async function provision (scim: ScimClient): Promise<{ userId: string, groupId: string }> {
  const user = await ok(scim, 'POST', '/Users', scimUser(sent.userName, {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE],
    externalId: sent.externalId,
    displayName: sent.displayName,
    name: { givenName: sent.givenName, familyName: sent.familyName },
    emails: [{ value: sent.userName, type: 'work', primary: true }, { value: sent.homeEmail, type: 'home' }],
    phoneNumbers: [{ value: sent.phone, type: 'work' }],
    addresses: [{ streetAddress: sent.street, locality: sent.locality, postalCode: sent.postalCode, type: 'work' }],
    title: sent.title,
    [ENTERPRISE]: { department: sent.department }
  }), 201)
  const second = await ok(scim, 'POST', '/Users', scimUser(sent.second), 201)
  const group = await ok(scim, 'POST', '/Groups', {
    schemas: [CORE_GROUP], displayName: sent.groupName, externalId: sent.groupExternalId, members: [{ value: user.id, display: sent.displayName }]
  }, 201)
  await ok(scim, 'PATCH', `/Groups/${group.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: second.id, display: sent.second }] }] }, 200)
  await ok(scim, 'PATCH', `/Users/${user.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: sent.newTitle }] }, 200)
  await ok(scim, 'PATCH', `/Users/${second.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: false } }] }, 200)
  return { userId: user.id, groupId: group.id }
}

/** What SCIM answers after the run: every value as sent, found by the keys that are stored as digests. */
async function checkAnswers (t: Test, scim: ScimClient, { userId, groupId }: { userId: string, groupId: string }): Promise<void> {
  const user = await ok(scim, 'GET', `/Users/${userId}`, undefined, 200)
  t.equal(user.userName, sent.userName, 'the user reads back as sent')
  t.equal(user.addresses[0].streetAddress, sent.street, 'every attribute too')
  t.equal(user.title, sent.newTitle, 'with its change')
  const byName = await ok(scim, 'GET', `/Users?filter=${encodeURIComponent(`userName eq "${sent.userName.toUpperCase()}"`)}`, undefined, 200)
  t.same(byName.Resources.map((r: any) => r.id), [userId], 'a userName lookup finds it (case-insensitively)')
  const byExternal = await ok(scim, 'GET', `/Users?filter=${encodeURIComponent(`externalId eq "${sent.externalId}"`)}`, undefined, 200)
  t.same(byExternal.Resources.map((r: any) => r.id), [userId], 'so does an externalId lookup')
  const byGroupName = await ok(scim, 'GET', `/Groups?filter=${encodeURIComponent(`displayName eq "${sent.groupName}"`)}`, undefined, 200)
  t.same(byGroupName.Resources.map((r: any) => r.id), [groupId], 'and a group\'s displayName')
  const group = await ok(scim, 'GET', `/Groups/${groupId}`, undefined, 200)
  t.same(group.members.map((m: any) => m.display).sort(), [sent.displayName, sent.second].sort(), 'members keep their display')
  const again = await scim.send('POST', '/Users', scimUser(sent.userName.toUpperCase()))
  t.equal(again.statusCode, 409, 'the userName is still unique')
}

async function settled (app: FastifyInstance, events: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (((await app.directorySync.events.failed()).data ?? []).length >= events) return
    await sleep(50)
  }
  throw new Error('the failing hook did not give up on every event')
}

// 2 users created, 1 group created, 2 members added, 2 users updated.
const EVENTS = 7

function toolMissing (service: Service): string | null {
  if (service === 'redis') return null
  const tool = dumpTools[service]
  return spawnSync(tool, ['--version']).error === undefined ? null : `${tool} is not installed`
}

type Engine = 'sqlite' | Service

async function onEngine (t: Test, engine: Engine, name: string, fn: (t: Test, db: DbOptions) => Promise<void>): Promise<void> {
  if (engine === 'sqlite') {
    await t.test('sqlite', (t) => fn(t, sqliteFile(t)))
    return
  }
  const missing = toolMissing(engine)
  if (missing !== null) {
    if (servicesRequired) t.fail(`${missing}, and DSYNC_REQUIRE_SERVICES=1 requires it`)
    else await t.test(engine, { skip: `${missing} (set DSYNC_REQUIRE_SERVICES=1 to fail instead)` }, async () => {})
    return
  }
  return withService(t, engine, name, fn)
}

const ENGINES: Engine[] = ['sqlite', 'postgres', 'mariadb', 'redis']

t.test('a provisioning run with a key leaves no value sent in the raw database', async (t) => {
  for (const engine of ENGINES) {
    await onEngine(t, engine, 'at_rest', async (t, db) => {
      const keyed = { ...db, encryptionKey: KEY } as DbOptions
      const app = await buildApp(t, keyed, { onScimEvent: failingHook, events: delivery })
      const scim = await openDirectory(app, 'at-rest')
      const ids = await provision(scim)
      // Once while deliveries are still failing (cursors hold the last error), once when all have failed.
      await settled(app, 1)
      t.same(found(await rawRead(db), values), [], 'mid-delivery: no value sent is in the raw database')
      await settled(app, EVENTS)
      const raw = await rawRead(db)
      t.same(found(raw, values), [], 'after delivery: none either')
      t.ok(raw.includes('enc:v1:'), 'the values are there, sealed')
      await checkAnswers(t, scim, ids)
      const [failure] = (await app.directorySync.events.failed()).data ?? []
      t.match(failure?.error, /could not provision/, 'a failure\'s error reads back')
    })
  }
})

t.test('without a key the same run is in the clear (the raw reads above can see values)', async (t) => {
  for (const engine of ENGINES) {
    await onEngine(t, engine, 'clear', async (t, db) => {
      const app = await buildApp(t, db, { onScimEvent: failingHook, events: delivery })
      await provision(await openDirectory(app, 'clear'))
      await settled(app, EVENTS)
      // The title that was replaced is still in its user.created event (on Redis too: events are stored there).
      t.same(found(await rawRead(db), values), values, 'every value sent is found')
    })
  }
})

t.test('a key set on data stored without one: the plugin\'s tables are rewritten before SCIM is served', async (t) => {
  for (const engine of ENGINES) {
    await onEngine(t, engine, 'at_rest_later', async (t, db) => {
      const first = Fastify()
      await first.register(fastifyDirectorySync, { db, externalUrl, onScimEvent: failingHook, events: delivery })
      const scim = await openDirectory(first, 'later')
      const ids = await provision(scim)
      await settled(first, EVENTS)
      const kept = db.engine === 'redis' ? values.filter((value) => value !== sent.title) : values
      t.same(found(await pluginTables(db), kept), kept, 'before: every value is in the plugin\'s tables')
      await first.close()

      const app = await buildApp(t, { ...db, encryptionKey: KEY } as DbOptions, { events: delivery })
      t.same(found(await pluginTables(db), values), [], 'after: none is')
      await checkAnswers(t, { ...scim, send: rebound(app, scim) }, ids)
      // (On Redis failures live in memory: the first app took them with it.)
      if (db.engine === 'sql') t.match((await app.directorySync.events.failed()).data?.[0]?.error, /could not provision/, 'failure texts read back')
    })
  }
})

t.test('a rewrite cut short resumes at the next open', async (t) => {
  const db = sqliteFile(t)
  const plain = await openStore(db)
  const directoryId = randomUUID()
  const count = 1200 // three batches
  for (let i = 0; i < count; i++) {
    const name = `user${i}@resume.example`
    await plain.insert({ directoryId, type: 'User', id: `u${i}`, keys: { name, externalId: `x${i}`, displayName: null }, body: { userName: name }, created: 'c', lastModified: 'c', version: 1 })
  }
  await plain.close()

  const codec = encryptionCodec(KEY)
  const client = openSqlClient({ type: 'sqlite', url: (db as { url: string }).url })
  const abort = new AbortController()
  let rewritten = 0
  await t.rejects(ensureEncryption(sqlEncryptionTarget(client), codec, {
    signal: abort.signal,
    log: { warn () {}, info (obj) { if (typeof obj.rows === 'number') { rewritten = obj.rows; abort.abort() } } }
  }), { name: 'AbortError' }, 'the rewrite stops between batches')
  t.ok(rewritten > 0 && rewritten < count, `it had rewritten ${rewritten} of ${count} rows`)
  const state = await sqlEncryptionTarget(client).state()
  t.same(state, { fingerprint: codec.fingerprint, rewritten: false }, 'the key is recorded, the rewrite not finished')
  const raw = await client.query<{ body: string }>('SELECT body FROM dsync_scim_resources')
  t.ok(raw.rows.some((row) => row.body.startsWith('{')), 'some bodies are still in the clear')
  await client.close()

  const store = await openStore({ ...db, encryptionKey: KEY } as DbOptions)
  t.teardown(() => store.close())
  const all = await store.list(directoryId, 'User', { offset: 0, limit: count })
  t.equal(all.total, count, 'after the next open every resource is there')
  t.equal(all.items[777].body.userName, 'user777@resume.example', 'readable')
  const found = await store.list(directoryId, 'User', { lookup: { key: 'name', value: 'user3@resume.example' }, offset: 0, limit: 10 })
  t.same(found.items.map((r) => r.id), ['u3'], 'and found by its digested key (rewritten before the abort)')
  const late = await store.list(directoryId, 'User', { lookup: { key: 'externalId', value: `x${count - 1}` }, offset: 0, limit: 10 })
  t.same(late.items.map((r) => r.id), [`u${count - 1}`], 'as is one rewritten after the resume')
  const check = openSqlClient({ type: 'sqlite', url: (db as { url: string }).url })
  t.teardown(() => check.close())
  const left = await check.query<{ n: number }>('SELECT COUNT(*) AS n FROM dsync_scim_resources WHERE body NOT LIKE \'enc:v1:%\'')
  t.equal(Number(left.rows[0].n), 0, 'no body is left in the clear')
})

t.test('a database refuses another key, and no key', async (t) => {
  for (const engine of ENGINES) {
    await onEngine(t, engine, 'at_rest_keys', async (t, db) => {
      const first = Fastify()
      await first.register(fastifyDirectorySync, { db: { ...db, encryptionKey: KEY } as DbOptions, externalUrl })
      await first.close()
      const other = Fastify()
      await t.rejects(async () => { await other.register(fastifyDirectorySync, { db: { ...db, encryptionKey: OTHER_KEY } as DbOptions, externalUrl }) },
        { code: 'FST_DSYNC_ENCRYPTION_KEY_MISMATCH' }, 'another key is refused at registration')
      await other.close()
      const none = Fastify()
      await t.rejects(async () => { await none.register(fastifyDirectorySync, { db, externalUrl }) }, { code: 'FST_DSYNC_ENCRYPTION_KEY_REQUIRED' }, 'so is no key')
      await none.close()
      const same = Fastify()
      await same.register(fastifyDirectorySync, { db: { ...db, encryptionKey: KEY } as DbOptions, externalUrl })
      await same.ready()
      t.pass('the same key opens it')
      await same.close()
    })
  }
})

t.test('the codec: fresh ciphertexts, authenticated, digests and fingerprints bound to the key', async (t) => {
  const codec = encryptionCodec(KEY)
  const other = encryptionCodec(OTHER_KEY)
  const a = codec.seal(sent.userName)
  const b = codec.seal(sent.userName)
  t.not(a, b, 'the same value sealed twice gives two ciphertexts')
  t.equal(codec.open(a), sent.userName, 'each opens with the key')
  t.equal(codec.open(b), sent.userName, 'both')
  t.throws(() => other.open(a), { code: 'FST_DSYNC_DECRYPTION_FAILED' }, 'another key fails authentication')
  t.equal(other.tryOpen(a), null, 'tryOpen answers null for it')
  const tampered = a.slice(0, -4) + (a.endsWith('AAAA') ? 'BBBB' : 'AAAA')
  t.throws(() => codec.open(tampered), { code: 'FST_DSYNC_DECRYPTION_FAILED' }, 'a changed ciphertext fails authentication')
  t.equal(codec.digest(sent.userName), codec.digest(sent.userName), 'a digest is stable under one key')
  t.not(codec.digest(sent.userName), other.digest(sent.userName), 'and changes with the key')
  t.not(codec.digest(sent.userName), codec.digest(sent.second), 'and with the value')
  t.not(codec.fingerprint, other.fingerprint, 'fingerprints differ by key')
  t.notOk(a.includes(sent.userName) || codec.digest(sent.userName).includes(sent.userName), 'neither form holds the value')
})

// What a read costs under a key: each value opened is a cipher set up of its own, so a GET opens the body
// alone, and the keys as given (kept beside their digests) only when something asks for them.
t.test('a read opens the body alone, the keys as given when asked', async (t) => {
  const codec = encryptionCodec(KEY)
  const opened: string[] = []
  const counting = { ...codec, open: (stored: string) => { const text = codec.open(stored); opened.push(text); return text } }
  const storage = await openSqlStorage({ type: 'sqlite', url: (sqliteFile(t) as { url: string }).url }, { codec: counting })
  t.teardown(() => storage.close())
  const directoryId = randomUUID()
  const keys = { name: sent.userName, externalId: sent.externalId, displayName: sent.displayName.toLowerCase() }
  await storage.resources.insert({ directoryId, type: 'User', id: 'u1', keys, body: { userName: sent.userName, title: sent.title }, created: 'c', lastModified: 'c', version: 1 })
  opened.length = 0

  const read = await storage.resources.get(directoryId, 'User', 'u1')
  t.same(read?.body, { userName: sent.userName, title: sent.title }, 'the body is read')
  t.equal(opened.length, 1, 'one value opened for it')
  t.same(read?.keys, keys, 'the keys as given, when asked')
  t.equal(opened.length, 2, 'opened then')
  t.same(read?.keys, keys, 'and asked again')
  t.equal(opened.length, 2, 'not opened twice')
  t.same(JSON.parse(JSON.stringify(read)).keys, keys, 'a copy of the record carries them')
  read!.keys = { ...keys, externalId: null }
  t.equal(read!.keys.externalId, null, 'they can be replaced')
})

/** The rows of the plugin's own tables (or its Redis keys), as text. */
async function pluginTables (db: DbOptions): Promise<string> {
  if (db.engine === 'redis') return rawRead(db, 'dsync:scim:') // jackson's keys start with dsync: too
  const client = openSqlClient(db as { type: 'sqlite' | 'postgres' | 'mariadb', url: string })
  try {
    const parts: string[] = []
    for (const table of ['dsync_scim_resources', 'dsync_scim_members', 'dsync_events', 'dsync_event_cursors', 'dsync_event_failures']) {
      parts.push(JSON.stringify((await client.query(`SELECT * FROM ${table}`)).rows))
    }
    return parts.join('\n').toLowerCase()
  } finally {
    await client.close()
  }
}

/** The same client's requests, sent to another app. */
function rebound (app: FastifyInstance, scim: ScimClient): ScimClient['send'] {
  return (method, path, body) => body === undefined
    ? app.inject({ method, url: scim.base + path, headers: scim.auth })
    : app.inject({ method, url: scim.base + path, headers: { ...scim.auth, 'content-type': 'application/scim+json' }, payload: JSON.stringify(body) })
}
