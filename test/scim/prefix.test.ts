// The URLs handed out follow the registration: the prefix of the context the plugin is registered in
// (and a `prefix` given with the plugin's own options) is part of scim.endpoint wherever the controller
// answers a directory, of Location and of meta.location; a scimPath changed after directories were
// created gives their endpoints under the new path (jackson stored the old one); Fastify's register
// options logLevel and logSerializers apply to the SCIM routes.
import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import fastifyDirectorySync, { type DbOptions, type Directory, type DirectorySyncOptions } from '../../src/index.js'
import { externalUrl, mem, scimUser, sqliteFile } from '../helpers/app.js'
import { SCIM } from '../helpers/scim.js'

/**
 * An app whose plugin is registered inside a child context with `prefix`: requests go to the app, the
 * decorator is the child's (the app's own routes cannot see it, as Fastify's encapsulation wants).
 */
async function nested (t: Test, prefix: string, options: Partial<DirectorySyncOptions> & { prefix?: string } = {}, db: DbOptions = mem): Promise<FastifyInstance> {
  const app = Fastify()
  t.after(() => app.close())
  let inner: FastifyInstance | undefined
  await app.register(async (child) => {
    await child.register(fastifyDirectorySync, { db, externalUrl, ...options } as DirectorySyncOptions)
    inner = child
  }, { prefix })
  await app.ready()
  return Object.assign(app, { directorySync: inner!.directorySync })
}

/** POSTs a user to the directory's endpoint as an identity provider would, from the URL handed out. */
async function provision (app: FastifyInstance, directory: Directory, userName: string) {
  // Entra's Tenant URL ends in /?aadOptscim062020: its path, less the final slash, is the base.
  const path = new URL(directory.scim.endpoint!).pathname.replace(/\/$/, '')
  return app.inject({
    method: 'POST', url: `${path}/Users`, headers: { authorization: `Bearer ${directory.scim.secret}`, 'content-type': SCIM }, payload: JSON.stringify(scimUser(userName))
  })
}

t.test('under a prefix, every URL handed out answers', async (t) => {
  const app = await nested(t, '/tenant-api')
  const { data: directory } = await app.directorySync.directories.create({ tenant: 'acme', product: 'app' })
  const expected = `${externalUrl}/tenant-api/api/scim/v2.0/${directory!.id}`
  t.equal(directory!.scim.endpoint, expected, 'create answers the prefixed endpoint')
  t.equal(directory!.scim.path, `/tenant-api/api/scim/v2.0/${directory!.id}`, 'and path')
  t.equal((await app.directorySync.directories.get(directory!.id)).data?.scim.endpoint, expected, 'get too')
  t.equal((await app.directorySync.directories.update(directory!.id, { name: 'renamed' })).data?.scim.endpoint, expected, 'update too')
  t.same((await app.directorySync.directories.getAll()).data?.map((d) => d.scim.endpoint), [expected], 'getAll too')
  t.same((await app.directorySync.directories.getByTenantAndProduct('acme', 'app')).data?.map((d) => d.scim.endpoint), [expected], 'getByTenantAndProduct too')

  const created = await provision(app, directory!, 'ann@acme.example')
  t.equal(created.statusCode, 201, 'the endpoint answers')
  const user = created.json()
  t.equal(created.headers.location, `${expected}/Users/${user.id}`, 'Location is under the prefix')
  t.equal(user.meta.location, `${expected}/Users/${user.id}`, 'so is meta.location')
  const config = await app.inject({ method: 'GET', url: `/tenant-api/api/scim/v2.0/${directory!.id}/ServiceProviderConfig`, headers: { authorization: `Bearer ${directory!.scim.secret}` } })
  t.equal(config.json().meta.location, `${expected}/ServiceProviderConfig`, 'discovery documents too')
  const unprefixed = await app.inject({ method: 'GET', url: `/api/scim/v2.0/${directory!.id}/Users`, headers: { authorization: `Bearer ${directory!.scim.secret}` } })
  t.equal(unprefixed.statusCode, 404, 'nothing answers outside the prefix')
})

t.test('a prefix given with the plugin\'s options is added after the context\'s', async (t) => {
  const app = await nested(t, '/outer', { prefix: '/inner' })
  const { data: directory } = await app.directorySync.directories.create({ tenant: 'acme', product: 'app' })
  t.equal(directory!.scim.endpoint, `${externalUrl}/outer/inner/api/scim/v2.0/${directory!.id}`)
  t.equal((await provision(app, directory!, 'ann@acme.example')).statusCode, 201, 'and it answers')
})

t.test('Entra\'s Tenant URL keeps its flag under a prefix', async (t) => {
  const app = await nested(t, '/tenant-api')
  const { data: directory } = await app.directorySync.directories.create({ tenant: 'acme', product: 'app', type: 'azure-scim-v2' })
  t.equal(directory!.scim.endpoint, `${externalUrl}/tenant-api/api/scim/v2.0/${directory!.id}/?aadOptscim062020`)
  t.equal((await provision(app, directory!, 'ann@acme.example')).statusCode, 201, 'its path answers')
})

t.test('a scimPath changed after a directory was created: its endpoint follows', async (t) => {
  const db = sqliteFile(t)
  const first = await nested(t, '', {}, db)
  const { data: directory } = await first.directorySync.directories.create({ tenant: 'acme', product: 'app' })
  t.equal(directory!.scim.endpoint, `${externalUrl}/api/scim/v2.0/${directory!.id}`)
  await first.close()
  const second = await nested(t, '/v2', { scimPath: '/scim' }, db)
  const { data: again } = await second.directorySync.directories.get(directory!.id)
  t.equal(again!.scim.endpoint, `${externalUrl}/v2/scim/${directory!.id}`, 'the endpoint is computed from the current registration')
  t.equal((await provision(second, again!, 'ann@acme.example')).statusCode, 201, 'and answers')
})

t.test('logLevel and logSerializers given with the plugin apply to the SCIM routes', async (t) => {
  const lines: any[] = []
  const stream = new Writable({ write (chunk, _encoding, done) { lines.push(JSON.parse(String(chunk))); done() } })
  const app = Fastify({ logger: { level: 'info', stream } })
  t.after(() => app.close())
  app.get('/health', async () => 'ok')
  await app.register(fastifyDirectorySync, { db: mem, externalUrl, logLevel: 'warn' } as DirectorySyncOptions)
  const { data: directory } = await app.directorySync.directories.create({ tenant: 'acme', product: 'app' })
  await app.inject({ method: 'GET', url: '/health' })
  const before = lines.length
  t.equal((await provision(app, directory!, 'ann@acme.example')).statusCode, 201)
  t.ok(lines.slice(0, before).some((line) => line.msg === 'incoming request'), 'the host\'s routes log requests at info')
  t.notOk(lines.slice(before).some((line) => line.msg === 'incoming request'), 'the SCIM routes do not (logLevel warn)')

  const serialized: any[] = []
  const withSerializers = Fastify({ logger: { level: 'info', stream: new Writable({ write (chunk, _encoding, done) { serialized.push(JSON.parse(String(chunk))); done() } }) } })
  t.after(() => withSerializers.close())
  await withSerializers.register(fastifyDirectorySync, { db: mem, externalUrl, logSerializers: { req: (req: any) => `SCIM ${req.method}` } } as unknown as DirectorySyncOptions)
  const { data: other } = await withSerializers.directorySync.directories.create({ tenant: 'acme', product: 'other' })
  await provision(withSerializers, other!, 'bob@acme.example')
  t.ok(serialized.some((line) => line.req === 'SCIM POST'), 'the SCIM routes log with the serializers given')
})
