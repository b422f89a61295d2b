// Signed webhooks, received by a real HTTP server: signatures as jackson's receivers verify them, order,
// retries of failed deliveries, the failed list, SCIM latency unaffected by a slow receiver, and
// directories without a webhook.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import type { FailedDelivery } from '../../src/index.js'
import { buildApp, sqliteFile } from '../helpers/app.js'
import { onSqlEngines, openScim, receiver, sleep, until, verifySignature } from './support.js'

const SECRET = 'whsec-events-test'

t.test('every delivery is signed with the directory\'s secret over the raw body; 20 users → 20 deliveries in order', async (t) => {
  await onSqlEngines(t, 'webhook_signed', async (t, db) => {
    const hook = await receiver(t, SECRET)
    const app = await buildApp(t, db, { events: { backoff: 20, pollInterval: 100 } })
    const scim = await openScim(app, { webhook_url: hook.url, webhook_secret: SECRET })
    const started = Date.now()
    const users: string[] = []
    for (let i = 0; i < 20; i++) users.push((await scim.createUser(`signed${i}@acme.example.com`)).id)
    await until('20 deliveries', () => hook.deliveries.length >= 20)
    await sleep(300)

    const { deliveries } = hook
    t.equal(deliveries.length, 20, '20 deliveries, no more')
    t.ok(deliveries.every((d) => d.valid), 'every BoxyHQ-Signature and Ory-Polis-Signature verifies with the secret')
    t.ok(deliveries.every((d) => d.headers['boxyhq-signature'] === d.headers['ory-polis-signature']), 'both headers carry the same signature')
    t.ok(deliveries.every((d) => d.timestamp >= started - 1000 && d.timestamp <= d.at + 1000), 'the signed timestamp is the time of sending (ms)')
    t.ok(deliveries.every((d) => /^application\/json/.test(d.headers['content-type'] ?? '')), 'sent as JSON')
    t.same(deliveries.map((d) => d.body.data?.id), users, 'in the order the users were created')
    for (const [i, { body }] of deliveries.entries()) {
      t.match(body, {
        id: String,
        event: 'user.created',
        directory_id: scim.directory.id,
        tenant: scim.directory.tenant,
        product: scim.directory.product,
        created: String,
        data: { id: users[i], email: `signed${i}@acme.example.com` }
      }, `delivery ${i} is the event`)
    }
    t.equal(new Set(deliveries.map((d) => d.body.id)).size, 20, 'each delivery has its own event id')
    // The receiver would reject a body signed with another secret.
    const wrong = verifySignature(deliveries[0].headers['boxyhq-signature'] as string, 'another-secret', deliveries[0].rawBody)
    t.equal(wrong.valid, false, 'the check does tell secrets apart')
    t.same((await app.directorySync.events.failed()).data, [], 'nothing failed')
  })
})

t.test('a webhook answering 500 twice per event is retried and finally delivered, in order', async (t) => {
  await onSqlEngines(t, 'webhook_retry', async (t, db) => {
    const answered = new Map<string, number>()
    const hook = await receiver(t, SECRET, (body) => {
      const n = (answered.get(body.id) ?? 0) + 1
      answered.set(body.id, n)
      return n <= 2 ? 500 : 200
    })
    const app = await buildApp(t, db, { events: { backoff: 20, maxBackoff: 200, maxAttempts: 5, pollInterval: 100 } })
    const scim = await openScim(app, { webhook_url: hook.url, webhook_secret: SECRET })
    const users: string[] = []
    for (let i = 0; i < 3; i++) users.push((await scim.createUser(`flaky${i}@acme.example.com`)).id)
    await until('3 successful deliveries', () => hook.deliveries.filter((d) => d.status === 200).length >= 3)
    await sleep(300)

    const { deliveries } = hook
    t.same(deliveries.map((d) => d.status), [500, 500, 200, 500, 500, 200, 500, 500, 200], 'each event: 2 failures then success, the next one only after')
    t.same(deliveries.filter((d) => d.status === 200).map((d) => d.body.data.id), users, 'delivered in order')
    for (let i = 0; i < 3; i++) {
      const attempts = deliveries.slice(i * 3, i * 3 + 3)
      t.equal(new Set(attempts.map((d) => d.rawBody)).size, 1, `event ${i}: the same body (and id) on every attempt`)
    }
    t.ok(deliveries.every((d) => d.valid), 'every attempt signed')
    t.same((await app.directorySync.events.failed()).data, [], 'nothing kept as failed')
  })
})

