// directories.rotateToken(id): a new bearer token, the old one refused at once by the process that
// rotated it and within the directory cache window (2 s) by another instance on the same database;
// unknown ids and directories without SCIM answer errors, not exceptions. And the controller's
// webhook_url check.
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import type { Directory } from '../../src/index.js'
import { buildApp, scimUser, sqliteFile } from '../helpers/app.js'
import { SCIM, sleep } from '../helpers/scim.js'

const post = (app: FastifyInstance, directory: Directory, token: string, userName: string) => app.inject({
  method: 'POST',
  url: `${new URL(directory.scim.endpoint!).pathname}/Users`,
  headers: { authorization: `Bearer ${token}`, 'content-type': SCIM },
  payload: JSON.stringify(scimUser(userName))
})

t.test('a rotated token: the old one refused, the new one accepted, in this process and then in another', async (t) => {
  const db = sqliteFile(t)
  const app = await buildApp(t, db)
  const other = await buildApp(t, db) // a second registration: an instance with a directory cache of its own
  const { data: directory } = await app.directorySync.directories.create({ tenant: 'acme', product: 'app' })
  const old = directory!.scim.secret
  t.equal((await post(other, directory!, old, 'warm@acme.example')).statusCode, 201, 'the other instance has the directory cached')

  const { data: rotated, error } = await app.directorySync.directories.rotateToken(directory!.id)
  t.equal(error, null)
  t.not(rotated!.scim.secret, old, 'a new secret')
  t.equal(rotated!.scim.endpoint, directory!.scim.endpoint, 'the same endpoint')
  t.equal((await app.directorySync.directories.get(directory!.id)).data?.scim.secret, rotated!.scim.secret, 'get answers the new secret')
  t.equal((await post(app, directory!, old, 'a@acme.example')).statusCode, 401, 'this process refuses the old token at once')
  t.equal((await post(app, directory!, rotated!.scim.secret, 'b@acme.example')).statusCode, 201, 'and takes the new one')

  await sleep(2200)
  t.equal((await post(other, directory!, old, 'c@acme.example')).statusCode, 401, 'the other instance refuses the old token after its cache window')
  t.equal((await post(other, directory!, rotated!.scim.secret, 'd@acme.example')).statusCode, 201, 'and takes the new one')
})

t.test('rotateToken errors', async (t) => {
  const app = await buildApp(t, sqliteFile(t))
  const unknown = await app.directorySync.directories.rotateToken('00000000-0000-4000-8000-000000000000')
  t.equal(unknown.error?.code, 404, 'an unknown directory: 404')
  // A directory without SCIM (google) cannot be created any more, so rotateToken's 400 for one is not reachable here.
})

t.test('webhook_url must be an http(s) URL', async (t) => {
  const app = await buildApp(t, sqliteFile(t))
  for (const url of ['not a url', 'ftp://hooks.example.com/x', 'javascript:alert(1)']) {
    const created = await app.directorySync.directories.create({ tenant: 'acme', product: 'app', webhook_url: url, webhook_secret: 's' })
    t.equal(created.error?.code, 400, `create refuses ${JSON.stringify(url)}`)
    t.match(created.error?.message, /webhook_url must be an http or https URL/)
  }
  t.same((await app.directorySync.directories.getAll()).data, [], 'and stored nothing')
  const { data: directory } = await app.directorySync.directories.create({ tenant: 'acme', product: 'app', webhook_url: 'https://hooks.example.com/x', webhook_secret: 's' })
  t.ok(directory, 'an https URL is taken')
  t.equal((await app.directorySync.directories.update(directory!.id, { webhook_url: 'not a url' })).error?.code, 400, 'update refuses one too')
  t.equal((await app.directorySync.directories.update(directory!.id, { webhook_url: '' })).error, null, '\'\' removes the webhook')
})

t.test('a rotation with a grace period: both tokens work until it ends, then only the new one', async (t) => {
  const app = await buildApp(t, sqliteFile(t))
  const { data: directory } = await app.directorySync.directories.create({ tenant: 'acme', product: 'app' })
  const old = directory!.scim.secret
  const { data: rotated } = await app.directorySync.directories.rotateToken(directory!.id, { graceSeconds: 2 })
  t.equal((await post(app, directory!, old, 'a@acme.example')).statusCode, 201, 'the old token still works during the grace period')
  t.equal((await post(app, directory!, rotated!.scim.secret, 'b@acme.example')).statusCode, 201, 'so does the new one')
  t.equal((await post(app, directory!, 'not-a-token', 'x@acme.example')).statusCode, 401, 'any other token is refused')
  await sleep(2200)
  t.equal((await post(app, directory!, old, 'c@acme.example')).statusCode, 401, 'after the grace period the old token is refused')
  t.equal((await post(app, directory!, rotated!.scim.secret, 'd@acme.example')).statusCode, 201)
  t.match(await app.directorySync.directories.rotateToken(directory!.id, { graceSeconds: -1 }), { error: { code: 400 } }, 'a negative grace is refused')
  // A rotation without grace ends a running one at once.
  const { data: again } = await app.directorySync.directories.rotateToken(directory!.id, { graceSeconds: 60 })
  await app.directorySync.directories.rotateToken(directory!.id)
  t.equal((await post(app, directory!, again!.scim.secret, 'e@acme.example')).statusCode, 401, 'a rotation without grace ends the previous one')
})

t.test('google is not offered; directories.list and the pages answer totals', async (t) => {
  const app = await buildApp(t, sqliteFile(t))
  t.notOk('google' in app.directorySync.providers(), 'providers() leaves google out')
  t.match(await app.directorySync.directories.create({ tenant: 'acme', product: 'app', type: 'google' }), { data: null, error: { code: 400 } })
  for (const tenant of ['b-corp', 'a-corp', 'a-corp']) await app.directorySync.directories.create({ tenant, product: 'app' })
  await app.directorySync.directories.create({ tenant: 'a-corp', product: 'other' })
  const all = (await app.directorySync.directories.list()).data!
  t.equal(all.total, 4)
  t.same(all.items.map((d) => `${d.tenant}/${d.product}`), ['a-corp/app', 'a-corp/app', 'a-corp/other', 'b-corp/app'], 'in order of tenant and product')
  t.ok(all.items.every((d) => d.scim.endpoint?.endsWith(d.id)), 'with their endpoints')
  const scoped = (await app.directorySync.directories.list({ tenant: 'a-corp', product: 'app', offset: 1, limit: 5 })).data!
  t.same([scoped.total, scoped.items.length], [2, 1], 'one tenant and product, a later page')
  t.equal((await app.directorySync.directories.list({ tenant: 'a-corp' })).data!.total, 3)

  const directory = all.items[3]
  for (const name of ['ann', 'bob', 'cy']) t.equal((await post(app, directory, directory.scim.secret, `${name}@b.example`)).statusCode, 201)
  const page = (await app.directorySync.users.page(directory.id, { pageOffset: 1, pageLimit: 1 })).data!
  t.same([page.total, page.items.length], [3, 1], 'users.page: one user of three')
  t.same((await app.directorySync.groups.page(directory.id)).data, { items: [], total: 0 })
  t.match(await app.directorySync.groups.membersPage(directory.id, 'nope'), { error: { code: 404 } })
})
