// jackson's store on the SQL engines is served by the plugin's driver (src/engine/jackson-driver.ts), not
// by jackson's typeorm driver (dist/db/sql/sql.js). Pinned here: the same calls, made through both on two
// databases of the same engine, answer the same and leave the same rows; typeorm still creates jackson's
// tables, once per jackson version and database, and a process that finds them in place never loads it.
import { execFile } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import type { DbOptions } from '../../src/index.js'
import { jacksonSchemaIsCurrent, recordJacksonSchema, sqlJacksonDriver, type JacksonDriver } from '../../src/engine/jackson-driver.js'
import { openSqlClient, type SqlConnection } from '../../src/store/sql-client.js'
import { withService } from '../helpers/services.js'

const require = createRequire(import.meta.url)
const root = fileURLToPath(new URL('../../', import.meta.url))
const JACKSON_VERSION: string = require('@boxyhq/saml-jackson/package.json').version
const OPTIONS = { pageLimit: 50, ttl: 300, cleanupLimit: 1000, manualMigration: false }
const silent = { info () {}, warn () {}, error () {} }

// jackson's own driver, built as its db.js builds it for `type`, with that engine's entities.
async function jacksonDriver (t: Test | null, db: DbOptions & { type: string }): Promise<JacksonDriver> {
  const folder = { sqlite: 'sql/sqlite/entity', mariadb: 'sql/mariadb/entity', mysql: 'sql/mariadb/entity', postgres: 'sql/entity' }[db.type]!
  const entities = Object.fromEntries(['JacksonStore', 'JacksonIndex', 'JacksonTTL'].map((name) =>
    [name, require(`@boxyhq/saml-jackson/dist/db/${folder}/${name}.js`)[name]]))
  const sql = require('@boxyhq/saml-jackson/dist/db/sql/sql.js').default
  const driver = await sql.new({ db: { ...OPTIONS, ...db }, logger: silent }, entities) as JacksonDriver
  t?.teardown(() => driver.close())
  return driver
}

// The plugin's, on a database whose tables jackson's driver created (as database.ts has typeorm do first).
async function pluginDriver (t: Test, db: DbOptions & { type: string, url: string }): Promise<JacksonDriver> {
  await (await jacksonDriver(null, db)).close()
  const driver = sqlJacksonDriver(openSqlClient(db as SqlConnection), OPTIONS)
  t.teardown(() => driver.close())
  return driver
}

const NS = 'dsync:users:acme:app'
const OTHER = 'dsync:groups:acme:app'
const byDirectory = { name: 'directoryId', value: 'd1' }
const byEmail = { name: 'email', value: 'a@example.com' }

// Every call jackson's directory sync makes of its store, in sequences that meet each rule of sql.js:
// a put again keeps the record's index entries and adds none twice, a delete takes them along, a TTL
// record, a delete of keys that are not there, values with and without iv and tag.
const steps: Array<[string, (d: JacksonDriver) => Promise<unknown>]> = [
  ['put k1', (d) => d.put(NS, 'k1', { value: '{"n":1}' }, 0, byDirectory)],
  ['put k2 (encrypted form, two indexes)', (d) => d.put(NS, 'k2', { value: 'c2', iv: 'iv2', tag: 'tag2' }, 0, byDirectory, byEmail)],
  ['put k1 again', (d) => d.put(NS, 'k1', { value: '{"n":2}' }, 0, byDirectory)],
  ['put k3 with a TTL', (d) => d.put(NS, 'k3', { value: '{"n":3}' }, 60, byDirectory)],
  ['put g1 elsewhere', (d) => d.put(OTHER, 'g1', { value: '{"g":1}' }, 0, byDirectory)],
  ['delete k2', (d) => d.delete(NS, 'k2')],
  ['put k2 again', (d) => d.put(NS, 'k2', { value: '{"n":22}' }, 0, byDirectory)],
  ['deleteMany k3 and one not there', (d) => d.deleteMany(NS, ['k3', 'nothing'])],
  ['deleteMany of none', (d) => d.deleteMany(NS, [])],
  ['put k4', (d) => d.put(NS, 'k4', { value: '{"n":4}' }, 0, byDirectory, byEmail)]
]

