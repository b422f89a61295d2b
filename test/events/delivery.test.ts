// Durable delivery to onScimEvent hooks: retries with backoff, the failed list and replay, ordering per
// directory and handler, the response budget, and addHook. On a sqlite file and on PostgreSQL where the
// database matters; on mem for the API checks.
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import type { ScimEvent } from '../../src/index.js'
import { buildApp, mem, sqliteFile } from '../helpers/app.js'
import { onSqlEngines, openScim, sleep, until } from './support.js'

interface Call { id: string, ok: boolean, at: number }

t.test('a handler failing 3 times then succeeding: delivered once, same id every attempt, the response not held up', async (t) => {
  await onSqlEngines(t, 'delivery_retry', async (t, db) => {
    const calls: Call[] = []
    const events: ScimEvent[] = []
    const failuresLeft = new Map<string, number>()
    const backoff = 100
    const app = await buildApp(t, db, {
      onScimEvent (event) {
        events.push(event)
        const left = failuresLeft.get(event.id) ?? 3
        failuresLeft.set(event.id, left - 1)
        const ok = left <= 0
        calls.push({ id: event.id, ok, at: performance.now() })
        if (!ok) throw new Error(`not yet (${left} to go)`)
      },
      events: { budget: 150, backoff, maxBackoff: 10_000, maxAttempts: 8, pollInterval: 100 }
    })
    const scim = await openScim(app)
    const { res, id: userId, ms } = await scim.createUser('retry.me@acme.example.com')
    const successesAtResponse = calls.filter((c) => c.ok).length

    t.equal(res.statusCode, 201, 'the SCIM POST answered 201')
    t.equal(successesAtResponse, 0, 'the response came before the retries finished')
    // Retries are done ~700 ms (100 + 200 + 400) after the first attempt; the budget is 150 ms.
    t.ok(ms < 600, `the POST took ${Math.round(ms)} ms: not waiting for the retries beyond the budget`)

    await until('the successful attempt', () => calls.some((c) => c.ok))
    await sleep(500) // room for a wrong redelivery to show (pollInterval 100)
    t.same(calls.map((c) => c.ok), [false, false, false, true], '3 failed attempts, then 1 success, and nothing after it')
    t.equal(new Set(calls.map((c) => c.id)).size, 1, 'the same event id on every attempt')
    t.equal(events[0].event, 'user.created', 'the event is user.created')
    t.equal(events[0].data.id, userId, 'of the user just created')
    t.equal(new Set(events.map((e) => e.created)).size, 1, 'the same `created` on every attempt')
    t.ok(!Number.isNaN(Date.parse(events[0].created)), '`created` is a date')
    const gaps = calls.slice(1).map((c, i) => c.at - calls[i].at)
    for (const [i, gap] of gaps.entries()) {
      t.ok(gap >= backoff * 2 ** i - 10, `retry ${i + 1} came ${Math.round(gap)} ms after the previous attempt (backoff ${backoff * 2 ** i} ms)`)
    }
    const failed = await app.directorySync.events.failed()
    t.same(failed, { data: [], error: null }, 'not kept as failed')
  })
})

