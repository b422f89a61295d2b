// The events SCIM requests publish to `onScimEvent`: which, in what order, with what data, only for real
// changes, before the response, and despite a failing handler; on a sqlite file and on PostgreSQL.
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import type { DbOptions, DirectorySyncEvent } from '../../src/index.js'
import { buildApp, scimUser, sqliteFile } from '../helpers/app.js'
import { CORE_GROUP, groupBody, ok, openDirectory as openScimDirectory, patchOf, sleep, type Json, type ScimClient } from '../helpers/scim.js'
import { withService } from '../helpers/services.js'

interface Scim extends ScimClient {
  /** Events published for this directory since the last call. */
  take (): DirectorySyncEvent[]
}

/** What the handler does, set per test; it sees every event of the registration. */
interface Collector {
  events: DirectorySyncEvent[]
  /** `this` of every call. */
  thisValues: unknown[]
  /** Milliseconds the handler waits before recording an event. */
  delay: number
  /** The next event of each of these types makes the handler throw (after recording it). */
  throwOnce: Set<string>
}

/** A directory whose client also takes the events the collector saw for it. */
async function openDirectory (app: FastifyInstance, collector: Collector): Promise<Scim> {
  const scim = await openScimDirectory(app, 'events', { product: 'events-app' })
  let seen = collector.events.length
  return {
    ...scim,
    take () {
      const fresh = collector.events.slice(seen).filter((e) => e.directory_id === scim.directory.id)
      seen = collector.events.length
      return fresh
    }
  }
}

const kinds = (events: DirectorySyncEvent[]) => events.map((e) => e.event)

/** Each event once (a handler may be given an event again after it threw), in order of first arrival. */
function distinct (events: DirectorySyncEvent[]): string[] {
  return [...new Set(events.map((e) => `${e.event} ${e.data.id}`))]
}

/** Takes the directory's events until `done` holds for all taken so far, or 10 s have passed. */
async function eventually (scim: Scim, done: (events: DirectorySyncEvent[]) => boolean): Promise<DirectorySyncEvent[]> {
  const taken = scim.take()
  for (const until = Date.now() + 10_000; !done(taken) && Date.now() < until;) {
    await sleep(20)
    taken.push(...scim.take())
  }
  return taken
}
const data = (event: DirectorySyncEvent | undefined) => event?.data as Json