// What each driver answers after a step. getAll's order is by createdAt, which jackson's own driver writes
// to the second on sqlite: compared as sets, and the plugin's order is checked on its own below.
async function answers (d: JacksonDriver) {
  const values = (page: { data: Array<{ value: string, iv?: string | null, tag?: string | null }> }) =>
    page.data.map((v) => [v.value, v.iv ?? null, v.tag ?? null])
  return {
    get: await Promise.all(['k1', 'k2', 'k3', 'k4', 'nothing'].map((k) => d.get(NS, k).then((v) => v && [v.value, v.iv ?? null, v.tag ?? null]))),
    all: values(await d.getAll(NS)).sort(),
    allOther: values(await d.getAll(OTHER)),
    indexDesc: values(await d.getByIndex(NS, byDirectory)),
    indexAsc: values(await d.getByIndex(NS, byDirectory, 0, 50, undefined, 'ASC')),
    indexPage: values(await d.getByIndex(NS, byDirectory, 1, 1)),
    email: values(await d.getByIndex(NS, byEmail)),
    count: await d.getCount(NS),
    countIndex: await d.getCount(NS, byDirectory),
    countNone: await d.getCount(NS, { name: 'email', value: 'nobody' })
  }
}

async function rows (db: DbOptions) {
  const client = openSqlClient(db as SqlConnection)
  const key = client.dialect === 'mysql' ? '`key`' : '"key"'
  const sk = client.dialect === 'mysql' ? 'storeKey' : '"storeKey"'
  try {
    return {
      store: (await client.query(`SELECT ${key} AS k, namespace, value, iv, tag FROM jackson_store ORDER BY ${key}`)).rows,
      index: (await client.query(`SELECT ${key} AS k, ${sk} AS s FROM jackson_index ORDER BY id`)).rows,
      ttl: (await client.query(`SELECT ${key} AS k FROM jackson_ttl ORDER BY ${key}`)).rows
    }
  } finally {
    await client.close()
  }
}

async function compare (t: Test, jacksonDb: DbOptions & { type: string, url: string }, pluginDb: DbOptions & { type: string, url: string }) {
  const theirs = await jacksonDriver(t, jacksonDb)
  const ours = await pluginDriver(t, pluginDb)
  for (const [name, step] of steps) {
    await step(theirs)
    await step(ours)
    t.same(await answers(ours), await answers(theirs), `after ${name}: the same answers`)
  }
  t.same(await rows(pluginDb), await rows(jacksonDb), 'the same rows in jackson_store, jackson_index and jackson_ttl')
  const newestFirst = (await ours.getAll(NS)).data.map((v) => v.value)
  t.same(newestFirst, ['{"n":4}', '{"n":22}', '{"n":2}'], 'getAll lists newest first (by createdAt; a put again keeps it)')
  t.same((await ours.getAll(NS, 0, 50, undefined, 'ASC')).data.map((v) => v.value), [...newestFirst].reverse(), 'ASC the other way')
  t.same((await ours.getAll(NS, 1, 1)).data.map((v) => v.value), ['{"n":22}'], 'a page of one from the second')
}

t.test('sqlite: the plugin\'s driver answers and writes as jackson\'s typeorm driver', async (t) => {
  const folder = mkdtempSync(join(tmpdir(), 'dsync-driver-'))
  await compare(t, { engine: 'sql', type: 'sqlite', url: join(folder, 'jackson.db') }, { engine: 'sql', type: 'sqlite', url: join(folder, 'plugin.db') })
})

for (const kind of ['postgres', 'mariadb'] as const) {
  t.test(`${kind}: the plugin's driver answers and writes as jackson's typeorm driver`, (t) =>
    withService(t, kind, 'jackson_driver_theirs', (t, theirs) =>
      withService(t, kind, 'jackson_driver_ours', (t, ours) => compare(t, theirs as never, ours as never))))
}

t.test('the schema mark: none, another version, this version', async (t) => {
  const client = openSqlClient({ type: 'sqlite', url: join(mkdtempSync(join(tmpdir(), 'dsync-mark-')), 'd.db') })
  t.teardown(() => client.close())
  t.equal(await jacksonSchemaIsCurrent(client, JACKSON_VERSION), false, 'nothing recorded: not current')
  await recordJacksonSchema(client, '0.0.1')
  t.equal(await jacksonSchemaIsCurrent(client, JACKSON_VERSION), false, 'another version recorded: not current')
  await recordJacksonSchema(client, JACKSON_VERSION)
  t.equal(await jacksonSchemaIsCurrent(client, JACKSON_VERSION), true, 'this version recorded: current')
  t.same((await client.query('SELECT jackson FROM dsync_jackson_schema')).rows, [{ jackson: JACKSON_VERSION }], 'one row')
})

