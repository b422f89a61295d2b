// Setup links, from the host's side (directorySync.setupLinks, the admin routes) and from the IT
// admin's (the setup pages): only a digest of the token is stored; the page a GET answers carries no
// token of any kind; picking the provider creates the tenant's directory, and may change its type until
// the first SCIM request (noted in the database, so another instance refuses too); the token is revealed
// to a POST and re-made by rotation; progress shows what arrived; expired, revoked and unknown links are
// refused, and guessing is rate-limited.
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import Database from 'better-sqlite3'
import { mem, scimUser, sqliteFile } from '../helpers/app.js'
import { SCIM, sleep } from '../helpers/scim.js'
import { withService } from '../helpers/services.js'
import type { Test } from 'tap'
import type { DbOptions } from '../../src/index.js'
import { adminApp, asLink, asTenant, PRODUCT } from './support.js'
import { MemoryAdminStore } from '../../src/store/memory-admin.js'
import { setupLinksController } from '../../src/admin/setup-links.js'

const scim = (app: FastifyInstance, url: string, token: string, method: string, path: string, body?: unknown) => app.inject({
  method: method as 'POST', url: new URL(url).pathname.replace(/\/$/, '') + path, headers: { authorization: `Bearer ${token}`, 'content-type': SCIM }, ...(body === undefined ? {} : { payload: JSON.stringify(body) })
})

/** `fn` on mem, a sqlite file, PostgreSQL, MariaDB and Redis (each service's database fresh, dropped after). */
async function onEngines (t: Test, name: string, fn: (t: Test, db: DbOptions) => Promise<void>) {
  await t.test(`mem: ${name}`, (st) => fn(st, mem))
  await t.test(`sqlite file: ${name}`, (st) => fn(st, sqliteFile(st)))
  for (const service of ['postgres', 'mariadb', 'redis'] as const) await withService(t, service, `adm_${name}`, fn)
}

t.test('an IT admin\'s way through a link, on each engine', async (t) => {
  await onEngines(t, 'setup_links', async (t, db) => {
    const app = await adminApp(t, db)
    const created = await asTenant(app, 'acme').post('/setup-links', { expiresInSeconds: 3600 })
    t.equal(created.statusCode, 201)
    const { link, token, url } = created.json()
    t.match(token, /^dsl_[A-Za-z0-9_-]{43}$/, 'a token of 32 random bytes, named')
    t.equal(url, `http://127.0.0.1:3000/setup#${token}`, 'the URL carries the token in its fragment, which browsers never send')
    t.match(link, { tenant: 'acme', product: PRODUCT, state: 'active', directoryId: null, revokedAt: null, firstRequestAt: null })

    const page = await app.inject({ url: '/setup' })
    t.equal(page.statusCode, 200)
    t.match(page.headers['content-type'], /text\/html/)
    t.match(page.headers['content-security-policy'], /default-src 'self'/, 'a strict CSP')
    t.equal(page.headers['referrer-policy'], 'no-referrer')
    t.notOk(page.body.includes(token), 'the page holds no token')
    for (const asset of ['/setup/setup.js', '/setup/setup.css']) t.equal((await app.inject({ url: asset })).statusCode, 200, asset)

    const it = asLink(app, token)
    let view = (await it.get('/api/link')).json()
    t.match(view, { link: { id: link.id }, directory: null, steps: null, progress: null, canChangeProvider: true }, 'no directory yet')
    t.ok(view.providers['okta-scim-v2'] && !('google' in view.providers), 'the providers to pick from')
    t.equal((await it.post('/api/credentials')).statusCode, 409, 'no token before a provider is picked')

    view = (await it.post('/api/provider', { type: 'okta-scim-v2' })).json()
    const id = view.directory.id
    t.match(view.directory, { tenant: 'acme', product: PRODUCT, type: 'okta-scim-v2' }, 'picking creates the tenant\'s directory')
    t.match(view.progress, { firstRequestAt: null, users: 0, groups: 0, lastRequest: null }, 'waiting for the first request')
    t.equal((await app.directorySync.setupLinks.get(link.id)).data?.directoryId, id, 'the link remembers it')
    view = (await it.post('/api/provider', { type: 'azure-scim-v2' })).json()
    t.equal(view.directory.id, id, 'picking again changes the same directory')
    t.equal(view.directory.type, 'azure-scim-v2')
    t.match(view.directory.scim.tenantUrl, /\/\?aadOptscim062020$/, 'Entra\'s Tenant URL with the flag')
    t.equal(view.steps.provider, 'azure-scim-v2', 'and Entra\'s steps')
    t.equal((await app.directorySync.directories.list({ tenant: 'acme', product: PRODUCT })).data?.total, 1, 'one directory, not two')
    t.equal((await it.post('/api/provider', { type: 'google' })).statusCode, 400, 'google cannot be picked')
    t.notOk((await it.get('/api/link')).body.includes((await app.directorySync.directories.get(id)).data!.scim.secret), 'no GET carries the SCIM token')

    const credentials = (await it.post('/api/credentials')).json()
    t.equal(credentials.url, view.directory.scim.tenantUrl)
    t.equal((await scim(app, credentials.url, credentials.token, 'POST', '/Users', scimUser('jane.doe@acme.example'))).statusCode, 201, 'the revealed token provisions')
    t.equal((await scim(app, credentials.url, credentials.token, 'GET', '/Users/nope')).statusCode, 404)
    for (let i = 0; i < 40 && (await app.directorySync.setupLinks.get(link.id)).data?.firstRequestAt === null; i++) await sleep(25)
    view = (await it.get('/api/link')).json()
    const progress = view.progress
    t.match(progress, { users: 1, groups: 0, lastRequest: { method: 'GET', status: 404 }, lastError: { status: 404, detail: String } }, 'what arrived: counts, last request, last error')
    t.ok(Date.parse(progress.firstRequestAt) > 0, 'no longer waiting')
    t.ok((await app.directorySync.setupLinks.get(link.id)).data?.firstRequestAt, 'the first request is noted on the link, for every instance')
    t.equal(view.canChangeProvider, false)
    const refused = await it.post('/api/provider', { type: 'okta-scim-v2' })
    t.equal(refused.statusCode, 409, 'the provider is fixed after the first request')
    t.equal((await app.directorySync.directories.get(id)).data?.type, 'azure-scim-v2', 'and stays as it was')

    const rotated = (await it.post('/api/token')).json()
    t.not(rotated.token, credentials.token, 'a new token by rotation')
    t.equal((await scim(app, credentials.url, credentials.token, 'GET', '/Users')).statusCode, 401, 'the old one stops at once')
    t.equal((await scim(app, credentials.url, rotated.token, 'GET', '/Users')).statusCode, 200, 'the new one works')

    const revoked = await asTenant(app, 'acme').delete(`/setup-links/${link.id}`)
    t.equal(revoked.json().state, 'revoked')
    const gone = await it.get('/api/link')
    t.equal(gone.statusCode, 410, 'a revoked link is refused')
    t.match(gone.json(), { error: { code: 410, message: /revoked/ } })
    t.equal((await it.post('/api/credentials')).statusCode, 410, 'for every action')
    t.equal((await scim(app, credentials.url, rotated.token, 'GET', '/Users')).statusCode, 200, 'the directory keeps working')
  })
})

