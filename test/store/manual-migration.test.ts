// db.manualMigration: the plugin creates nothing, and registration on a database that lacks jackson's
// tables or a migration of the plugin's fails naming what is missing; `npm run migrate` applies both,
// after which registration succeeds.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import Database from 'better-sqlite3'
import Fastify from 'fastify'
import t, { type Test } from 'tap'
import fastifyDirectorySync, { type DbOptions } from '../../src/index.js'
import { externalUrl, sqliteFile } from '../helpers/app.js'
import { withService } from '../helpers/services.js'

const run = promisify(execFile)

async function manual (t: Test, db: DbOptions, tables: () => Promise<string[]>) {
  const options = { ...db, manualMigration: true } as DbOptions
  const first = Fastify()
  await t.rejects(async () => { await first.register(fastifyDirectorySync, { db: options, externalUrl }) }, {
    code: 'FST_DSYNC_MIGRATION_PENDING',
    message: /the table jackson_store.*migration 1 \(tables\).*migration 2/
  }, 'registration fails, naming what is missing')
  await first.close().catch(() => {})
  t.same((await tables()).filter((name) => /^(dsync_|jackson_)/.test(name)), [], 'and nothing was created')

  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'scripts/migrate.ts', '--db', JSON.stringify(db)], { timeout: 60_000 })
  t.match(stdout, /jackson's tables: up to date[\s\S]*migrations applied: 1 \(tables\), 2/, 'npm run migrate applies jackson\'s tables and the plugin\'s migrations')
  const again = await run(process.execPath, ['--import', 'tsx', 'scripts/migrate.ts', '--db', JSON.stringify(db)], { timeout: 60_000 })
  t.match(again.stdout, /migrations: up to date/, 'a second run has nothing to do')

  const second = Fastify()
  t.after(() => second.close())
  await second.register(fastifyDirectorySync, { db: options, externalUrl })
  const { data } = await second.directorySync.directories.create({ tenant: 'manual', product: 'p' })
  t.ok(data?.id, 'after migrating, registration succeeds and the plugin works')
}

t.test('sqlite', async (t) => {
  const db = sqliteFile(t) as DbOptions & { url: string }
  await manual(t, db, async () => {
    const file = new Database(db.url, { readonly: true, fileMustExist: false })
    try {
      return (file.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((r) => r.name)
    } finally {
      file.close()
    }
  })
})

t.test('postgres', (t) => withService(t, 'postgres', 'manual_migration', async (t, db) => {
  const pg = (await import('pg')).default
  await manual(t, db, async () => {
    const client = new pg.Client({ connectionString: (db as { url: string }).url })
    await client.connect()
    try {
      return (await client.query("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'")).rows.map((r) => r.name)
    } finally {
      await client.end()
    }
  })
}))

t.test('an encryptionKey set on existing data: the rewrite is pending until npm run migrate runs it with the key', async (t) => {
  const db = sqliteFile(t) as DbOptions & { url: string }
  const plain = Fastify()
  await plain.register(fastifyDirectorySync, { db, externalUrl })
  const { data: directory } = await plain.directorySync.directories.create({ tenant: 'manual-key', product: 'p' })
  const created = await plain.inject({
    method: 'POST',
    url: `/api/scim/v2.0/${directory!.id}/Users`,
    headers: { authorization: `Bearer ${directory!.scim.secret}`, 'content-type': 'application/scim+json' },
    payload: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'pending.rewrite@manual.example' })
  })
  t.equal(created.statusCode, 201)
  await plain.close()

  const keyed = { ...db, encryptionKey: 'm'.repeat(32) } as DbOptions
  const refused = Fastify()
  await t.rejects(async () => { await refused.register(fastifyDirectorySync, { db: { ...keyed, manualMigration: true } as DbOptions, externalUrl }) },
    { code: 'FST_DSYNC_MIGRATION_PENDING', message: /encryption of its stored data under db.encryptionKey/ }, 'registration names the pending rewrite')
  await refused.close().catch(() => {})
  const userNames = () => {
    const file = new Database(db.url, { readonly: true })
    try {
      return (file.prepare('SELECT name_key FROM dsync_scim_resources').all() as Array<{ name_key: string }>).map((r) => r.name_key)
    } finally {
      file.close()
    }
  }
  t.same(userNames(), ['pending.rewrite@manual.example'], 'and rewrote nothing')

  await run(process.execPath, ['--import', 'tsx', 'scripts/migrate.ts', '--db', JSON.stringify(keyed)], { timeout: 60_000 })
  t.notSame(userNames(), ['pending.rewrite@manual.example'], 'npm run migrate with the key rewrites the keys as digests')
  const after = Fastify()
  t.after(() => after.close())
  await after.register(fastifyDirectorySync, { db: { ...keyed, manualMigration: true } as DbOptions, externalUrl })
  const { data: users } = await after.directorySync.users.list(directory!.id)
  t.same(users?.map((u) => u.raw?.userName), ['pending.rewrite@manual.example'], 'after which registration succeeds and the user reads back')
})
