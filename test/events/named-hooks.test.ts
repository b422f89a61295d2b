// Named hooks: a hook's id keeps its cursors and failed deliveries whatever the registration order;
// `from: 'oldest'` starts a new id with every event kept, 'now' (the default) with those recorded from
// then on; the onScimEvent option takes the same; a duplicate id throws a typed error.
import Fastify from 'fastify'
import t from 'tap'
import fastifyDirectorySync, { type ScimEvent } from '../../src/index.js'
import { buildApp, externalUrl, mem } from '../helpers/app.js'
import { onSqlEngines, openScim, scimFor, until } from './support.js'

t.test('an id keeps a hook\'s place across restarts, whatever the order; from oldest or now', async (t) => {
  await onSqlEngines(t, 'named_hooks', async (t, db) => {
    // First process: a "billing" hook that fails for good, and two users before any other hook exists.
    const first = Fastify()
    await first.register(fastifyDirectorySync, {
      db,
      externalUrl,
      events: { maxAttempts: 1, pollInterval: 100 },
      onScimEvent: { id: 'billing', handler () { throw new Error('billing is down') } }
    })
    const scim = await openScim(first)
    await scim.createUser('ann@acme.example')
    await scim.createUser('ben@acme.example')
    await until('billing to give up on both', async () => ((await first.directorySync.events.failed('billing')).data ?? []).length === 2)
    await first.close()

    // Second process: hooks registered in another order, an unnamed one first.
    const seen: Record<string, string[]> = { unnamed: [], billing: [], audit: [], latest: [] }
    const record = (name: string) => (event: ScimEvent) => { seen[name].push((event.data as { email?: string }).email ?? event.event) }
    const second = await buildApp(t, db, { events: { pollInterval: 100 } })
    second.directorySync.addHook('onScimEvent', record('unnamed'))
    second.directorySync.addHook('onScimEvent', record('billing'), { id: 'billing' })
    second.directorySync.addHook('onScimEvent', record('audit'), { id: 'audit', from: 'oldest' })
    second.directorySync.addHook('onScimEvent', record('latest'), { id: 'latest' })
    const failed = (await second.directorySync.events.failed('billing')).data ?? []
    t.equal(failed.length, 2, 'billing\'s failures are still listed under its id')
    t.same((await second.directorySync.events.replay(failed[0].event.id, 'billing')).data, { delivered: 1, failed: 0 }, 'and replay reaches the hook now holding the id')
    await until('audit to catch up from the oldest event', () => seen.audit.length === 2)
    t.same(seen.audit, ['ann@acme.example', 'ben@acme.example'], 'from: oldest gets every event kept, in order')

    await scimFor(second, scim.directory).createUser('cid@acme.example')
    await until('every hook to get the new user', () => seen.latest.length === 1 && seen.unnamed.length >= 1 && seen.audit.length === 3)
    t.same(seen.latest, ['cid@acme.example'], 'from: now (the default) starts with what comes after')
    t.same(seen.billing, ['ann@acme.example', 'cid@acme.example'], 'billing got its replay, then the new user (not the old ones again)')
  })
})

t.test('ids are checked', async (t) => {
  const app = await buildApp(t, mem)
  app.directorySync.addHook('onScimEvent', () => {}, { id: 'billing' })
  t.throws(() => app.directorySync.addHook('onScimEvent', () => {}, { id: 'billing' }), { code: 'FST_DSYNC_HOOK_ID_TAKEN' }, 'a duplicate id')
  for (const id of ['', 'has space', 'jackson', 'webhook', 'onScimEvent#0', 'x'.repeat(101)]) {
    t.throws(() => app.directorySync.addHook('onScimEvent', () => {}, { id }), { code: 'FST_DSYNC_INVALID_OPTION' }, `id ${JSON.stringify(id)}`)
  }
  t.throws(() => app.directorySync.addHook('onScimEvent', () => {}, { from: 'yesterday' as any }), { code: 'FST_DSYNC_INVALID_OPTION' }, 'an unknown from')
})

t.test('naming a hook does not move the unnamed ones\' keys', async (t) => {
  const app = await buildApp(t, mem, { events: { maxAttempts: 1 } })
  const fail = () => { throw new Error('down') }
  app.directorySync.addHook('onScimEvent', fail)
  app.directorySync.addHook('onScimEvent', fail, { id: 'named' })
  app.directorySync.addHook('onScimEvent', fail)
  const scim = await openScim(app)
  await scim.createUser('keys@acme.example')
  await until('three failures', async () => ((await app.directorySync.events.failed()).data ?? []).length === 3)
  t.same(((await app.directorySync.events.failed()).data ?? []).map((f) => f.handler).sort(), ['named', 'onScimEvent#0', 'onScimEvent#1'])
})
