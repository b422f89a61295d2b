// The deprovisioning guard: a scripted mass deactivation trips it; the wire and the store go on as
// usual, hooks, webhooks and events.list stop at the first event that tripped it (nothing later leaks,
// jackson's copy is not held), directory.guard_tripped goes out at once; release delivers everything in
// order, release with coalesce only the net changes; two instances on one database agree. On sqlite and
// PostgreSQL (and the count and hold on mem).
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import type { DbOptions, DirectoryEvent } from '../../src/index.js'
import { buildApp, mem } from '../helpers/app.js'
import { onSqlEngines, openScim, PATCH_OP, receiver, scimFor, until, type Scim } from './support.js'

const GUARD = { minUsers: 5, ratio: 0.3, windowMs: 60_000 }

const deactivate = (active: boolean) => ({ schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active } }] })

async function send (t: Test, scim: Scim, method: 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<void> {
  const res = await scim.send(method, path, body)
  t.ok(res.statusCode === 200 || res.statusCode === 204, `${method} ${path} answered ${res.statusCode} as usual`)
}

/** An app with the guard, a hook taking lifecycle events, and a directory of `users` users. */
async function setUp (t: Test, db: DbOptions, users: number, app?: FastifyInstance) {
  const seen: DirectoryEvent[] = []
  app ??= await buildApp(t, db, { guard: GUARD, events: { pollInterval: 100 } })
  app.directorySync.addHook('onScimEvent', (event) => { seen.push(event) }, { id: 'host', lifecycle: true })
  const scim = await openScim(app)
  const ids: string[] = []
  for (let i = 0; i < users; i++) ids.push((await scim.createUser(`user${i}@acme.example`)).id)
  await until('the creations at the hook', () => seen.filter((e) => e.event === 'user.created').length === users)
  return { app, scim, ids, seen, directoryId: scim.directory.id }
}

const names = (events: DirectoryEvent[]) => events.map((e) => e.event)
const userIdOf = (event: DirectoryEvent) => (event.data as { id: string }).id

t.test('a mass deactivation trips the guard; release delivers what was held, in order', async (t) => {
  await onSqlEngines(t, 'guard_trip', async (t, db) => {
    const hook = await receiver(t, 'whsec')
    const { app, scim, ids, seen, directoryId } = await setUp(t, db, 20)
    await app.directorySync.directories.update(directoryId, { webhook_url: hook.url, webhook_secret: 'whsec' })
    await until('the settings change at the hook', () => seen.some((e) => e.event === 'dsync.updated'))
    const before = seen.length
    // 20 users, more than 5 and more than 30% (6): the 7th deactivation trips it.
    for (let i = 0; i < 10; i++) await send(t, scim, 'PATCH', `/Users/${ids[i]}`, deactivate(false))
    await until('the guard event at the hook', () => seen.some((e) => e.event === 'directory.guard_tripped'))
    const tripped = seen.find((e) => e.event === 'directory.guard_tripped')!
    const delivered = seen.slice(before)
    t.same(names(delivered), [...Array(6).fill('user.updated'), 'directory.guard_tripped'], 'six deactivations went out, then the guard\'s event, at once')
    t.match(tripped.data, { deprovisioned: 7, users: 20, min_users: 5, ratio: 0.3, window_ms: 60_000, directory: { id: directoryId } })

    // The wire and the store carry on: the 10 users are inactive.
    for (let i = 0; i < 10; i++) t.equal((await scim.send('GET', `/Users/${ids[i]}`)).json().active, false)
    // A later change of another kind is held too: nothing passes the trip point.
    await send(t, scim, 'PATCH', `/Users/${ids[15]}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'name.givenName', value: 'Later' }] })
    await new Promise((resolve) => setTimeout(resolve, 500))
    t.equal(seen.length, before + 7, 'nothing after the trip point reached the hook')
    t.notOk(hook.deliveries.some((d) => d.body?.data?.first_name === 'Later' || (d.body?.event === 'user.updated' && d.body.data.id === ids[6])), 'nor the webhook')

    const status = (await app.directorySync.directories.status(directoryId)).data!
    t.match(status.guard, { state: 'tripped', heldFrom: (tripped.data as { event_id: string }).event_id, held: 5 }, 'the status says tripped, from which event, how many held')
    const pending = Object.fromEntries(status.deliveries.map((d) => [d.handler, d.pending]))
    t.equal(pending.jackson, 0, 'jackson\'s copy is not held')
    t.equal(pending['hook:host'] ?? pending.host, 5, 'the hook is')

    const listed = (await app.directorySync.events.list({ directoryId, limit: 1000 })).data!
    t.equal(listed.events[listed.events.length - 1].event, 'directory.guard_tripped', 'events.list stops before the held events')
    t.same(listed.paused, { directoryId })
    t.equal(listed.hasMore, false)
    const all = (await app.directorySync.events.list({ limit: 1000 })).data!
    t.same(all.paused, { directoryId }, 'the stream across directories pauses there too')

    const released = await app.directorySync.guard.release(directoryId)
    t.same(released.data, { released: 5, coalesced: 0 })
    await until('the held events at the hook', () => seen.some((e) => e.event === 'directory.guard_released'))
    const after = seen.slice(before + 7)
    t.same(names(after), ['user.updated', 'user.updated', 'user.updated', 'user.updated', 'user.updated', 'directory.guard_released'], 'everything held, in order, then the release')
    t.same(after.slice(0, 4).map(userIdOf), ids.slice(6, 10), 'the deactivations in the order they were made')
    t.equal((after[4].data as any).first_name, 'Later', 'the later change comes last')
    await until('the webhook to get them too', () => hook.deliveries.some((d) => d.body?.data?.first_name === 'Later'))
    const more = (await app.directorySync.events.list({ after: listed.after, directoryId })).data!
    t.same(names(more.events), names(after), 'events.list goes on from where it paused')
    t.equal(more.paused, undefined)
    t.match((await app.directorySync.directories.status(directoryId)).data!.guard, { state: 'armed' })
    t.match(await app.directorySync.guard.release(directoryId), { error: { code: 409 } }, 'releasing an untripped guard is refused')

    // Released deprovisions count no more: one more deactivation does not trip it again.
    await send(t, scim, 'PATCH', `/Users/${ids[10]}`, deactivate(false))
    await until('that deactivation at the hook', () => seen.some((e) => e.event === 'user.updated' && userIdOf(e) === ids[10]))
  })
})

t.test('release with coalesce delivers only net changes', async (t) => {
  await onSqlEngines(t, 'guard_coalesce', async (t, db) => {
    const { app, scim, ids, seen, directoryId } = await setUp(t, db, 10)
    const before = seen.length
    // 10 users: the 6th deprovision trips it (more than 5 and than 3).
    for (let i = 0; i < 5; i++) await send(t, scim, 'PATCH', `/Users/${ids[i]}`, deactivate(false))
    await send(t, scim, 'DELETE', `/Users/${ids[5]}`)
    await send(t, scim, 'PATCH', `/Users/${ids[6]}`, deactivate(false)) // held
    await send(t, scim, 'PATCH', `/Users/${ids[7]}`, deactivate(false)) // held, then reactivated
    await send(t, scim, 'PATCH', `/Users/${ids[7]}`, deactivate(true))
    const late = await scim.createUser('late@acme.example') // held, created then deleted
    await send(t, scim, 'DELETE', `/Users/${late.id}`)
    await until('the trip at the hook', () => seen.some((e) => e.event === 'directory.guard_tripped'))
    const tripped = seen.find((e) => e.event === 'directory.guard_tripped')!
    t.match(tripped.data, { deprovisioned: 6, users: 10 }, 'the deleted user counts among the directory\'s users')
    t.equal(names(seen.slice(before)).filter((n) => n !== 'directory.guard_tripped').length, 5, 'five deactivations went out before it')

    const released = await app.directorySync.guard.release(directoryId, { coalesce: true })
    t.same(released.data, { released: 2, coalesced: 4 }, 'user 7 and the late user reduce to nothing')
    await until('the release at the hook', () => seen.some((e) => e.event === 'directory.guard_released'))
    const after = seen.slice(seen.indexOf(tripped) + 1)
    t.same(after.map((e) => `${e.event} ${e.event.startsWith('user.') ? ids.indexOf(userIdOf(e)) : ''}`.trim()),
      ['user.deleted 5', 'user.updated 6', 'directory.guard_released'], 'the deletion and the one net deactivation, in order')
    const listed = (await app.directorySync.events.list({ directoryId, limit: 1000 })).data!
    t.notOk(listed.events.some((e) => e.event.startsWith('user.') && userIdOf(e) === ids[7] && (e as any).data.active === false), 'coalesced events are not listed either')
    t.equal((await scim.send('GET', `/Users/${ids[7]}`)).json().active, true, 'the store has the final state')
  })
})

t.test('two instances on one database agree', async (t) => {
  await onSqlEngines(t, 'guard_instances', async (t, db, engine) => {
    if (engine !== 'postgres') {
      t.pass('two instances share the guard through the database: shown on PostgreSQL')
      return
    }
    const a = await buildApp(t, db, { guard: GUARD, events: { pollInterval: 100 } })
    const b = await buildApp(t, db, { guard: GUARD, events: { pollInterval: 100 } })
    const onB: DirectoryEvent[] = []
    b.directorySync.addHook('onScimEvent', (event) => { onB.push(event) }, { id: 'b-host', lifecycle: true })
    const { scim, ids, seen, directoryId } = await setUp(t, db, 10, a)
    await until('b to get the creations', () => onB.filter((e) => e.event === 'user.created').length === 10)
    const viaB = scimFor(b, scim.directory)
    // Deactivations through both instances: the 6th trips it wherever it lands.
    for (let i = 0; i < 8; i++) await send(t, i % 2 === 0 ? scim : viaB, 'PATCH', `/Users/${ids[i]}`, deactivate(false))
    await until('both hooks to get the trip', () => seen.some((e) => e.event === 'directory.guard_tripped') && onB.some((e) => e.event === 'directory.guard_tripped'))
    await new Promise((resolve) => setTimeout(resolve, 500))
    const count = (events: DirectoryEvent[]) => events.filter((e) => e.event === 'user.updated').length
    t.equal(count(seen), 5, 'a\'s hook got the five before the trip point')
    t.equal(count(onB), 5, 'and so did b\'s')
    t.match((await b.directorySync.directories.status(directoryId)).data!.guard, { state: 'tripped', held: 3 }, 'b sees it tripped')
    t.same((await b.directorySync.guard.release(directoryId)).data, { released: 3, coalesced: 0 }, 'released from b')
    await until('both hooks to get all eight', () => count(seen) === 8 && count(onB) === 8)
    t.same(seen.filter((e) => e.event === 'user.updated').map(userIdOf), ids.slice(0, 8), 'in order on a')
    t.same(onB.filter((e) => e.event === 'user.updated').map(userIdOf), ids.slice(0, 8), 'in order on b')
  })
})

t.test('on mem: below the thresholds nothing is held; the guard is off without the option', async (t) => {
  const { scim, ids, seen, app, directoryId } = await setUp(t, mem, 30)
  // 30 users: 9 deactivations are not more than 30%.
  for (let i = 0; i < 9; i++) await send(t, scim, 'PATCH', `/Users/${ids[i]}`, deactivate(false))
  await until('nine deactivations', () => seen.filter((e) => e.event === 'user.updated').length === 9)
  t.match((await app.directorySync.directories.status(directoryId)).data!.guard, { state: 'armed' })
  await send(t, scim, 'PATCH', `/Users/${ids[9]}`, deactivate(false))
  await until('the trip', () => seen.some((e) => e.event === 'directory.guard_tripped'))
  t.match((await app.directorySync.directories.status(directoryId)).data!.guard, { state: 'tripped', held: 1 })

  const plain = await buildApp(t, mem)
  t.match(await plain.directorySync.guard.release(directoryId), { error: { code: 409 } }, 'no guard option: nothing to release')
  await t.rejects(buildApp(t, mem, { guard: { minUsers: 5, ratio: 1.5, windowMs: 1000 } }), /guard\.ratio/, 'a ratio above 1 is refused')
})