t.test('a handler failing forever ends in events.failed(); replay delivers it once fixed', async (t) => {
  await onSqlEngines(t, 'delivery_failed_replay', async (t, db) => {
    let broken = true
    const calls: Call[] = []
    const app = await buildApp(t, db, {
      onScimEvent (event) {
        calls.push({ id: event.id, ok: !broken, at: Date.now() })
        if (broken) throw new Error('the receiver is down')
      },
      events: { backoff: 20, maxBackoff: 100, maxAttempts: 3, pollInterval: 100 }
    })
    const scim = await openScim(app)
    const { id: userId } = await scim.createUser('always.fails@acme.example.com')

    let failures: Awaited<ReturnType<typeof app.directorySync.events.failed>>['data'] = []
    await until('the event to be kept as failed', async () => {
      failures = (await app.directorySync.events.failed()).data ?? []
      return failures.length > 0
    })
    await sleep(200)
    t.equal(calls.length, 3, 'attempted maxAttempts (3) times, then no more')
    t.equal(new Set(calls.map((c) => c.id)).size, 1, 'the same event id on every attempt')
    failures = (await app.directorySync.events.failed()).data ?? []
    t.equal(failures.length, 1, 'one failed delivery')
    const [failure] = failures
    t.equal(failure.handler, 'onScimEvent#0', 'kept for the option\'s hook')
    t.equal(failure.attempts, 3, 'after 3 attempts')
    t.match(failure.error, /the receiver is down/, 'the error message is kept')
    t.equal(failure.event.id, calls[0].id, 'the failed event is the one attempted')
    t.equal(failure.event.event, 'user.created', 'the whole event is kept')
    t.equal(failure.event.data.id, userId, 'with its data')
    t.ok(!Number.isNaN(Date.parse(failure.failedAt)), 'failedAt is a date')
    t.same((await app.directorySync.events.failed('onScimEvent#0')).data?.map((f) => f.event.id), [failure.event.id], 'filtered by handler')
    t.same((await app.directorySync.events.failed('webhook')).data, [], 'nothing failed for the webhook')

    broken = false
    const replayed = await app.directorySync.events.replay(failure.event.id)
    t.same(replayed, { data: { delivered: 1, failed: 0 }, error: null }, 'replay delivered it')
    t.equal(calls.length, 4, 'the handler was called once more')
    t.same(calls[3], { id: failure.event.id, ok: true, at: calls[3].at }, 'with the same event id, successfully')
    t.same((await app.directorySync.events.failed()).data, [], 'no longer failed')
    t.equal((await app.directorySync.events.replay(failure.event.id)).error?.code, 404, 'a second replay finds nothing to replay')

    // Given up on, the event no longer holds the directory back.
    const { id: nextUser } = await scim.createUser('after.failure@acme.example.com')
    await until('the next event', () => calls.length === 5)
    t.same([calls[4].ok, calls[4].id === failure.event.id], [true, false], 'the directory\'s next event is delivered: the failed one no longer holds it back')
    t.ok(nextUser)
  })
})

