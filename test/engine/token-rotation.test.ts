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
  const { data: google } = await app.directorySync.directories.create({ tenant: 'acme', product: 'google', type: 'google' })
  const refused = await app.directorySync.directories.rotateToken(google!.id)
  t.equal(refused.error?.code, 400, 'a directory without SCIM has no token: 400')
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
