// user.updated and group.updated say what changed: `previous` holds the former value of each top-level
// attribute of raw that differs (null where it was absent), and of the standard fields that differ,
// so that a deactivation is told apart from any other update.
import t from 'tap'
import type { ScimEvent } from '../../src/index.js'
import { buildApp, scimUser, sqliteFile } from '../helpers/app.js'
import { groupBody, ok, openDirectory, patchOf } from '../helpers/scim.js'

t.test('previous on user and group updates', async (t) => {
  const events: ScimEvent[] = []
  const app = await buildApp(t, sqliteFile(t), { onScimEvent (event) { events.push(event) } })
  const scim = await openDirectory(app, 'previous')
  const user = await ok(scim, 'POST', '/Users', scimUser('ann.smith@acme.example', { title: 'Engineer', name: { givenName: 'Ann', familyName: 'Smith' } }), 201)
  const last = () => events[events.length - 1] as any

  await ok(scim, 'PATCH', `/Users/${user.id}`, patchOf({ op: 'replace', value: { active: false } }), 200)
  t.equal(last().event, 'user.updated')
  t.same(last().previous, { active: true }, 'a deactivation: only active, true before')
  t.equal(last().data.active, false)

  await ok(scim, 'PATCH', `/Users/${user.id}`, patchOf({ op: 'replace', path: 'title', value: 'Manager' }, { op: 'add', path: 'nickName', value: 'Annie' }), 200)
  t.same(last().previous, { title: 'Engineer', nickName: null }, 'a changed attribute keeps its old value; a new one was null')

  await ok(scim, 'PATCH', `/Users/${user.id}`, patchOf({ op: 'replace', path: 'name.familyName', value: 'Jones' }), 200)
  t.same(last().previous, { name: { givenName: 'Ann', familyName: 'Smith' }, last_name: 'Smith' }, 'a nested change: the whole top-level attribute, and the standard field')

  const count = events.length
  await ok(scim, 'PATCH', `/Users/${user.id}`, patchOf({ op: 'replace', path: 'title', value: 'Manager' }), 200)
  t.equal(events.length, count, 'no change, no event')

  const group = await ok(scim, 'POST', '/Groups', groupBody('Engineering'), 201)
  await ok(scim, 'PATCH', `/Groups/${group.id}`, patchOf({ op: 'replace', path: 'displayName', value: 'Platform' }), 200)
  t.equal(last().event, 'group.updated')
  t.same(last().previous, { displayName: 'Engineering', name: 'Engineering' }, 'a renamed group: its former name')
  await ok(scim, 'PATCH', `/Groups/${group.id}`, patchOf({ op: 'add', path: 'members', value: [{ value: user.id }] }), 200)
  t.equal(last().event, 'group.user_added', 'a membership change alone is not a group update')
  t.notOk('previous' in last(), 'and carries no previous')
})
