// An ESM consumer of the packed package (installed from the tarball, resolved through "exports" by name):
// registers the plugin, creates a directory and answers one SCIM request through app.inject.
import Fastify from 'fastify'
import fastifyDirectorySync, { fastifyDirectorySync as named, errors } from 'fastify-directory-sync'

if (fastifyDirectorySync !== named) throw new Error('default and named exports differ')
if (typeof errors.InvalidOptionError !== 'function') throw new Error('errors are not exported')

const app = Fastify()
await app.register(fastifyDirectorySync, { db: { engine: 'mem' }, externalUrl: 'http://127.0.0.1:3000' })
const events = []
app.directorySync.addHook('onScimEvent', async function (event) { events.push(event.event) })
const { data: directory, error } = await app.directorySync.directories.create({ tenant: 't', product: 'p' })
if (error || !directory.scim.endpoint) throw new Error('directory not created: ' + JSON.stringify(error))

const res = await app.inject({
  method: 'POST',
  url: `${new URL(directory.scim.endpoint).pathname}/Users`,
  headers: { authorization: `Bearer ${directory.scim.secret}`, 'content-type': 'application/scim+json' },
  payload: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'a@b.example' }
})
if (res.statusCode !== 201) throw new Error(`SCIM POST /Users answered ${res.statusCode}: ${res.body}`)
if (res.json().userName !== 'a@b.example') throw new Error('unexpected SCIM body: ' + res.body)
if (!events.includes('user.created')) throw new Error('onScimEvent did not see user.created: ' + JSON.stringify(events))

// The admin subpath: its routes under a prefix, confined by tenantOf, with the host's auth hook.
const { directorySyncAdmin } = await import('fastify-directory-sync/admin')
// A second app: the first one has booted (inject), so nothing more can be registered on it.
const host = Fastify()
await host.register(fastifyDirectorySync, { db: { engine: 'mem' }, externalUrl: 'http://127.0.0.1:3000' })
await host.directorySync.directories.create({ tenant: 't2', product: 'p' })
await host.register(directorySyncAdmin, { prefix: '/admin', onRequest: async () => {}, tenantOf: () => ({ tenant: 't2', product: 'p' }) })
const listed = await host.inject({ url: '/admin/directories' })
if (listed.statusCode !== 200 || listed.json().total !== 1) throw new Error(`GET /admin/directories answered ${listed.statusCode}: ${listed.body}`)
await host.close()
await app.close()
console.log('esm consumer: ok (201, user.created delivered, admin routes listed 1 directory)')
