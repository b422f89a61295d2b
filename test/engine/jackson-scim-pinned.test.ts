// Pins the gaps of jackson's own SCIM handler that the plugin's SCIM operations and resource store
// close (see shared/notes/jackson.md). Each test drives raw jackson (its `requests.handle`, no plugin)
// and names the workaround; a jackson release that fixes one shows up here.
import t, { type Test } from 'tap'
import { createDirectorySync, openJacksonDb, type JacksonDirectorySync, type JacksonOptions } from '../../src/engine/jackson.js'
import { jacksonEvent } from '../../src/engine/mirror.js'
import { signature } from '../../src/events/webhooks.js'
import type { Directory, DirectorySyncEvent } from '../../src/index.js'
import { buildApp, mem, scimUser } from '../helpers/app.js'

const quiet = { info () {}, warn () {}, error () {} }

async function rawJackson (t: Test) {
  // jackson's default page limit, as the plugin passes it (engine/database.ts withDefaults).
  const db = await openJacksonDb({ engine: 'mem', pageLimit: 50 } as JacksonOptions['db'], quiet)
  t.after(() => db.close())
  const opts: JacksonOptions = { externalUrl: 'http://127.0.0.1', samlPath: '/sso', scimPath: '/scim', db: { engine: 'mem' }, logger: quiet, noAnalytics: true }
  const dsync: JacksonDirectorySync = await createDirectorySync(db, opts)
  const directory = (await dsync.directories.create({ tenant: 'acme', product: 'app', type: 'generic-scim-v2' })).data as Directory
  const events: DirectorySyncEvent[] = []
  const call = (method: string, resourceType: 'users' | 'groups', body?: unknown, resourceId?: string, query: Record<string, unknown> = {}) =>
    dsync.requests.handle({ method, body, directoryId: directory.id, resourceType, resourceId, apiSecret: directory.scim.secret, query }, async (event) => { events.push(event) })
  return { call, events, directory }
}

t.test('jackson keys uniqueness on the email, not on a case-insensitive userName (workaround: store/ unique name key)', async (t) => {
  const { call } = await rawJackson(t)
  const first = await call('POST', 'users', scimUser('jane@acme.example.com'))
  const sameNameOtherCase = await call('POST', 'users', scimUser('JANE@acme.example.com', { emails: [{ value: 'jane.2@acme.example.com', primary: true }] }))
  t.equal(first.status, 201)
  t.equal(sameNameOtherCase.status, 201, 'the same userName in another case is created a second time')
})

t.test('jackson counts totalResults on one capped page of 50 (workaround: the store counts)', async (t) => {
  const { call } = await rawJackson(t)
  for (let n = 0; n < 55; n++) await call('POST', 'users', scimUser(`user${n}@acme.example.com`))
  const page = await call('GET', 'users', undefined, undefined, { startIndex: 1, count: 2 })
  t.equal(page.data.totalResults, 50, '55 users, yet totalResults is 50')
})

t.test('jackson ignores the members of a group POST and answers members: [] (workaround: the store\'s membership table)', async (t) => {
  const { call } = await rawJackson(t)
  const user = await call('POST', 'users', scimUser('jane@acme.example.com'))
  const group = await call('POST', 'groups', { displayName: 'Sales', members: [{ value: user.data.id }] })
  t.equal(group.status, 201)
  const read = await call('GET', 'groups', undefined, group.data.id)
  t.same(read.data.members, [], 'the member sent with the POST is gone')
})

t.test('jackson stores Entra\'s "False" as a string (workaround: scim/patch.ts booleanAttributes)', async (t) => {
  const { call } = await rawJackson(t)
  const user = await call('POST', 'users', scimUser('jane@acme.example.com'))
  await call('PATCH', 'users', { Operations: [{ op: 'Replace', path: 'active', value: 'False' }] }, user.data.id)
  const read = await call('GET', 'users', undefined, user.data.id)
  t.equal(read.data.active, 'False')
})

