// directories.status(id): counts, the last SCIM request this process answered, deliveries per handler
// (pending while a hook is blocked, failed after maxAttempts) and the oldest undelivered event's age.
import t from 'tap'
import { buildApp } from '../helpers/app.js'
import { groupBody, ok, patchOf, scimClient } from '../helpers/scim.js'
import { onSqlEngines, openScim, sleep, until } from './support.js'

t.test('status after scripted traffic', async (t) => {
  await onSqlEngines(t, 'status', async (t, db) => {
    let release!: () => void
    const released = new Promise<void>((resolve) => { release = resolve })
    const app = await buildApp(t, db, { events: { budget: 20, maxAttempts: 1, pollInterval: 100 } })
    app.directorySync.addHook('onScimEvent', () => { throw new Error('down') }, { id: 'fails' })
    const { directory } = await openScim(app)
    const scim = scimClient(app, directory)
    const users = []
    for (const name of ['ann', 'bob', 'cid']) users.push(await ok(scim, 'POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `${name}@acme.example` }, 201))
    const group = await ok(scim, 'POST', '/Groups', groupBody('Eng', [{ value: users[0].id }, { value: users[1].id }]), 201)
    await ok(scim, 'PATCH', `/Users/${users[2].id}`, patchOf({ op: 'replace', value: { active: false } }), 200)
    const events = 3 + 1 + 2 + 1 // users created, group created, members added, user updated

    await until('fails to give up on every event', async () => (await app.directorySync.directories.status(directory.id)).data?.deliveries.find((d) => d.handler === 'fails')?.failed === events)
    // A hook added now from the oldest event, and blocked: every event is pending for it.
    app.directorySync.addHook('onScimEvent', async () => { await released }, { id: 'slow', from: 'oldest' })
    await until('slow to be registered', async () => (await app.directorySync.directories.status(directory.id)).data?.deliveries.some((d) => d.handler === 'slow') === true)
    await sleep(300)
    const { data: status } = await app.directorySync.directories.status(directory.id)
    t.equal(status!.users, 3, 'users')
    t.equal(status!.groups, 1, 'groups')
    t.match(status!.lastRequest, { method: 'PATCH', route: '/api/scim/v2.0/:directoryId/Users/:id', status: 200 }, 'the last request this process answered')
    t.ok(Date.parse(status!.lastRequest!.at) <= Date.now(), 'with its time')
    const by = (handler: string) => status!.deliveries.find((d) => d.handler === handler)
    t.same(by('slow'), { handler: 'slow', pending: events, failed: 0 }, 'a blocked hook: every event pending')
    t.same(by('fails'), { handler: 'fails', pending: 0, failed: events }, 'a failing hook: every event failed')
    t.same(by('jackson'), { handler: 'jackson', pending: 0, failed: 0 }, 'jackson\'s copy is up to date')
    t.ok(status!.oldestUndeliveredMs !== null && status!.oldestUndeliveredMs >= 300, `the oldest undelivered event is ${status!.oldestUndeliveredMs} ms old`)

    release()
    await until('slow to catch up', async () => (await app.directorySync.directories.status(directory.id)).data?.deliveries.find((d) => d.handler === 'slow')?.pending === 0)
    const after = (await app.directorySync.directories.status(directory.id)).data!
    t.equal(after.oldestUndeliveredMs, null, 'nothing pending: no age')
    t.equal(group.displayName, 'Eng')

    t.equal((await app.directorySync.directories.status('00000000-0000-4000-8000-000000000000')).error?.code, 404, 'an unknown directory: 404')
  })
})