t.test('a directory\'s events wait behind one in backoff, per handler; other directories and handlers go on', async (t) => {
  await onSqlEngines(t, 'delivery_ordering', async (t, db) => {
    let gate = false
    const blocked = 'a1@acme.example.com' // the first hook fails this user's event while the gate is shut
    const first: Call[] = []
    const second: Call[] = []
    const userOf = new Map<string, string>() // event id → user id
    const app = await buildApp(t, db, {
      onScimEvent (event) {
        userOf.set(event.id, event.data.id)
        const ok = gate || (event.event === 'user.created' && event.data.email !== blocked)
        first.push({ id: event.id, ok, at: Date.now() })
        if (!ok) throw new Error('gate shut')
      },
      events: { backoff: 20, maxBackoff: 100, maxAttempts: 1000, pollInterval: 100 }
    })
    app.directorySync.addHook('onScimEvent', (event) => {
      userOf.set(event.id, event.data.id)
      second.push({ id: event.id, ok: true, at: Date.now() })
    })
    const a = await openScim(app)
    const b = await openScim(app)
    const a1 = await a.createUser(blocked).then((r) => r.id)
    await until('a retry of a1', () => first.length >= 2)
    const a2 = await a.createUser('a2@acme.example.com').then((r) => r.id)
    const a3 = await a.createUser('a3@acme.example.com').then((r) => r.id)
    const b1 = await b.createUser('b1@acme.example.com').then((r) => r.id)
    const b2 = await b.createUser('b2@acme.example.com').then((r) => r.id)

    const users = (calls: Call[], ok?: boolean) => calls.filter((c) => ok === undefined || c.ok === ok).map((c) => userOf.get(c.id))
    await until('directory B through the first hook', () => users(first, true).includes(b2))
    await until('everything through the second hook', () => second.length >= 5)
    await sleep(300) // several more retries of a1 (every <= 100 ms)

    t.same(users(first, true), [b1, b2], 'the first hook: A held back behind a1, B delivered meanwhile')
    t.same([...new Set(users(first).filter((u) => u !== b1 && u !== b2))], [a1], 'a2 and a3 not even attempted by the first hook')
    const failedAttempts = first.filter((c) => !c.ok).length
    t.ok(failedAttempts >= 4, `a1 retried meanwhile (${failedAttempts} failed attempts)`)
    t.same(users(second).filter((u) => u !== b1 && u !== b2), [a1, a2, a3], 'the second hook got A\'s events without waiting, in order')

    gate = true
    await until('A through the first hook', () => users(first, true).includes(a3))
    await sleep(300)
    t.same(users(first, true).filter((u) => u !== b1 && u !== b2), [a1, a2, a3], 'the first hook got A\'s events in order once a1 succeeded')
    const afterA1 = users(first).slice(users(first).lastIndexOf(a1))
    t.same(afterA1.filter((u) => u !== b1 && u !== b2), [a1, a2, a3], 'a2 and a3 attempted only after a1 succeeded, once each')
    const once = (calls: Call[], ok?: boolean) => calls.filter((c) => ok === undefined || c.ok === ok).every((c, i, all) => all.findIndex((o) => o.id === c.id) === i)
    t.ok(once(first, true), 'the first hook succeeded once per event')
    t.ok(once(second), 'the second hook was called once per event, although the first hook retried')
    t.equal(second.length, 5, 'the second hook: 5 events')
    t.same((await app.directorySync.events.failed()).data, [], 'nothing failed')
  })
})

t.test('a handler taking 10 s: the response waits only the budget; the handler completes and is not run again', async (t) => {
  let calls = 0
  let done = 0
  const app = await buildApp(t, sqliteFile(t), {
    async onScimEvent () {
      calls++
      await sleep(10_000)
      done++
    },
    events: { budget: 300, handlerTimeout: 15_000, lease: 20_000, pollInterval: 100 }
  })
  const scim = await openScim(app)
  const { res, ms } = await scim.createUser('slow.handler@acme.example.com')
  t.equal(res.statusCode, 201)
  t.ok(ms < 5000, `the POST took ${Math.round(ms)} ms (< 5000; the handler takes 10000)`)
  t.ok(ms >= 280, `the POST waited for the handler up to the budget (${Math.round(ms)} ms, budget 300)`)
  t.equal(done, 0, 'the handler was still running when the response went')
  await until('the handler to complete', () => done === 1, 15_000)
  await sleep(600)
  t.equal(calls, 1, 'run once: not redelivered')
  t.same((await app.directorySync.events.failed()).data, [], 'not failed')
})

