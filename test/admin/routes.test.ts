// The admin routes (fastify-directory-sync/admin): refused without the host's auth; every route confined
// to the session's tenant and product (another's directory answers 404 as an unknown one does, a create
// or list for another tenant 403); and each route doing what the controller does, with no secret on a GET.
import t from 'tap'
import Fastify from 'fastify'
import fastifySwagger from '@fastify/swagger'
import fastifyDirectorySync from '../../src/index.js'
import { directorySyncAdmin } from '../../src/admin/index.js'
import { TAG } from '../../src/admin/schemas.js'
import { buildAppWith, externalUrl, mem, scimUser, sqliteFile } from '../helpers/app.js'
import { SCIM, groupBody, sleep } from '../helpers/scim.js'
import { adminApp, asTenant, PRODUCT } from './support.js'

t.test('registration is refused without the host\'s auth hooks or tenantOf, and before the main plugin', async (t) => {
  const app = Fastify({ logger: false })
  t.after(() => app.close())
  await app.register(fastifyDirectorySync, { db: mem, externalUrl })
  for (const [what, options] of [
    ['no hooks', { tenantOf: () => 'all' }],
    ['an empty list of hooks', { onRequest: [], tenantOf: () => 'all' }],
    ['no tenantOf', { onRequest: async () => {} }]
  ] as const) {
    const child = Fastify({ logger: false })
    await child.register(fastifyDirectorySync, { db: mem, externalUrl })
    await t.rejects(async () => { await child.register(directorySyncAdmin, options as any).ready() }, { code: 'FST_DSYNC_ADMIN_AUTH_REQUIRED', message: /onRequest or preHandler/ }, what)
    await child.close().catch(() => {})
  }
  const alone = Fastify({ logger: false })
  await t.rejects(async () => { await alone.register(directorySyncAdmin, { onRequest: async () => {}, tenantOf: () => 'all' }).ready() }, { code: 'FST_DSYNC_NOT_REGISTERED' }, 'without the main plugin')
  await alone.close().catch(() => {})
})

t.test('the host\'s hook runs before every route; a tenantOf without a tenant is 403', async (t) => {
  const app = await adminApp(t, mem)
  for (const url of ['/admin/providers', '/admin/directories', '/admin/directories/x', '/admin/setup-links', '/admin/nope']) {
    const res = await app.inject({ url })
    t.equal(res.statusCode, 401, `${url} without a session`)
  }
  const res = await app.inject({ method: 'POST', url: '/admin/directories', payload: { type: 'okta-scim-v2' } })
  t.equal(res.statusCode, 401, 'a POST without a session')
  t.equal((await app.directorySync.directories.list()).data?.total, 0, 'created nothing')
})