// A child process: registers on a sqlite file, answers one SCIM request, says whether typeorm was loaded.
const CHILD = `
import Fastify from 'fastify'
import { createRequire } from 'node:module'
import plugin from './src/index.ts'
const app = Fastify()
await app.register(plugin, { db: { engine: 'sql', type: 'sqlite', url: process.argv[1] }, externalUrl: 'http://127.0.0.1:3000' })
const found = await app.directorySync.directories.getByTenantAndProduct('t', 'p')
const directory = found.data?.[0] ?? (await app.directorySync.directories.create({ tenant: 't', product: 'p' })).data
const res = await app.inject({ url: new URL(directory.scim.endpoint).pathname + '/Users', headers: { authorization: 'Bearer ' + directory.scim.secret } })
await app.close()
const typeorm = Object.keys(createRequire(import.meta.url).cache).some((f) => f.includes('/node_modules/typeorm/'))
console.log(JSON.stringify({ status: res.statusCode, typeorm, id: directory.id }))
`
function start (url: string): Promise<{ status: number, typeorm: boolean, id: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD, url], { cwd: root, timeout: 60_000 }, (err, stdout) => {
      if (err !== null) return reject(err)
      resolve(JSON.parse(stdout.trim().split('\n').pop()!))
    })
  })
}

t.test('typeorm creates jackson\'s tables once per jackson version; a start that finds them never loads it', async (t) => {
  const url = join(mkdtempSync(join(tmpdir(), 'dsync-typeorm-')), 'd.db')
  const first = await start(url)
  t.equal(first.status, 200, 'first start: SCIM answers')
  t.equal(first.typeorm, true, 'first start: typeorm created jackson\'s tables')
  const second = await start(url)
  t.same([second.status, second.typeorm, second.id], [200, false, first.id], 'next start: the same directory served, typeorm not loaded')
  const client = openSqlClient({ type: 'sqlite', url })
  await recordJacksonSchema(client, '0.0.1')
  await client.close()
  const upgraded = await start(url)
  t.same([upgraded.status, upgraded.typeorm, upgraded.id], [200, true, first.id], 'after another jackson version: typeorm synchronises them again')
  const check = openSqlClient({ type: 'sqlite', url })
  t.teardown(() => check.close())
  t.equal(await jacksonSchemaIsCurrent(check, JACKSON_VERSION), true, 'and the mark says this version')
})

t.test('an in-memory sqlite database keeps jackson\'s own driver (its tables exist only on its connection)', async (t) => {
  const { default: Fastify } = await import('fastify')
  const { default: plugin } = await import('../../src/index.js')
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(plugin, { db: { engine: 'sql', type: 'sqlite', url: ':memory:' }, externalUrl: 'http://127.0.0.1:3000' })
  const created = await app.directorySync.directories.create({ tenant: 't', product: 'p' })
  t.equal(created.error, null, 'a directory is created')
  const res = await app.inject({ url: new URL(created.data!.scim.endpoint!).pathname + '/Users', headers: { authorization: 'Bearer ' + created.data!.scim.secret } })
  t.equal(res.statusCode, 200, 'and served')
  const { openCore } = await import('../../src/engine/core.js')
  const core = await openCore({ db: { engine: 'sql', type: 'sqlite', url: ':memory:' }, externalUrl: 'http://127.0.0.1:3000', samlPath: '/saml', scimPath: '/scim', connectTimeout: 10_000 }, Fastify().log, 1)
  t.teardown(() => core.close())
  const logger = (core.lease.database.db.db as { dataSource?: { logger: object } }).dataSource?.logger
  t.notMatch(logger?.constructor.name, /ConsoleLogger/, 'typeorm\'s failed queries go to the Fastify logger there, not the console')
})

t.test('the TTL clean-up removes expired records, and stops with close()', async (t) => {
  const db = { engine: 'sql', type: 'sqlite', url: join(mkdtempSync(join(tmpdir(), 'dsync-ttl-')), 'd.db') } as const
  await (await jacksonDriver(null, db as never)).close() // jackson's tables
  const driver = sqlJacksonDriver(openSqlClient(db), { pageLimit: 50, ttl: 0.05, cleanupLimit: 1 })
  await driver.put(NS, 'short', { value: '{"n":1}' }, 0.01, byDirectory)
  await driver.put(NS, 'shorter', { value: '{"n":2}' }, 0.01)
  await driver.put(NS, 'kept', { value: '{"n":3}' }, 0, byDirectory)
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.same(await Promise.all(['short', 'shorter', 'kept'].map((k) => driver.get(NS, k).then((v) => v?.value ?? null))), [null, null, '{"n":3}'], 'the expired records are gone, one clean-up batch at a time')
  t.same((await driver.getByIndex(NS, byDirectory)).data.map((v) => v.value), ['{"n":3}'], 'with their index entries')
  const last = driver.timerId
  t.ok(last !== undefined, 'the clean-up is scheduled again')
  await driver.close()
  await new Promise((resolve) => setTimeout(resolve, 120))
  t.equal(driver.timerId, last, 'and not after close()')
})