t.test('addHook', async (t) => {
  t.test('an unknown hook name is refused (mem)', async (t) => {
    const app = await buildApp(t, mem)
    for (const name of ['onRequest', 'onscimevent', 'onScimEvents', '']) {
      t.throws(() => app.directorySync.addHook(name as 'onScimEvent', () => {}), { code: 'FST_DSYNC_HOOK_NOT_SUPPORTED' }, JSON.stringify(name))
    }
  })

  t.test('`this` is the Fastify instance; hooks run in registration order for each event (mem)', async (t) => {
    const log: Array<{ hook: string, id: string, self: unknown }> = []
    const app: FastifyInstance = await buildApp(t, mem, { onScimEvent (event) { log.push({ hook: '#0', id: event.id, self: this }) } })
    app.directorySync.addHook('onScimEvent', function (event) { log.push({ hook: '#1', id: event.id, self: this }) })
    app.directorySync.addHook('onScimEvent', async function (event) { log.push({ hook: '#2', id: event.id, self: this }) })
    const scim = await openScim(app)
    for (let i = 0; i < 3; i++) await scim.createUser(`order${i}@acme.example.com`)
    await until('every hook to have every event', () => log.length >= 9)
    t.ok(log.every((entry) => entry.self === app), '`this` is the app in every hook')
    const ids = [...new Set(log.map((entry) => entry.id))]
    t.equal(ids.length, 3, '3 events')
    for (const id of ids) t.same(log.filter((entry) => entry.id === id).map((entry) => entry.hook), ['#0', '#1', '#2'], `order for ${id}`)
  })

  t.test('hooks run in registration order for each event', async (t) => {
    await onSqlEngines(t, 'delivery_hook_order', async (t, db) => {
      const log: Array<{ hook: string, id: string }> = []
      const app = await buildApp(t, db, { onScimEvent (event) { log.push({ hook: '#0', id: event.id }) } })
      app.directorySync.addHook('onScimEvent', (event) => { log.push({ hook: '#1', id: event.id }) })
      app.directorySync.addHook('onScimEvent', async (event) => { log.push({ hook: '#2', id: event.id }) })
      const scim = await openScim(app)
      const wrong: string[] = []
      for (let i = 0; i < 10; i++) {
        await scim.createUser(`order${i}@acme.example.com`)
        await until('all three hooks', () => log.length === 3)
        const order = log.splice(0).map((entry) => entry.hook).join(' ')
        if (order !== '#0 #1 #2') wrong.push(`event ${i}: ${order}`)
      }
      t.same(wrong, [], 'for each of 10 events: #0, then #1, then #2')
    })
  })

  t.test('a hook added after registration gets the events from then on, within the response budget', async (t) => {
    await onSqlEngines(t, 'delivery_addhook', async (t, db) => {
      const log: Array<{ hook: string, user: string }> = []
      const app = await buildApp(t, db, { onScimEvent (event) { log.push({ hook: '#0', user: event.data.id }) } })
      const scim = await openScim(app)
      const before = await scim.createUser('before@acme.example.com').then((r) => r.id)
      t.same(log, [{ hook: '#0', user: before }], 'the first event, before the response')
      await sleep(5)
      const self: unknown[] = []
      app.directorySync.addHook('onScimEvent', function (event) {
        self.push(this)
        log.push({ hook: '#1', user: event.data.id })
      })
      const after = await scim.createUser('after@acme.example.com').then((r) => r.id)
      const hooksFor = (user: string) => log.filter((entry) => entry.user === user).map((entry) => entry.hook).sort()
      t.same(hooksFor(after), ['#0', '#1'], 'the late hook gets the next event (as does the first), before the response')
      await sleep(300)
      t.same(hooksFor(before), ['#0'], 'the late hook does not get the event recorded before it was added')
      t.same(self, [app], '`this` is the app')
    })
  })
})

t.test('checking event.event narrows event.data (type-checked by tsc)', async (t) => {
  const emails: string[] = []
  const groups: string[] = []
  const app = await buildApp(t, mem, {
    onScimEvent (event) {
      if (event.event === 'user.created') emails.push(event.data.email)
      if (event.event === 'group.user_added') groups.push(event.data.group.name)
      // @ts-expect-error without narrowing, data may be a group, which has no email
      t.type(event.data.email, event.event.startsWith('user.') ? 'string' : 'undefined')
    }
  })
  const handler: Parameters<typeof app.directorySync.addHook>[1] = function (event) {
    if (event.event === 'user.updated') {
      const email: string = event.data.email
      const active: boolean = event.data.active
      emails.push(`${email} ${active}`)
    }
  }
  app.directorySync.addHook('onScimEvent', handler)
  const scim = await openScim(app)
  const { id } = await scim.createUser('typed.user@acme.example.com')
  await scim.rename(id, 'renamed')
  t.same(emails, ['typed.user@acme.example.com', 'typed.user@acme.example.com true'])
  t.same(groups, [])
})