t.test('jackson throws on a filter other than eq (workaround: scim/filter.ts)', async (t) => {
  const { call } = await rawJackson(t)
  await t.rejects(call('GET', 'users', undefined, undefined, { filter: 'userName co "jane"' }))
})

t.test('jackson leaves a deleted user in its groups (workaround: store delete removes memberships)', async (t) => {
  const { call } = await rawJackson(t)
  const user = await call('POST', 'users', scimUser('jane@acme.example.com'))
  const group = await call('POST', 'groups', { displayName: 'Sales' })
  await call('PATCH', 'groups', { Operations: [{ op: 'add', path: 'members', value: [{ value: user.data.id }] }] }, group.data.id)
  const deleted = await call('DELETE', 'users', undefined, user.data.id)
  t.equal(deleted.status, 200, 'and a DELETE answers 200, not 204')
  t.ok(await dsyncMember(call, group.data.id, user.data.id), 'the deleted user is still a member')
})

async function dsyncMember (call: Awaited<ReturnType<typeof rawJackson>>['call'], groupId: string, userId: string) {
  // jackson's GET answers members: [] whatever the store holds; its PATCH remove reports whether the member was there.
  const before = await call('PATCH', 'groups', { Operations: [{ op: 'remove', path: 'members', value: [{ value: userId }] }] }, groupId)
  return before.status === 200
}

t.test('the plugin\'s events have exactly the shape jackson\'s own handler sends (engine/mirror.ts uses jackson\'s transform)', async (t) => {
  const { call, events, directory } = await rawJackson(t)
  const body = scimUser('jane.doe@acme.example.com', { externalId: 'x-1' })
  await call('POST', 'users', body)
  const theirs = events[0]

  const app = await buildApp(t, mem, { onScimEvent: (event) => { ours.push(event) } })
  const ours: DirectorySyncEvent[] = []
  const created = (await app.directorySync.directories.create({ tenant: 'acme', product: 'app', type: 'generic-scim-v2' })).data!
  const answer = await app.directorySync.requests.handle({ method: 'POST', body, directoryId: created.id, resourceType: 'users', resourceId: undefined, apiSecret: created.scim.secret, query: {} })
  t.equal(answer.status, 201)
  t.equal(ours.length, 1)
  t.same(Object.keys(ours[0]).sort(), [...Object.keys(theirs), 'id', 'created'].sort(), 'jackson\'s envelope, plus the id and time the plugin adds')
  t.same(Object.keys(ours[0].data).sort(), Object.keys(theirs.data).sort(), 'the same user fields')
  const pick = (d: any) => ({ first_name: d.first_name, last_name: d.last_name, email: d.email, active: d.active })
  t.same(pick(ours[0].data), pick(theirs.data), 'the same values read from the SCIM user')
  t.equal(ours[0].tenant, theirs.tenant)
  t.equal(typeof jacksonEvent, 'function')
  t.equal(directory.tenant, 'acme')
})

t.test('webhook signatures are jackson\'s: the same string for the same time and body (events/webhooks.ts)', async (t) => {
  const webhookModule = await import('@boxyhq/saml-jackson/dist/event/webhook.js')
  const createSignatureString = (webhookModule as any).createSignatureString ?? (webhookModule as any).default?.createSignatureString
  const payload = { event: 'user.created', directory_id: 'd', tenant: 'acme', product: 'app', data: { id: 'u', email: 'jane@acme.example.com' } }
  const theirs: string = createSignatureString('webhook-secret', payload)
  const timestamp = Number(/^t=(\d+),s=[0-9a-f]{64}$/.exec(theirs)?.[1])
  t.ok(timestamp > 0, `jackson's format is t=<ms>,s=<hex>: ${theirs}`)
  t.equal(signature('webhook-secret', JSON.stringify(payload), timestamp), theirs)
})
