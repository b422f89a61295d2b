// Prometheus metrics after scripted traffic: SCIM requests by operation and status, delivery lag while
// a hook is blocked, failures after maxAttempts; directory_id only when asked for; a host's registry;
// metrics: false.
import t from 'tap'
import { Registry } from 'prom-client'
import { buildApp, mem, scimUser } from '../helpers/app.js'
import { SCIM } from '../helpers/scim.js'
import { onSqlEngines, openScim, until } from './support.js'

type Json = { name: string, values: Array<{ labels: Record<string, string | number>, value: number, metricName?: string }> }

async function value (registry: Registry, name: string, labels: Record<string, string>, metricName = name): Promise<number> {
  const metric = (await registry.getMetricsAsJSON() as unknown as Json[]).find((m) => m.name === name)
  const sample = metric?.values.find((v) => (v.metricName ?? name) === metricName && Object.entries(labels).every(([k, l]) => String(v.labels[k]) === l))
  return sample?.value ?? 0
}

t.test('values after scripted traffic', async (t) => {
  await onSqlEngines(t, 'metrics', async (t, db) => {
    let release!: () => void
    const released = new Promise<void>((resolve) => { release = resolve })
    const app = await buildApp(t, db, { events: { budget: 20, maxAttempts: 2, backoff: 20, maxBackoff: 20, pollInterval: 100 } })
    app.directorySync.addHook('onScimEvent', () => { throw new Error('down') }, { id: 'fails' })
    app.directorySync.addHook('onScimEvent', async () => { await released }, { id: 'blocked' })
    const registry = app.directorySync.metrics!
    const scim = await openScim(app)
    await scim.createUser('ann@acme.example')
    await scim.createUser('bob@acme.example')
    t.equal((await scim.send('GET', '/Users/00000000-0000-4000-8000-000000000000')).statusCode, 404)
    const base = `/api/scim/v2.0/${scim.directory.id}`
    t.equal((await app.inject({ method: 'GET', url: `${base}/Users`, headers: { authorization: 'Bearer wrong' } })).statusCode, 401)

    t.equal(await value(registry, 'dsync_scim_requests_total', { operation: 'POST /Users', status: '201' }), 2, 'two creates')
    t.equal(await value(registry, 'dsync_scim_requests_total', { operation: 'GET /Users/:id', status: '404' }), 1, 'a read of an unknown user')
    t.equal(await value(registry, 'dsync_scim_requests_total', { operation: 'GET /Users', status: '401' }), 1, 'a wrong token')
    t.equal(await value(registry, 'dsync_scim_request_duration_seconds', { operation: 'POST /Users' }, 'dsync_scim_request_duration_seconds_count'), 2, 'timed')

    await new Promise((resolve) => setTimeout(resolve, 600))
    release()
    await until('the blocked hook to deliver both', async () => await value(registry, 'dsync_event_delivery_lag_seconds', { handler: 'blocked' }, 'dsync_event_delivery_lag_seconds_count') === 2)
    t.ok(await value(registry, 'dsync_event_delivery_lag_seconds', { handler: 'blocked' }, 'dsync_event_delivery_lag_seconds_sum') >= 1.0, 'the lag counts the time the hook was blocked')
    await until('fails to give up on both', async () => await value(registry, 'dsync_event_deliveries_failed_total', { handler: 'fails' }) === 2)
    t.equal(await value(registry, 'dsync_event_delivery_failures_total', { handler: 'fails' }), 4, 'every failed attempt: 2 events × maxAttempts 2')
    const text = await registry.metrics()
    t.notOk(text.includes(scim.directory.id), 'no directory id in any label by default')
    t.notOk(text.includes(scim.directory.scim.secret) || text.includes('ann@acme.example'), 'no secret, no personal value')
  })
})

t.test('directory_id when asked for; a host\'s registry shared by two registrations; metrics: false', async (t) => {
  const registry = new Registry()
  const app = await buildApp(t, mem, { metrics: { registry, directoryLabel: true } })
  const other = await buildApp(t, mem, { metrics: { registry } })
  t.equal(app.directorySync.metrics, registry, 'the host\'s registry')
  t.equal(other.directorySync.metrics, registry, 'shared')
  const scim = await openScim(app)
  await scim.createUser('ann@acme.example')
  t.equal(await value(registry, 'dsync_scim_requests_total', { operation: 'POST /Users', status: '201', directory_id: scim.directory.id }), 1, 'labelled by directory')
  await app.inject({ method: 'POST', url: '/api/scim/v2.0/made-up-id/Users', headers: { authorization: 'Bearer x', 'content-type': SCIM }, payload: JSON.stringify(scimUser('x@y.example')) })
  t.equal(await value(registry, 'dsync_scim_requests_total', { operation: 'POST /Users', status: '401', directory_id: 'unauthenticated' }), 1, 'a caller-chosen id is never a label')
  const off = await buildApp(t, mem, { metrics: false })
  t.equal(off.directorySync.metrics, null, 'metrics: false')
})