t.test('a webhook failing for good is kept as failed under `webhook`, and replayed to it', async (t) => {
  let up = false
  const hook = await receiver(t, SECRET, () => up ? 200 : 503)
  const app = await buildApp(t, sqliteFile(t), { events: { backoff: 20, maxAttempts: 2, pollInterval: 100 } })
  const scim = await openScim(app, { webhook_url: hook.url, webhook_secret: SECRET })
  const { id: userId } = await scim.createUser('down@acme.example.com')
  let failed: FailedDelivery[] = []
  await until('the failed delivery', async () => {
    failed = (await app.directorySync.events.failed('webhook')).data ?? []
    return failed.length > 0
  })
  t.equal(failed.length, 1, 'one failed delivery')
  t.equal(failed[0].handler, 'webhook', 'kept under `webhook`')
  t.equal(failed[0].attempts, 2, 'after maxAttempts (2)')
  t.match(failed[0].error, /503/, 'the error names the status')
  t.equal(failed[0].event.data.id, userId, 'the user\'s event')
  t.equal(hook.deliveries.length, 2, 'attempted twice')
  up = true
  t.same(await app.directorySync.events.replay(failed[0].event.id, 'webhook'), { data: { delivered: 1, failed: 0 }, error: null }, 'replayed')
  t.equal(hook.deliveries.length, 3, 'sent once more')
  t.equal(hook.deliveries[2].body.id, failed[0].event.id, 'the replay sent the same event')
  t.equal(hook.deliveries[2].valid, true, 'signed')
  t.same((await app.directorySync.events.failed()).data, [], 'no longer failed')
})

t.test('a receiver answering after 3 s does not slow SCIM requests down', async (t) => {
  const hook = await receiver(t, SECRET, async () => { await sleep(3000); return 200 })
  const app = await buildApp(t, sqliteFile(t), { events: { pollInterval: 100 } })
  const scim = await openScim(app, { webhook_url: hook.url, webhook_secret: SECRET })
  const times: number[] = [(await scim.createUser('latency-first@acme.example.com')).ms]
  // Webhooks are sent just after the response: the next POSTs go while the receiver sits on the first.
  await until('the slow receiver to be called', () => hook.deliveries.length >= 1)
  for (let i = 0; i < 10; i++) times.push((await scim.createUser(`latency${i}@acme.example.com`)).ms)
  t.equal(hook.deliveries.length, 1, 'the slow receiver was still answering the first delivery meanwhile')
  for (const [i, ms] of times.entries()) t.ok(ms < 1500, `POST ${i} took ${Math.round(ms)} ms (< 1500)`)
})

t.test('a directory without a webhook: nothing is sent and nothing fails', async (t) => {
  await onSqlEngines(t, 'webhook_none', async (t, db) => {
    const hook = await receiver(t, SECRET)
    const recorded: string[] = []
    const app = await buildApp(t, db, { onScimEvent (event) { recorded.push(event.directory_id) }, events: { backoff: 20, maxAttempts: 2, pollInterval: 100 } })
    const plain = await openScim(app)
    const hooked = await openScim(app, { webhook_url: hook.url, webhook_secret: SECRET })
    for (let i = 0; i < 3; i++) await plain.createUser(`plain${i}@acme.example.com`)
    const { id } = await plain.createUser('plain.patched@acme.example.com')
    await plain.rename(id, 'Renamed')
    await hooked.createUser('hooked@acme.example.com')
    await until('the webhooked directory\'s delivery', () => hook.deliveries.length >= 1)
    await sleep(400)
    t.equal(recorded.filter((d) => d === plain.directory.id).length, 5, 'the plain directory\'s 5 events were recorded and handled')
    t.same(hook.deliveries.map((d) => d.body.directory_id), [hooked.directory.id], 'only the webhooked directory\'s event was sent')
    t.same((await app.directorySync.events.failed()).data, [], 'nothing failed')
  })
})

t.test('a webhook that redirects fails: the redirect is not followed (a webhook URL must not lead elsewhere)', async (t) => {
  const target = await receiver(t, SECRET)
  const redirecting = http.createServer((req, res) => { req.resume(); res.writeHead(307, { location: target.url }).end() })
  await new Promise<void>((resolve) => redirecting.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { redirecting.closeAllConnections(); redirecting.close(() => resolve()) }))
  const app = await buildApp(t, sqliteFile(t), { events: { backoff: 20, maxAttempts: 1, pollInterval: 100 } })
  const scim = await openScim(app, { webhook_url: `http://127.0.0.1:${(redirecting.address() as AddressInfo).port}/hook`, webhook_secret: SECRET })
  await scim.createUser('redirected@acme.example.com')
  let failed: FailedDelivery[] = []
  await until('the failed delivery', async () => {
    failed = (await app.directorySync.events.failed('webhook')).data ?? []
    return failed.length > 0
  })
  t.match(failed[0].error, /307.*redirect/, 'failed with the redirect named')
  t.equal(target.deliveries.length, 0, 'the redirect\'s target was never called')
})