t.test('one tenant\'s session cannot read, change or list another\'s directories or links', async (t) => {
  const app = await adminApp(t, sqliteFile(t), { events: { maxAttempts: 1, backoff: 10, pollInterval: 100 } })
  const acme = asTenant(app, 'acme')
  const globex = asTenant(app, 'globex')
  const created = await acme.post('/directories', { type: 'okta-scim-v2', name: 'Acme Okta' })
  t.equal(created.statusCode, 201)
  const { directory, credentials } = created.json()
  t.match(directory, { tenant: 'acme', product: PRODUCT, type: 'okta-scim-v2', name: 'Acme Okta' }, 'created for the session\'s own tenant and product')
  const other = (await globex.post('/directories', { type: 'generic-scim-v2' })).json().directory
  // Some data in acme's directory, through SCIM.
  const scim = (method: string, path: string, body?: unknown) => app.inject({
    method: method as 'POST', url: new URL(credentials.url).pathname + path, headers: { authorization: `Bearer ${credentials.token}`, 'content-type': SCIM }, ...(body === undefined ? {} : { payload: JSON.stringify(body) })
  })
  const user = (await scim('POST', '/Users', scimUser('jane.doe@acme.example'))).json()
  const group = (await scim('POST', '/Groups', groupBody('Staff', [{ value: user.id }]))).json()
  const link = (await acme.post('/setup-links', {})).json().link

  const id = directory.id
  const reads = [`/directories/${id}`, `/directories/${id}/status`, `/directories/${id}/steps`, `/directories/${id}/users`, `/directories/${id}/users/${user.id}`,
    `/directories/${id}/groups`, `/directories/${id}/groups/${group.id}`, `/directories/${id}/groups/${group.id}/members`, `/directories/${id}/events`,
    `/directories/${id}/failed`, `/setup-links/${link.id}`]
  for (const url of reads) {
    t.equal((await acme.get(url)).statusCode, 200, `acme reads ${url}`)
    const res = await globex.get(url)
    t.equal(res.statusCode, 404, `globex cannot read ${url}`)
    t.notMatch(res.body, /jane|Staff|Acme/, 'and learns nothing of it')
  }
  const writes: Array<[string, () => Promise<{ statusCode: number }>]> = [
    ['PATCH', () => globex.patch(`/directories/${id}`, { name: 'mine now' })],
    ['deactivate', () => globex.post(`/directories/${id}/deactivate`)],
    ['credentials', () => globex.post(`/directories/${id}/credentials`)],
    ['rotate', () => globex.post(`/directories/${id}/token`, {})],
    ['replay', () => globex.post(`/directories/${id}/failed/some-event/replay`, {})],
    ['guard release', () => globex.post(`/directories/${id}/guard/release`, {})],
    ['DELETE', () => globex.delete(`/directories/${id}`)],
    ['revoke link', () => globex.delete(`/setup-links/${link.id}`)]
  ]
  for (const [what, write] of writes) t.equal((await write()).statusCode, 404, `globex cannot ${what} acme's`)
  const after = (await app.directorySync.directories.get(id)).data!
  t.equal(after.name, 'Acme Okta', 'acme\'s directory is unchanged')
  t.equal(after.scim.secret, credentials.token, 'its token too')
  t.equal(after.deactivated, false)
  t.equal((await app.directorySync.setupLinks.get(link.id)).data?.state, 'active', 'and its link')

  t.same((await globex.get('/directories')).json().items.map((d: { id: string }) => d.id), [other.id], 'globex lists only its own')
  t.equal((await globex.get('/directories')).json().total, 1, 'and counts only its own')
  t.equal((await globex.get('/directories?tenant=acme')).statusCode, 403, 'and may not ask for another tenant')
  t.equal((await globex.post('/directories', { type: 'okta-scim-v2', tenant: 'acme', product: PRODUCT })).statusCode, 403, 'nor create for it')
  t.equal((await globex.post('/setup-links', { tenant: 'acme' })).statusCode, 403, 'nor make it a setup link')
  t.same((await globex.get('/setup-links')).json().items, [], 'nor list its links')

  const all = asTenant(app, 'all')
  t.equal((await all.get('/directories')).json().total, 2, 'the operator sees both')
  t.equal((await all.get('/directories?tenant=acme&product=app')).json().total, 1, 'and can filter')
  t.equal((await all.post('/directories', { type: 'okta-scim-v2' })).statusCode, 400, 'an operator\'s create names the tenant and product')
  t.equal((await all.get(`/directories/${id}/users/${user.id}`)).json().email, 'jane.doe@acme.example')

  // A tenant's session may not point the server at an address of its choosing (without tenantWebhooks).
  t.equal((await acme.post('/directories', { type: 'okta-scim-v2', webhook_url: 'http://169.254.169.254/latest' })).statusCode, 403, 'a tenant cannot create with a webhook')
  t.equal((await acme.patch(`/directories/${id}`, { webhook_url: 'http://127.0.0.1:6379/' })).statusCode, 403, 'nor set one')
  t.equal((await app.directorySync.directories.get(id)).data?.webhook.endpoint, '', 'none was set')
  t.equal((await all.patch(`/directories/${id}`, { webhook_url: 'https://hooks.example.com/dsync' })).statusCode, 200, 'the operator can')

  // A cross-site form can post text/plain with the host's cookies: changing routes take JSON only.
  const form = await app.inject({ method: 'POST', url: `/admin/directories/${id}/deactivate`, headers: { 'x-session': 'ok', 'x-tenant': 'acme', 'content-type': 'text/plain' }, payload: 'x=1' })
  t.equal(form.statusCode, 415, 'a text/plain POST is refused')
  t.equal((await app.directorySync.directories.get(id)).data?.deactivated, false, 'and changed nothing')
  const bare = await app.inject({ method: 'POST', url: `/admin/directories/${id}/token`, headers: { 'x-session': 'ok', 'x-tenant': 'acme' } })
  t.equal(bare.statusCode, 200, 'an optional body may be left out')
})

