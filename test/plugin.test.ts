// The plugin's public face: its exports, the decorator, and what it registers on the host.
import Fastify from 'fastify'
import t from 'tap'
import fastifyDirectorySync, { fastifyDirectorySync as named, errors } from '../src/index.js'
import { buildApp, externalUrl, mem } from './helpers/app.js'

t.test('default and named exports are the same plugin, with fastify-plugin metadata', async (t) => {
  t.equal(fastifyDirectorySync, named)
  const meta = (fastifyDirectorySync as any)[Symbol.for('plugin-meta')]
  t.equal(meta.name, 'fastify-directory-sync')
  t.equal(meta.fastify, '5.x')
})

t.test('every error has an FST_DSYNC_ code', async (t) => {
  for (const [name, ErrorClass] of Object.entries(errors)) {
    t.match(new (ErrorClass as any)('a', 'b', 'c').code, /^FST_DSYNC_[A-Z_]+$/, name)
  }
})

t.test('the decorator is visible to the host (the plugin is not encapsulated)', async (t) => {
  const app = await buildApp(t, mem)
  t.type(app.directorySync.directories.create, 'function')
  t.type(app.directorySync.requests.handle, 'function')
  const providers = app.directorySync.providers()
  t.same(Object.keys(providers).sort(), ['azure-scim-v2', 'generic-scim-v2', 'jumpcloud-scim-v2', 'okta-scim-v2', 'onelogin-scim-v2'])
})

t.test('registering twice on one instance is refused', async (t) => {
  const app = Fastify()
  t.after(() => app.close())
  app.register(fastifyDirectorySync, { db: mem, externalUrl })
  app.register(fastifyDirectorySync, { db: mem, externalUrl })
  await t.rejects(async () => { await app.ready() }, { code: 'FST_DSYNC_ALREADY_REGISTERED' })
})

t.test('calls after close are refused with FST_DSYNC_CLOSED', async (t) => {
  const app = Fastify()
  await app.register(fastifyDirectorySync, { db: mem, externalUrl })
  await app.close()
  await t.rejects(app.directorySync.directories.getAll(), { code: 'FST_DSYNC_CLOSED' })
})

t.test('close waits for calls in flight', async (t) => {
  const app = Fastify()
  await app.register(fastifyDirectorySync, { db: mem, externalUrl })
  const creating = app.directorySync.directories.create({ tenant: 'late', product: 'app' })
  const closing = app.close()
  const created = await creating
  await closing
  t.equal(created.error, null, 'the call started before close completed')
})
