// A PATCH that only adds and removes members by id is stored as the members it names, without reading
// the group's member list (scim/member-patch.ts): which PATCHes qualify, and that such a PATCH answers and
// records exactly what the general path would (an existing member added, or a non-member removed, is no
// change and no event; an unknown user is 400 and changes nothing). The request shapes are the providers'
// (as ../shared/notes/idp-traffic.md describes them): Okta's add and `members[value eq "…"]` remove, Entra's Add/Remove
// with a value list.
import t, { type Test } from 'tap'
import type { ScimEvent, DbOptions } from '../../src/index.js'
import { memberDelta } from '../../src/scim/member-patch.js'
import { buildApp, scimUser, sqliteFile } from '../helpers/app.js'
import { groupBody, isScimError, ok, openDirectory, patchOf, type Json } from '../helpers/scim.js'
import { withService } from '../helpers/services.js'
import { statementsOf } from '../helpers/pg-statements.js'

t.test('memberDelta: the PATCHes that only add and remove members by id', async (t) => {
  const add = (...ids: string[]) => ({ op: 'add', path: 'members', value: ids.map((value) => ({ value, display: `D ${value}` })) })
  t.same(memberDelta([add('u1', 'u2')]), { add: [{ value: 'u1', display: 'D u1' }, { value: 'u2', display: 'D u2' }], remove: [] }, 'Okta\'s add')
  t.same(memberDelta([{ op: 'remove', path: 'members[value eq "u3"]' }]), { add: [], remove: ['u3'] }, 'Okta\'s remove by filter')
  t.same(memberDelta([{ op: 'Add', path: 'members', value: [{ value: 'u1', $ref: null }] }, { op: 'Remove', path: 'members', value: [{ value: 'u2' }] }]),
    { add: [{ value: 'u1' }], remove: ['u2'] }, 'Entra\'s Add and Remove, capitalised, with $ref null')
  t.same(memberDelta([{ op: 'add', path: 'members', value: [{ value: 'u1', displayName: 'One' }] }]), { add: [{ value: 'u1', display: 'One' }], remove: [] },
    'Microsoft\'s displayName as display')
  const general: Array<[string, unknown[]]> = [
    ['a replace of the member list', [{ op: 'replace', path: 'members', value: [{ value: 'u1' }] }]],
    ['a remove of every member', [{ op: 'remove', path: 'members' }]],
    ['a rename beside a member change', [add('u1'), { op: 'replace', path: 'displayName', value: 'New' }]],
    ['a path-less add', [{ op: 'add', value: { members: [{ value: 'u1' }] } }]],
    ['a filter other than value eq', [{ op: 'remove', path: 'members[display eq "Ann"]' }]],
    ['a sub-attribute path', [{ op: 'replace', path: 'members[value eq "u1"].display', value: 'x' }]],
    ['the same user twice', [add('u1'), { op: 'remove', path: 'members[value eq "u1"]' }]],
    ['a member without a value', [{ op: 'add', path: 'members', value: [{ display: 'x' }] }]],
    ['a display that is not a string', [{ op: 'add', path: 'members', value: [{ value: 'u1', display: 7 }] }]],
    ['a single member object instead of a list', [{ op: 'add', path: 'members', value: { value: 'u1' } }]],
    ['a URN-qualified path', [{ op: 'add', path: 'urn:ietf:params:scim:schemas:core:2.0:Group:members', value: [{ value: 'u1' }] }]],
    ['a remove by filter with a value', [{ op: 'remove', path: 'members[value eq "u1"]', value: [{ value: 'u1' }] }]],
    ['a malformed filter', [{ op: 'remove', path: 'members[value eq "u1"' }]]
  ]
  for (const [what, operations] of general) t.equal(memberDelta(operations), undefined, `the general path: ${what}`)
})

async function suite (t: Test, db: DbOptions, postgres: boolean) {
  const events: ScimEvent[] = []
  const app = await buildApp(t, db, { onScimEvent (event) { events.push(event) } })
  // Entra's directories answer a PATCH with 204: the answer reads no member list either.
  const scim = await openDirectory(app, 'members', { type: 'azure-scim-v2' })
  const users: Json[] = []
  for (const name of ['ann', 'ben', 'cat']) users.push(await ok(scim, 'POST', '/Users', scimUser(`${name}@acme.example.com`), 201))
  const [ann, ben, cat] = users
  const group = await ok(scim, 'POST', '/Groups', groupBody('Team', [{ value: ann.id }]), 201)
  const members = async () => ((await ok(scim, 'GET', `/Groups/${group.id}`, undefined, 200)).members ?? []).map((m: Json) => m.value).sort()
  const settle = async () => { await new Promise((resolve) => setTimeout(resolve, 150)) }
  await settle()
  const eventsOf = async (fn: () => Promise<void>) => {
    const from = events.length
    await fn()
    await settle()
    return events.slice(from).map((e) => `${e.event} ${(e.data as { id?: string }).id === ann.id ? 'ann' : (e.data as { id?: string }).id === ben.id ? 'ben' : 'cat'}`)
  }
  const patch = async (...operations: unknown[]) => {
    const res = await scim.send('PATCH', `/Groups/${group.id}`, patchOf(...operations))
    t.equal(res.statusCode, 204, 'answered 204')
  }

  t.same(await eventsOf(() => patch({ op: 'add', path: 'members', value: [{ value: ann.id }, { value: ben.id }] })), ['group.user_added ben'],
    'adding a member and an existing one: one event, for the new member')
  t.same(await members(), [ann.id, ben.id].sort())
  t.same(await eventsOf(() => patch({ op: 'remove', path: `members[value eq "${cat.id}"]` })), [], 'removing a non-member: no event')
  t.same(await eventsOf(() => patch({ op: 'Remove', path: 'members', value: [{ value: ann.id }] }, { op: 'Add', path: 'members', value: [{ value: cat.id }] })),
    ['group.user_added cat', 'group.user_removed ann'], 'Entra\'s remove and add in one PATCH: both events')
  t.same(await members(), [ben.id, cat.id].sort())
  const unknown = await scim.send('PATCH', `/Groups/${group.id}`, patchOf({ op: 'add', path: 'members', value: [{ value: ann.id }, { value: '00000000-0000-4000-8000-000000000000' }] }))
  isScimError(t, unknown, 400, 'invalidValue', 'an unknown user among those added')
  t.same(await members(), [ben.id, cat.id].sort(), 'and nothing changed, not even the known user added')
  const missing = await scim.send('PATCH', '/Groups/00000000-0000-4000-8000-000000000000', patchOf({ op: 'add', path: 'members', value: [{ value: ann.id }] }))
  isScimError(t, missing, 404, undefined, 'a group that does not exist')
  if (postgres) {
    const sent = await statementsOf(() => patch({ op: 'add', path: 'members', value: [{ value: ann.id }] }))
    t.notOk(sent.some((sql) => sql.startsWith('SELECT user_id, display FROM dsync_scim_members')), 'the group\'s member list is not read')
    t.same(await members(), [ann.id, ben.id, cat.id].sort())
  }
}

t.test('sqlite', (t) => suite(t, sqliteFile(t), false))
t.test('postgres', (t) => withService(t, 'postgres', 'scim_member_patch', (t, db) => suite(t, db, true)))