t.test('an expired link is refused; unknown tokens are rate-limited per address', async (t) => {
  const app = await adminApp(t, sqliteFile(t))
  const { data } = await app.directorySync.setupLinks.create({ tenant: 'acme', product: PRODUCT, expiresInSeconds: 1 })
  t.equal((await asLink(app, data!.token).get('/api/link')).statusCode, 200, 'valid at first')
  await sleep(1100)
  const expired = await asLink(app, data!.token).get('/api/link')
  t.equal(expired.statusCode, 410, 'refused once expired')
  t.match(expired.json().error.message, /expired/)
  t.equal((await app.directorySync.setupLinks.get(data!.link.id)).data?.state, 'expired')
  t.equal((await asLink(app, data!.token).post('/api/provider', { type: 'okta-scim-v2' })).statusCode, 410, 'and creates nothing')
  t.equal((await app.directorySync.directories.list()).data?.total, 0)

  for (let i = 0; i < 5; i++) t.equal((await asLink(app, `dsl_guess${i}`, '10.0.0.9').get('/api/link')).statusCode, 401, `guess ${i + 1}: 401`)
  const limited = await asLink(app, 'dsl_guess6', '10.0.0.9').get('/api/link')
  t.equal(limited.statusCode, 429, 'then 429')
  t.ok(Number(limited.headers['retry-after']) > 0, 'with Retry-After')
  t.equal((await asLink(app, 'dsl_guess7', '10.0.0.10').get('/api/link')).statusCode, 401, 'another address is not limited')
  t.equal((await app.inject({ url: '/setup/api/link' })).statusCode, 401, 'no token at all: 401')

  t.equal((await app.directorySync.setupLinks.create({ tenant: 'acme', product: PRODUCT, expiresInSeconds: 0 })).error?.code, 400, 'expiry must be at least 1 s')
  t.equal((await app.directorySync.setupLinks.create({ tenant: '', product: PRODUCT })).error?.code, 400, 'a tenant is required')
  t.equal((await app.directorySync.setupLinks.get('nope')).error?.code, 404)
})