t.test('every route, as a customer\'s admin uses them', async (t) => {
  let broken = true
  const app = await buildAppWith(t, sqliteFile(t), { events: { maxAttempts: 1, backoff: 10, pollInterval: 100 } }, async (app) => {
    await app.register(directorySyncAdmin, { prefix: '/admin', preHandler: async () => {}, tenantOf: () => ({ tenant: 'acme', product: PRODUCT }), tenantWebhooks: true })
  })
  app.directorySync.addHook('onScimEvent', async () => { if (broken) throw new Error('the receiver is down') }, { id: 'crm' })
  const admin = asTenant(app, 'acme')

  t.same(Object.keys((await admin.get('/providers')).json().providers).sort(), ['azure-scim-v2', 'generic-scim-v2', 'jumpcloud-scim-v2', 'okta-scim-v2', 'onelogin-scim-v2'], 'providers without google')
  t.equal((await admin.post('/directories', { type: 'google' })).statusCode, 400, 'google cannot be created')
  t.equal((await admin.post('/directories', { type: 'okta' })).statusCode, 400, 'a type that is not offered')
  t.equal((await admin.post('/directories', { type: 'okta-scim-v2', webhook_url: 'ftp://x' })).statusCode, 400, 'a webhook that is not http(s)')

  const created = (await admin.post('/directories', { type: 'azure-scim-v2' })).json()
  const id = created.directory.id
  t.match(created.directory.scim, { endpoint: `${externalUrl}/api/scim/v2.0/${id}`, tenantUrl: `${externalUrl}/api/scim/v2.0/${id}/?aadOptscim062020` }, 'Entra\'s Tenant URL carries the flag')
  t.equal(created.credentials.url, created.directory.scim.tenantUrl, 'credentials give the URL to paste')
  const got = await admin.get(`/directories/${id}`)
  t.notOk(got.body.includes(created.credentials.token), 'no GET carries the token')
  t.notOk('secret' in got.json().scim, 'nor a secret field')
  t.equal((await admin.post(`/directories/${id}/credentials`)).json().token, created.credentials.token, 'a POST reveals it')
  const steps = (await admin.get(`/directories/${id}/steps`)).json()
  t.match(steps, { provider: 'azure-scim-v2', providerName: String, url: created.directory.scim.tenantUrl }, 'steps for Entra')
  t.ok(steps.steps.some((s: { detail: string }) => s.detail.includes(`${id}/?aadOptscim062020`)), 'with the Tenant URL filled in')
  t.notOk(JSON.stringify(steps).includes(created.credentials.token), 'and never the token')

  // Provisioning through SCIM, then reading it back page by page.
  const scim = (token: string, method: string, path: string, body?: unknown) => app.inject({
    method: method as 'POST', url: `/api/scim/v2.0/${id}${path}`, headers: { authorization: `Bearer ${token}`, 'content-type': SCIM }, ...(body === undefined ? {} : { payload: JSON.stringify(body) })
  })
  const token = created.credentials.token
  const users = []
  for (let i = 0; i < 5; i++) users.push((await scim(token, 'POST', '/Users', scimUser(`user.${i}@acme.example`))).json())
  const group = (await scim(token, 'POST', '/Groups', groupBody('Staff', users.slice(0, 3).map((u) => ({ value: u.id, display: u.userName }))))).json()
  const page = (await admin.get(`/directories/${id}/users?offset=2&limit=2`)).json()
  t.equal(page.total, 5, 'users with their total')
  t.equal(page.items.length, 2, 'a page of them')
  t.equal((await admin.get(`/directories/${id}/users/${users[0].id}`)).json().email, 'user.0@acme.example')
  t.equal((await admin.get(`/directories/${id}/users/nope`)).statusCode, 404)
  t.match((await admin.get(`/directories/${id}/groups`)).json(), { total: 1, items: [{ id: group.id, name: 'Staff' }] })
  t.match((await admin.get(`/directories/${id}/groups/${group.id}/members?limit=2`)).json(), { total: 3, items: [{ user_id: String, display: String }, {}] })
  t.equal((await admin.get(`/directories/${id}/users?limit=5000`)).statusCode, 400, 'a limit over 1,000 is refused')

  // Events, the status with the last error, failed deliveries and replay.
  const events = (await admin.get(`/directories/${id}/events?types=user.created&limit=3`)).json()
  t.equal(events.events.length, 3, 'events of one type, a page')
  t.ok(events.events.every((e: { event: string, directory_id: string }) => e.event === 'user.created' && e.directory_id === id))
  const rest = (await admin.get(`/directories/${id}/events?types=user.created&after=${encodeURIComponent(events.after)}`)).json()
  t.equal(rest.events.length, 2, 'followed with the cursor')
  t.equal((await admin.get(`/directories/${id}/events?after=garbage`)).statusCode, 400, 'a bad cursor is 400')
  await scim(token, 'PATCH', `/Users/${users[0].id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'frobnicate' }] })
  const status = (await admin.get(`/directories/${id}/status`)).json()
  t.match(status, { users: 5, groups: 1, lastRequest: { method: 'PATCH', status: 400 }, lastError: { method: 'PATCH', status: 400, detail: String } }, 'status with the last error and its detail')
  let failed: Array<{ event: { id: string }, handler: string }> = []
  for (let i = 0; i < 100 && failed.length < 9; i++) { await sleep(50); failed = (await admin.get(`/directories/${id}/failed?handler=crm`)).json().items }
  t.equal(failed.length, 9, 'the hook\'s failed deliveries (5 users created, 1 group, 3 members added)')
  broken = false
  t.same((await admin.post(`/directories/${id}/failed/${failed[0].event.id}/replay`, { handler: 'crm' })).json(), { delivered: 1, failed: 0 }, 'replayed')
  t.equal((await admin.get(`/directories/${id}/failed?handler=crm`)).json().items.length, 8, 'one failure fewer')
  t.equal((await admin.post(`/directories/${id}/failed/${failed[0].event.id}/replay`, {})).statusCode, 404, 'a delivery no longer failed is 404')
  t.equal((await admin.post(`/directories/${id}/guard/release`, {})).statusCode, 409, 'no guard to release: 409')

  // Settings, rotation with a grace period, deactivation and deletion.
  t.equal((await admin.patch(`/directories/${id}`, { name: 'Entra (Acme)' })).json().name, 'Entra (Acme)')
  const rotated = (await admin.post(`/directories/${id}/token`, { graceSeconds: 60 })).json()
  t.not(rotated.token, token, 'a new token')
  t.equal((await scim(token, 'GET', '/Users')).statusCode, 200, 'the old one works during the grace period')
  t.equal((await scim(rotated.token, 'GET', '/Users')).statusCode, 200, 'the new one too')
  t.equal((await admin.post(`/directories/${id}/token`, { graceSeconds: -1 })).statusCode, 400, 'a negative grace is refused')
  t.equal((await admin.post(`/directories/${id}/deactivate`)).json().deactivated, true)
  t.equal((await scim(rotated.token, 'GET', '/Users')).statusCode, 403, 'a deactivated directory refuses SCIM')
  t.equal((await admin.post(`/directories/${id}/activate`)).json().deactivated, false)
  t.equal((await admin.delete(`/directories/${id}`)).statusCode, 204)
  t.equal((await admin.get(`/directories/${id}`)).statusCode, 404, 'gone')
  t.equal((await admin.get('/directories')).json().total, 0)
})

t.test('the admin routes are in the OpenAPI document under their own tag; the setup pages\' HTML is not', async (t) => {
  const app = Fastify({ logger: false })
  t.after(() => app.close())
  await app.register(fastifySwagger, { openapi: { info: { title: 'host', version: '1' } } })
  await app.register(fastifyDirectorySync, { db: mem, externalUrl })
  await app.register(directorySyncAdmin, { prefix: '/admin', onRequest: async () => {}, tenantOf: () => 'all' })
  await app.register((await import('../../src/admin/index.js')).directorySyncSetup, { prefix: '/setup' })
  await app.ready()
  const doc = app.swagger() as { paths: Record<string, Record<string, { tags?: string[] }>> }
  const admin = Object.entries(doc.paths).filter(([path]) => path.startsWith('/admin/'))
  t.ok(admin.length >= 15, `${admin.length} admin paths`)
  t.ok(admin.every(([, ops]) => Object.values(ops).every((op) => op.tags?.includes(TAG))), `each under the tag "${TAG}"`)
  t.ok(doc.paths['/admin/directories/{id}/users']?.get, 'with path parameters as OpenAPI writes them')
  t.ok(doc.paths['/setup/api/link']?.get, 'the setup API is documented')
  t.notOk(doc.paths['/setup/'] ?? doc.paths['/setup'], 'its page is not')
})