async function suite (t: Test, db: DbOptions) {
  const collector: Collector = { events: [], thisValues: [], delay: 0, throwOnce: new Set() }
  const app = await buildApp(t, db, {
    async onScimEvent (event) {
      collector.thisValues.push(this)
      if (collector.delay > 0) await sleep(collector.delay)
      collector.events.push(event)
      if (collector.throwOnce.delete(event.event)) throw new Error(`handler fails on ${event.event}`)
    }
  })
  t.beforeEach(() => {
    collector.delay = 0
    collector.throwOnce.clear()
    collector.thisValues.length = 0
  })

  t.test('POST user: one user.created with jackson\'s data, and `this` is the Fastify instance', async (t) => {
    const scim = await openDirectory(app, collector)
    const user = await ok(scim, 'POST', '/Users', scimUser('jane.doe@acme.example.com', { password: 'Sup3r-Secret!', title: 'CTO' }), 201)
    const events = scim.take()
    t.same(kinds(events), ['user.created'])
    const [event] = events
    t.equal(event.directory_id, scim.directory.id)
    t.equal(event.tenant, scim.directory.tenant)
    t.equal(event.product, 'events-app')
    t.same(Object.keys(event.data).sort(), ['active', 'email', 'first_name', 'id', 'last_name', 'raw'])
    t.match(event.data, { id: user.id, first_name: 'jane', last_name: 'doe', email: 'jane.doe@acme.example.com', active: true })
    const raw = data(event).raw
    t.equal(raw.userName, 'jane.doe@acme.example.com')
    t.equal(raw.id, user.id)
    t.equal(raw.title, 'CTO')
    t.notOk('password' in raw, 'raw has no password')
    t.notOk(JSON.stringify(event).includes('Sup3r-Secret!'), 'the password is nowhere in the event')
    t.ok(collector.thisValues.length > 0)
    for (const self of collector.thisValues) t.equal(self, app, '`this` is the Fastify instance')
  })

  t.test('no events for no-op PUT and PATCH; one user.updated for a real PATCH', async (t) => {
    const scim = await openDirectory(app, collector)
    const body = scimUser('noop@acme.example.com')
    const user = await ok(scim, 'POST', '/Users', body, 201)
    t.same(kinds(scim.take()), ['user.created'])
    await ok(scim, 'PUT', `/Users/${user.id}`, body, 200)
    t.same(kinds(scim.take()), [], 'a PUT of the same body publishes nothing')
    await ok(scim, 'PATCH', `/Users/${user.id}`, patchOf({ op: 'replace', path: 'active', value: true }), 200)
    t.same(kinds(scim.take()), [], 'replacing active true on an active user publishes nothing')
    await ok(scim, 'PATCH', `/Users/${user.id}`, patchOf({ op: 'Replace', path: 'active', value: 'True' }), 200)
    t.same(kinds(scim.take()), [], 'nor does Entra\'s "True"')

    await ok(scim, 'PATCH', `/Users/${user.id}`, patchOf({ op: 'replace', path: 'active', value: false }), 200)
    const events = scim.take()
    t.same(kinds(events), ['user.updated'])
    t.match(events[0].data, { id: user.id, active: false, email: 'noop@acme.example.com' })
    t.equal(data(events[0]).raw.active, false)

    await ok(scim, 'PUT', `/Users/${user.id}`, { ...body, title: 'New' }, 200)
    const put = scim.take()
    t.same(kinds(put), ['user.updated'], 'a PUT that changes something publishes user.updated')
    t.equal(data(put[0]).raw.title, 'New')

    const refused = await scim.send('PATCH', `/Users/${user.id}`, patchOf({ op: 'remove', path: 'userName' }))
    t.equal(refused.statusCode, 400)
    t.same(kinds(scim.take()), [], 'a refused request publishes nothing')
  })

  t.test('groups: created with members, renamed, no-op add, PUT with a new name and membership', async (t) => {
    const scim = await openDirectory(app, collector)
    const [a, b, c] = [
      await ok(scim, 'POST', '/Users', scimUser('a.user@acme.example.com'), 201),
      await ok(scim, 'POST', '/Users', scimUser('b.user@acme.example.com'), 201),
      await ok(scim, 'POST', '/Users', scimUser('c.user@acme.example.com'), 201)
    ]
    scim.take()

    const group = await ok(scim, 'POST', '/Groups', groupBody('Engineering', [{ value: a.id }, { value: b.id }]), 201)
    let events = scim.take()
    t.same(kinds(events), ['group.created', 'group.user_added', 'group.user_added'], 'created, then one user_added per member')
    t.same(events[0].data, { id: group.id, name: 'Engineering', raw: { schemas: [CORE_GROUP], displayName: 'Engineering', id: group.id } })
    t.same(events.slice(1).map((e) => e.data.id).sort(), [a.id, b.id].sort(), 'the added users')
    for (const added of events.slice(1)) {
      t.match(added.data, { group: { id: group.id, name: 'Engineering' } })
      t.equal(data(added).group.raw.id, group.id)
      t.equal(data(added).group.raw.displayName, 'Engineering')
      t.type(data(added).email, 'string')
      t.equal(data(added).raw.id, added.data.id, 'the user\'s raw record')
      t.equal(added.tenant, scim.directory.tenant)
      t.equal(added.directory_id, scim.directory.id)
    }

    await ok(scim, 'PATCH', `/Groups/${group.id}`, patchOf({ op: 'replace', path: 'displayName', value: 'Platform' }), 200)
    events = scim.take()
    t.same(kinds(events), ['group.updated'], 'a rename publishes group.updated only')
    t.match(events[0].data, { id: group.id, name: 'Platform' })

    await ok(scim, 'PATCH', `/Groups/${group.id}`, patchOf({ op: 'add', path: 'members', value: [{ value: a.id }] }), 200)
    t.same(kinds(scim.take()), [], 'adding an existing member publishes nothing')

    await ok(scim, 'PUT', `/Groups/${group.id}`, groupBody('Platform Team', [{ value: b.id }, { value: c.id }]), 200)
    events = scim.take()
    t.equal(events[0]?.event, 'group.updated', 'the rename first')
    t.match(events[0]?.data, { id: group.id, name: 'Platform Team' })
    t.same(events.slice(1).map((e) => `${e.event} ${e.data.id}`).sort(), [`group.user_added ${c.id}`, `group.user_removed ${a.id}`].sort(),
      'then the membership difference: c added, a removed, b untouched')
    t.equal(events.length, 3)
    for (const change of events.slice(1)) t.match(change.data, { group: { id: group.id, name: 'Platform Team' } })

    await ok(scim, 'PATCH', `/Groups/${group.id}`, patchOf({ op: 'remove', path: `members[value eq "${b.id}"]` }), 200)
    events = scim.take()
    t.same(kinds(events), ['group.user_removed'])
    t.equal(events[0].data.id, b.id)

    await ok(scim, 'DELETE', `/Groups/${group.id}`, undefined, 204)
    events = scim.take()
    t.same(kinds(events), ['group.deleted'])
    t.match(events[0].data, { id: group.id, name: 'Platform Team' })
  })

  t.test('DELETE of a user in two groups: two group.user_removed, then user.deleted', async (t) => {
    const scim = await openDirectory(app, collector)
    const user = await ok(scim, 'POST', '/Users', scimUser('leaver@acme.example.com'), 201)
    const stayer = await ok(scim, 'POST', '/Users', scimUser('stayer@acme.example.com'), 201)
    const one = await ok(scim, 'POST', '/Groups', groupBody('One', [{ value: user.id }, { value: stayer.id }]), 201)
    const two = await ok(scim, 'POST', '/Groups', groupBody('Two', [{ value: user.id }]), 201)
    await ok(scim, 'POST', '/Groups', groupBody('Three', [{ value: stayer.id }]), 201)
    scim.take()

    await ok(scim, 'DELETE', `/Users/${user.id}`, undefined, 204)
    const events = scim.take()
    t.same(kinds(events), ['group.user_removed', 'group.user_removed', 'user.deleted'])
    t.same(events.slice(0, 2).map((e) => data(e).group.id).sort(), [one.id, two.id].sort(), 'removed from both its groups')
    for (const removed of events.slice(0, 2)) t.equal(removed.data.id, user.id)
    t.match(events[2].data, { id: user.id, email: 'leaver@acme.example.com' })
    t.equal(data(events[2]).raw.userName, 'leaver@acme.example.com')
  })

  t.test('a handler that throws does not fail the request, and later events still arrive', async (t) => {
    const scim = await openDirectory(app, collector)
    collector.throwOnce.add('user.created')
    const res = await scim.send('POST', '/Users', scimUser('first@acme.example.com'))
    t.equal(res.statusCode, 201, 'still 201')
    const id = res.json().id
    t.equal(collector.throwOnce.size, 0, 'the handler was called, and threw')
    t.equal((await scim.send('GET', `/Users/${id}`)).statusCode, 200, 'the user is stored')

    const group = await scim.send('POST', '/Groups', groupBody('Throwers', [{ value: id }]))
    t.equal(group.statusCode, 201)
    const groupId = group.json().id
    const after = await eventually(scim, (events) => kinds(events).includes('group.user_added'))
    t.same(distinct(after), [`user.created ${id}`, `group.created ${groupId}`, `group.user_added ${id}`], 'the events after the failure arrive, in order')

    collector.throwOnce.add('group.created')
    const again = await scim.send('POST', '/Groups', groupBody('More Throwers', [{ value: id }]))
    t.equal(again.statusCode, 201)
    const againId = again.json().id
    const next = await eventually(scim, (events) => kinds(events).includes('group.user_added'))
    t.same(distinct(next), [`group.created ${againId}`, `group.user_added ${id}`], 'a throw on one event of a request does not drop the next')
  })

  t.test('events arrive before the HTTP response returns', async (t) => {
    const scim = await openDirectory(app, collector)
    collector.delay = 40
    const user = await ok(scim, 'POST', '/Users', scimUser('slow@acme.example.com'), 201)
    t.same(kinds(scim.take()), ['user.created'], 'the slow handler finished before inject resolved')
    await ok(scim, 'PATCH', `/Users/${user.id}`, patchOf({ op: 'replace', path: 'title', value: 'Slow' }), 200)
    t.same(kinds(scim.take()), ['user.updated'])
    await ok(scim, 'DELETE', `/Users/${user.id}`, undefined, 204)
    t.same(kinds(scim.take()), ['user.deleted'])
  })
}

t.test('sqlite', (t) => suite(t, sqliteFile(t)))
t.test('postgres', (t) => withService(t, 'postgres', 'scim_events', suite))