t.test('only a digest of a link\'s token is stored; another instance refuses a re-pick after the first request', async (t) => {
  const db = sqliteFile(t)
  const app = await adminApp(t, db)
  const other = await adminApp(t, db)
  const { data } = await app.directorySync.setupLinks.create({ tenant: 'acme', product: PRODUCT })
  const file = new Database((db as { url: string }).url, { readonly: true })
  t.after(() => file.close())
  const rows = file.prepare('SELECT * FROM dsync_setup_links').all() as Array<Record<string, unknown>>
  t.equal(rows.length, 1)
  t.notOk(JSON.stringify(rows).includes(data!.token), 'the token is not in the database')
  t.notOk(JSON.stringify(rows).includes(data!.token.slice(4)), 'nor its random part')

  const view = (await asLink(app, data!.token).post('/api/provider', { type: 'okta-scim-v2' })).json()
  const { token } = (await asLink(app, data!.token).post('/api/credentials')).json()
  // The first SCIM request goes to the other instance; this one learns of it from the database.
  t.equal((await scim(other, view.directory.scim.tenantUrl, token, 'GET', '/Users')).statusCode, 200)
  for (let i = 0; i < 40 && (await app.directorySync.setupLinks.get(data!.link.id)).data?.firstRequestAt === null; i++) await sleep(25)
  t.equal((await asLink(app, data!.token).post('/api/provider', { type: 'jumpcloud-scim-v2' })).statusCode, 409, 'refused here too')
  t.equal((await asLink(app, data!.token).get('/api/link')).json().progress.lastRequest, null, 'this instance answered none itself')
})

t.test('a link whose directory was deleted, a deactivated directory, and a connection live for an hour give no token', async (t) => {
  const app = await adminApp(t, sqliteFile(t))
  const { data } = await app.directorySync.setupLinks.create({ tenant: 'acme', product: PRODUCT })
  const it = asLink(app, data!.token)
  const view = (await it.post('/api/provider', { type: 'okta-scim-v2' })).json()
  t.equal(view.directory.webhook.endpoint, '', 'the IT admin does not see the webhook')
  await app.directorySync.directories.update(view.directory.id, { deactivated: true })
  t.equal((await it.post('/api/credentials')).statusCode, 403, 'no token for a deactivated directory')
  t.equal((await it.post('/api/token')).statusCode, 403, 'nor a new one')
  await app.directorySync.directories.delete(view.directory.id)
  const gone = await it.get('/api/link')
  t.equal(gone.statusCode, 410, 'the link of a deleted directory is refused')
  t.match(gone.json().error.message, /deleted/)
  t.equal((await it.post('/api/provider', { type: 'okta-scim-v2' })).statusCode, 410, 'and makes no new directory')
  t.equal((await app.directorySync.directories.list()).data?.total, 0)
  t.equal((await app.inject({ url: '/setup/nope' })).json().error.code, 404, 'an unknown setup route answers in the error shape')

  // The clock moved on: an hour after the first request, the link shows progress only.
  let clock = Date.now()
  const admin = new MemoryAdminStore()
  const links = setupLinksController({ admin, directories: app.directorySync.directories, providers: app.directorySync.providers, retype: async () => { throw new Error('not used') }, now: () => clock })
  const { data: made } = await links.create({ tenant: 'globex', product: PRODUCT })
  const picked = await links.pickProvider(made!.token, 'generic-scim-v2')
  await admin.markFirstRequest(picked.data!.directory!.id, clock)
  t.equal((await links.credentials(made!.token)).error, null, 'just after the first request, the token is still given')
  clock += 3600_000
  t.equal((await links.credentials(made!.token)).error?.code, 403, 'an hour later it is not')
  t.equal((await links.credentials(made!.token, { rotate: true })).error?.code, 403, 'nor replaced')
  t.equal((await links.open(made!.token)).error, null, 'while the link still shows progress')
})

t.test('two instances picking for one link at once make one directory', async (t) => {
  const db = sqliteFile(t)
  const [one, two] = [await adminApp(t, db), await adminApp(t, db)]
  const { data } = await one.directorySync.setupLinks.create({ tenant: 'acme', product: PRODUCT })
  const answers = await Promise.all([one, two, one, two].map((app) => asLink(app, data!.token).post('/api/provider', { type: 'okta-scim-v2' })))
  t.same(answers.map((a) => a.statusCode), [200, 200, 200, 200])
  t.equal(new Set(answers.map((a) => a.json().directory.id)).size, 1, 'every answer names the same directory')
  t.equal((await one.directorySync.directories.list({ tenant: 'acme', product: PRODUCT })).data?.total, 1, 'and only it exists')
})
