// Pins the jackson behaviours this plugin works around, so that a jackson release that changes one is
// noticed (the workaround may then be dropped, or may need to change). Each test names its workaround.
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import * as dbModule from '@boxyhq/saml-jackson/dist/db/db.js'
import { createDirectorySync, openJacksonDb, type JacksonOptions } from '../../src/engine/jackson.js'
import { buildApp, mem, sqliteFile } from '../helpers/app.js'

const run = promisify(execFile)
const child = fileURLToPath(new URL('./children/raw-jackson.mjs', import.meta.url))
const quiet = { info () {}, warn () {}, error () {} }

async function raw (mode: string) {
  const { stdout } = await run(process.execPath, [child, mode], { timeout: 60_000 })
  return JSON.parse(stdout.trim().split('\n').pop()!)
}

t.test('raw requests.handle mixes tenants when calls interleave (workaround: engine/confinement.ts lanes)', async (t) => {
  const result = await raw('interleaved')
  t.equal(result.created, 40, 'jackson answers 201 to every create')
  t.ok(result.wrongTenant >= 1, `yet ${result.wrongTenant} of 40 users are not found through the directory they were sent to`)
  t.equal(result.globalDb, 'object', 'controllers() caches its connection in global.__jacksonDb (workaround: engine/jackson.ts opens with noCache)')
})

t.test('controllers() never settles when the database refuses connections (workaround: engine/probe.ts)', async (t) => {
  const result = await raw('unreachable')
  t.equal(result.settledWithin3s, false)
})

t.test('the plugin leaves jackson\'s process global alone', async (t) => {
  await buildApp(t, mem)
  t.equal((globalThis as any).__jacksonDb, undefined)
})

t.test('db.new with noCache opens independent handles, but still overwrites global.__jacksonDb (workaround: jackson.ts openJacksonDb restores it)', async (t) => {
  const factory = (dbModule as any).default.default ?? (dbModule as any).default
  const hostDb = { host: 'a host\'s own jackson connection' }
  ;(globalThis as any).__jacksonDb = hostDb
  t.after(() => { delete (globalThis as any).__jacksonDb })
  const rawOpen = factory.new({ db: { engine: 'mem' }, logger: quiet }, true)
  t.not((globalThis as any).__jacksonDb, hostDb, 'raw db.new replaced the host\'s handle')
  await (await rawOpen).close()
  ;(globalThis as any).__jacksonDb = hostDb
  const a = await openJacksonDb({ engine: 'mem' }, quiet)
  const b = await openJacksonDb({ engine: 'mem' }, quiet)
  t.after(async () => { await a.close(); await b.close() })
  t.not(a.db, b.db, 'two handles, two stores')
  t.equal((globalThis as any).__jacksonDb, hostDb, 'the host\'s handle is back in place')
})

t.test('the mem engine\'s close() leaves its TTL timer running (workaround: database.ts closeJacksonDb)', async (t) => {
  const db = await openJacksonDb({ engine: 'mem', ttl: 300 } as JacksonOptions['db'], quiet)
  const timer = db.db.timerId
  t.ok(timer, 'a TTL timer is running')
  await db.close()
  t.ok(timer!.hasRef(), 'and close() left it referenced, which would keep the process alive')
  clearTimeout(timer)
})

t.test('typeorm logs failed queries to the console by default (workaround: database.ts swaps its logger)', async (t) => {
  const db = await openJacksonDb(sqliteFile(t) as JacksonOptions['db'], quiet)
  t.after(() => db.close())
  t.match((db.db.dataSource!.logger as object).constructor.name, /ConsoleLogger/)
})

t.test('directories.update on an unknown id answers 500 (workaround: engine/index.ts checks first)', async (t) => {
  const db = await openJacksonDb({ engine: 'mem' }, quiet)
  t.after(() => db.close())
  const opts: JacksonOptions = { externalUrl: 'http://127.0.0.1', samlPath: '/sso', scimPath: '/scim', db: { engine: 'mem' }, logger: quiet, noAnalytics: true }
  const dsync = await createDirectorySync(db, opts)
  const raw = await dsync.directories.update('no-such-directory', { name: 'x' })
  t.equal(raw.error?.code, 500)
  const app = await buildApp(t, mem)
  const ours = await app.directorySync.directories.update('no-such-directory', { name: 'x' })
  t.equal(ours.error?.code, 404)
})

t.test('jackson\'s directories.update keeps scim.secret; DirectoryConfig.store() reaches the stored record (workaround: engine/jackson.ts rewriteDirectory)', async (t) => {
  const jacksonDb = await openJacksonDb({ engine: 'mem' }, quiet)
  t.after(() => jacksonDb.close())
  const set = await createDirectorySync(jacksonDb, { externalUrl: 'http://127.0.0.1:3000', samlPath: '/sso', scimPath: '/api/scim/v2.0', db: { engine: 'mem' }, logger: quiet } as unknown as JacksonOptions)
  const { data: directory } = await set.directories.create({ tenant: 'pin', product: 'p' })
  const updated = await set.directories.update(directory!.id, { scim: { path: directory!.scim.path, secret: 'replaced' } } as any)
  t.equal(updated.data?.scim.secret, directory!.scim.secret, 'update ignores a new scim.secret')
  const retyped = await set.directories.update(directory!.id, { type: 'okta-scim-v2' } as any)
  t.equal(retyped.data?.type, directory!.type, 'and a new type (workaround: setDirectoryType, for a setup link\'s provider picked again)')
  t.type((set.directories as any).store, 'function', 'DirectoryConfig has store()')
  const record = await (set.directories as any).store().get(directory!.id)
  t.equal(record.scim.secret, directory!.scim.secret, 'whose get() answers the stored record')
  await (set.directories as any).store().put(directory!.id, { ...record, scim: { ...record.scim, secret: 'put-directly' } })
  t.equal((await set.directories.get(directory!.id)).data?.scim.secret, 'put-directly', 'and whose put() is what get() then reads')
  t.same((await set.directories.getByTenantAndProduct('pin', 'p')).data?.map((d) => d.id), [directory!.id], 'a put without indexes keeps the record\'s index entries')
})
