// The controller on every engine the plugin supports: directories, users, groups and members, and that
// what is stored survives closing and reopening (where the engine keeps data).
import Database from 'better-sqlite3'
import Fastify from 'fastify'
import t, { type Test } from 'tap'
import fastifyDirectorySync, { type DbOptions } from '../../src/index.js'
import { buildApp, externalUrl, mem, scimUser, sqliteFile } from '../helpers/app.js'
import { createDirectory } from '../helpers/directory.js'
import { withService } from '../helpers/services.js'

async function exercise (t: Test, db: DbOptions, persistent = true) {
  const first = Fastify()
  await first.register(fastifyDirectorySync, { db, externalUrl })
  const dsync = first.directorySync
  const directory = await createDirectory(first, 'acme')
  t.equal(directory.scim.endpoint, `${externalUrl}/api/scim/v2.0/${directory.id}`, 'the SCIM endpoint is built from externalUrl and scimPath')
  t.equal(directory.type, 'generic-scim-v2')

  const scim = (method: string, resourceType: string, body?: unknown, resourceId?: string) => dsync.requests.handle({
    method, directoryId: directory.id, resourceType, resourceId, apiSecret: directory.scim.secret, query: {}, body
  })
  const user = await scim('POST', 'users', scimUser('jane.doe@acme.example.com'))
  t.equal(user.status, 201)
  const group = await scim('POST', 'groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Sales', members: [] })
  t.equal(group.status, 201)
  const patch = await scim('PATCH', 'groups', {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations: [{ op: 'add', path: 'members', value: [{ value: user.data.id }] }]
  }, group.data.id)
  t.equal(patch.status, 200)

  t.same((await dsync.users.list(directory.id)).data?.map((u) => u.email), ['jane.doe@acme.example.com'])
  t.equal((await dsync.users.get(directory.id, user.data.id)).data?.first_name, 'jane')
  t.same((await dsync.groups.list(directory.id)).data?.map((g) => g.name), ['Sales'])
  t.equal((await dsync.groups.get(directory.id, group.data.id)).data?.name, 'Sales')
  t.same((await dsync.groups.members(directory.id, group.data.id)).data, [{ user_id: user.data.id }])
  t.equal((await dsync.users.get(directory.id, 'no-such-user')).error?.code, 404)
  t.equal((await dsync.users.list('no-such-directory')).error?.code, 404)
  t.same((await dsync.directories.getByTenantAndProduct('acme', 'app')).data?.map((d) => d.id), [directory.id])
  t.equal((await dsync.directories.update(directory.id, { name: 'Acme Corp' })).data?.name, 'Acme Corp')
  t.ok(dsync.providers()['azure-scim-v2'], 'providers are listed')
  await first.close()

  if (persistent) {
    const second = await buildApp(t, db)
    t.equal((await second.directorySync.directories.get(directory.id)).data?.name, 'Acme Corp', 'the directory survives a restart')
    t.equal((await second.directorySync.users.list(directory.id)).data?.length, 1, 'and its user')
    t.equal((await second.directorySync.directories.delete(directory.id)).error, null)
    t.equal((await second.directorySync.users.list(directory.id)).error?.code, 404, 'deleting the directory removes it')
  }
}

t.test('mem', (t) => exercise(t, mem, false))
t.test('sqlite file', (t) => exercise(t, sqliteFile(t)))
t.test('postgres', (t) => withService(t, 'postgres', 'engines', exercise))
t.test('mariadb', (t) => withService(t, 'mariadb', 'engines', exercise))
t.test('redis', (t) => withService(t, 'redis', 'engines', exercise))

t.test('with an encryptionKey, the SCIM secret is not stored in clear', async (t) => {
  const db = { ...sqliteFile(t), encryptionKey: 'k'.repeat(32) } as DbOptions & { url: string }
  const app = await buildApp(t, db)
  const directory = await createDirectory(app, 'secretive')
  const raw = new Database(db.url, { readonly: true })
  t.after(() => raw.close())
  const values = raw.prepare('SELECT value FROM jackson_store').all() as Array<{ value: string }>
  t.ok(values.length > 0)
  t.notOk(values.some((v) => v.value.includes(directory.scim.secret)), 'no stored row contains the secret')
})
