// Lifecycle events: a directory created, renamed, deactivated, reactivated, its token rotated, deleted:
// each recorded in the directory's own sequence and delivered in order to the hooks that ask for them
// (and to webhooks when the host opts in), never with a secret; hooks and webhooks that did not ask
// get only the SCIM events, as before.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import type { DirectoryEvent, ScimEvent } from '../../src/index.js'
import { buildApp } from '../helpers/app.js'
import { onSqlEngines, scimFor, until } from './support.js'

async function receiver (t: Test): Promise<{ url: string, received: string[] }> {
  const received: string[] = []
  const server = createServer((request, response) => {
    let body = ''
    request.on('data', (chunk) => { body += chunk })
    request.on('end', () => { received.push(JSON.parse(body).event); response.end('ok') })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received }
}

t.test('a directory\'s lifecycle, in order, to the hooks that ask', async (t) => {
  await onSqlEngines(t, 'lifecycle', async (t, db) => {
    const withLifecycle: DirectoryEvent[] = []
    const without: ScimEvent[] = []
    const hook = await receiver(t)
    const app = await buildApp(t, db, { events: { pollInterval: 100 } })
    app.directorySync.addHook('onScimEvent', (event) => { withLifecycle.push(event) }, { id: 'all', lifecycle: true })
    app.directorySync.addHook('onScimEvent', (event) => { without.push(event) }, { id: 'scim-only' })
    // Holds the deletion until the listing below is done: the directory's events are purged once every hook has passed it.
    let listed: () => void = () => {}
    const listing = new Promise<void>((resolve) => { listed = resolve })
    app.directorySync.addHook('onScimEvent', async (event) => { if (event.event === 'dsync.deleted') await listing }, { id: 'keeper', lifecycle: true })

    const { data: directory } = await app.directorySync.directories.create({ tenant: 'acme', product: 'app', webhook_url: hook.url, webhook_secret: 'whsec-1' })
    const id = directory!.id
    await app.directorySync.directories.update(id, { name: 'Acme Corp' })
    await app.directorySync.directories.update(id, { webhook_secret: 'whsec-2' })
    await app.directorySync.directories.update(id, { deactivated: true })
    await app.directorySync.directories.update(id, { deactivated: false })
    const { data: rotated } = await app.directorySync.directories.rotateToken(id)
    await scimFor(app, rotated!).createUser('ann@acme.example')
    await until('the user to reach both hooks and the webhook', () => without.length === 1 && hook.received.includes('user.created'))
    await app.directorySync.directories.delete(id)

    const names = ['dsync.created', 'dsync.updated', 'dsync.updated', 'dsync.deactivated', 'dsync.activated', 'dsync.token_rotated', 'user.created', 'dsync.deleted']
    await until('every lifecycle event', () => withLifecycle.length === names.length)
    t.same(withLifecycle.map((e) => e.event), names, 'in the order they happened, the user in between')
    const [created, renamed, newSecret] = withLifecycle as Array<DirectoryEvent & { previous?: unknown }>
    t.match(created, { directory_id: id, tenant: 'acme', product: 'app', data: { id, name: 'scim-acme-app', deactivated: false, webhook: { endpoint: hook.url } } }, 'created carries the settings')
    t.same(renamed.previous, { name: 'scim-acme-app' }, 'a rename: the former name')
    t.same(newSecret.previous, { webhook_secret: 'changed' }, 'a new webhook secret: said, not shown')
    t.match(withLifecycle[3], { data: { deactivated: true } })
    const text = JSON.stringify(withLifecycle)
    for (const secret of [directory!.scim.secret, rotated!.scim.secret, 'whsec-1', 'whsec-2']) t.notOk(text.includes(secret), 'no token or webhook secret in any lifecycle event')
    t.same(without.map((e) => e.event), ['user.created'], 'a hook that did not ask gets the SCIM events only')
    t.same(hook.received, ['user.created'], 'and so does a webhook, unless the host opts in')
    const page = await app.directorySync.events.list({ directoryId: id, types: ['dsync.created', 'dsync.deleted'] })
    listed()
    t.same(page.data!.events.map((e) => e.event), ['dsync.created', 'dsync.deleted'], 'events.list has them')
  })
})

t.test('webhooks get lifecycle events when the host opts in', async (t) => {
  await onSqlEngines(t, 'lifecycle_webhooks', async (t, db) => {
    const hook = await receiver(t)
    const app = await buildApp(t, db, { events: { pollInterval: 100, lifecycleWebhooks: true } })
    const { data: directory } = await app.directorySync.directories.create({ tenant: 'acme', product: 'app', webhook_url: hook.url, webhook_secret: 'whsec' })
    await app.directorySync.directories.update(directory!.id, { deactivated: true })
    await until('both lifecycle events at the webhook', () => hook.received.length === 2)
    t.same(hook.received, ['dsync.created', 'dsync.deactivated'])
  })
})
