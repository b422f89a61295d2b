// SCIM /Groups over HTTP (Fastify inject): create with members, the identity providers' PATCH
// dialects for membership and renames, PUT, projections and delete, on a sqlite file and on PostgreSQL.
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import type { DbOptions } from '../../src/index.js'
import { buildApp, externalUrl, scimUser, sqliteFile } from '../helpers/app.js'
import { groupBody, isScimError, ok, openDirectory, patchOf, type Json, type ScimClient as Scim } from '../helpers/scim.js'
import { withService } from '../helpers/services.js'

async function createUsers (scim: Scim, ...names: string[]): Promise<Json[]> {
  const users: Json[] = []
  for (const name of names) users.push(await ok(scim, 'POST', '/Users', scimUser(`${name}@acme.example.com`), 201))
  return users
}

async function createGroup (t: Test, scim: Scim, displayName: string, members?: Json[]): Promise<Json> {
  const res = await scim.send('POST', '/Groups', groupBody(displayName, members))
  t.equal(res.statusCode, 201, `created group ${displayName}`)
  return res.json()
}

const getGroup = (scim: Scim, id: string, query = ''): Promise<Json> => ok(scim, 'GET', `/Groups/${id}${query}`, undefined, 200)

/** The member ids the group has, over SCIM and in jackson's store, which must agree. */
async function memberIds (app: FastifyInstance, scim: Scim, groupId: string): Promise<string[]> {
  const group = await getGroup(scim, groupId)
  const ids = (group.members ?? []).map((m: Json) => m.value).sort()
  const mirrored = await app.directorySync.groups.members(scim.directory.id, groupId)
  if (mirrored.error) throw new Error(mirrored.error.message)
  const jackson = mirrored.data.map((m) => m.user_id).sort()
  if (JSON.stringify(ids) !== JSON.stringify(jackson)) throw new Error(`SCIM lists ${ids}, jackson's store ${jackson}`)
  return ids
}

const sorted = (...ids: string[]) => [...ids].sort()

async function countGroups (scim: Scim, displayName: string): Promise<number> {
  return (await ok(scim, 'GET', `/Groups?filter=${encodeURIComponent(`displayName eq "${displayName}"`)}`, undefined, 200)).totalResults
}

async function suite (t: Test, db: DbOptions) {
  const app = await buildApp(t, db)

  t.test('POST with members: 201, Location, and GET lists the members with value, display, $ref and type', async (t) => {
    const scim = await openDirectory(app, 'groups')
    const [ann, ben] = await createUsers(scim, 'ann', 'ben')
    const res = await scim.send('POST', '/Groups', groupBody('Engineering', [{ value: ann.id, display: 'Ann' }, { value: ben.id, display: 'Ben' }]))
    t.equal(res.statusCode, 201)
    t.match(res.headers['content-type'], /^application\/scim\+json/)
    const created = res.json()
    const location = `${externalUrl}/api/scim/v2.0/${scim.directory.id}/Groups/${created.id}`
    t.equal(created.meta.location, location)
    t.equal(res.headers.location, location)
    t.equal(created.meta.resourceType, 'Group')
    t.equal(created.displayName, 'Engineering')

    const group = await getGroup(scim, created.id)
    const userRef = (id: string) => `${externalUrl}/api/scim/v2.0/${scim.directory.id}/Users/${id}`
    const byValue = (list: Json[]) => [...list].sort((a, b) => a.value < b.value ? -1 : 1)
    t.same(byValue(group.members), byValue([
      { value: ann.id, display: 'Ann', $ref: userRef(ann.id), type: 'User' },
      { value: ben.id, display: 'Ben', $ref: userRef(ben.id), type: 'User' }
    ]), 'members with value, display, $ref and type, as /Schemas declares them (RFC 7643 §4.2)')
    t.same(byValue(created.members), byValue(group.members), 'the POST answer lists them too')
    t.same(await memberIds(app, scim, created.id), sorted(ann.id, ben.id))
    const mirrored = await app.directorySync.groups.get(scim.directory.id, created.id)
    t.equal(mirrored.data?.name, 'Engineering', 'jackson\'s store has the group')
  })

  t.test('a member that is not a user of this directory: 400 invalidValue, and no group is created', async (t) => {
    const scim = await openDirectory(app, 'groups')
    const other = await openDirectory(app, 'groups')
    const [mine] = await createUsers(scim, 'mine')
    const [theirs] = await createUsers(other, 'theirs')
    const unknown = await scim.send('POST', '/Groups', groupBody('Ghosts', [{ value: mine.id }, { value: '00000000-0000-4000-8000-000000000000' }]))
    isScimError(t, unknown, 400, 'invalidValue', 'an unknown user id')
    t.equal(await countGroups(scim, 'Ghosts'), 0, 'no group created')
    const foreign = await scim.send('POST', '/Groups', groupBody('Foreigners', [{ value: theirs.id }]))
    isScimError(t, foreign, 400, 'invalidValue', 'a user of another directory')
    t.equal(await countGroups(scim, 'Foreigners'), 0, 'no group created')
    const list = await app.directorySync.groups.list(scim.directory.id)
    t.same(list.data, [], 'nothing in jackson\'s store either')
    t.equal((await scim.send('POST', '/Groups', groupBody('Ghosts', [{ value: mine.id }]))).statusCode, 201, 'the name is still free')
  })

  t.test('a displayName differing only in case is taken: 409 uniqueness', async (t) => {
    const scim = await openDirectory(app, 'groups')
    await createGroup(t, scim, 'Sales')
    const dup = await scim.send('POST', '/Groups', groupBody('SALES'))
    isScimError(t, dup, 409, 'uniqueness')
    t.equal(dup.json().status, '409')
    t.equal(await countGroups(scim, 'sales'), 1)
    const other = await openDirectory(app, 'groups')
    t.equal((await other.send('POST', '/Groups', groupBody('Sales'))).statusCode, 201, 'another directory may use the name')
  })

  t.test('PATCH membership in the providers\' dialects: GET shows exactly the expected members after each', async (t) => {
    const scim = await openDirectory(app, 'groups')
    const [a, b, c, d, e] = await createUsers(scim, 'a', 'b', 'c', 'd', 'e')
    const group = await createGroup(t, scim, 'Patchers')
    const patch = async (what: string, ...ops: unknown[]) => {
      const res = await scim.send('PATCH', `/Groups/${group.id}`, patchOf(...ops))
      t.equal(res.statusCode, 200, what)
      return res
    }

    await patch('Okta add', { op: 'add', path: 'members', value: [{ value: a.id, display: 'a' }, { value: b.id }] })
    t.same(await memberIds(app, scim, group.id), sorted(a.id, b.id), 'add an array of {value}')

    await patch('Entra Add', { op: 'Add', path: 'members', value: [{ $ref: null, value: c.id }] })
    t.same(await memberIds(app, scim, group.id), sorted(a.id, b.id, c.id), 'Entra\'s {"$ref": null, value} with a capitalised op')

    await patch('remove by filter', { op: 'remove', path: `members[value eq "${a.id}"]` })
    t.same(await memberIds(app, scim, group.id), sorted(b.id, c.id), 'remove members[value eq "id"]')

    await patch('Entra Remove with a value list', { op: 'Remove', path: 'members', value: [{ value: b.id }] })
    t.same(await memberIds(app, scim, group.id), [c.id], 'remove with a value array')

    await patch('replace the list', { op: 'replace', path: 'members', value: [{ value: d.id }, { value: e.id }] })
    t.same(await memberIds(app, scim, group.id), sorted(d.id, e.id), 'replace with a full list')

    const before = await getGroup(scim, group.id)
    const res = await patch('add an existing member', { op: 'add', path: 'members', value: [{ value: d.id }] })
    t.same(await memberIds(app, scim, group.id), sorted(d.id, e.id), 'adding an existing member changes nothing')
    t.equal(res.json().members.length, 2)
    t.same(await getGroup(scim, group.id), before, 'the group is exactly as before')

    const bad = await scim.send('PATCH', `/Groups/${group.id}`, patchOf({ op: 'add', path: 'members', value: [{ value: '00000000-0000-4000-8000-000000000000' }] }))
    isScimError(t, bad, 400, 'invalidValue', 'adding an unknown user')
    t.same(await memberIds(app, scim, group.id), sorted(d.id, e.id), 'and the members are unchanged')
  })

  t.test('PATCH renames: Entra\'s "Replace" of path displayName, and a path-less replace', async (t) => {
    const scim = await openDirectory(app, 'groups')
    const [member] = await createUsers(scim, 'member')
    const group = await createGroup(t, scim, 'Old Name', [{ value: member.id }])
    const byPath = await scim.send('PATCH', `/Groups/${group.id}`, patchOf({ op: 'Replace', path: 'displayName', value: 'Middle Name' }))
    t.equal(byPath.statusCode, 200)
    t.equal((await getGroup(scim, group.id)).displayName, 'Middle Name')
    t.same(await memberIds(app, scim, group.id), [member.id], 'members kept')
    t.equal((await app.directorySync.groups.get(scim.directory.id, group.id)).data?.name, 'Middle Name', 'jackson\'s store renamed too')
    const pathless = await scim.send('PATCH', `/Groups/${group.id}`, patchOf({ op: 'replace', value: { displayName: 'New Name' } }))
    t.equal(pathless.statusCode, 200)
    t.equal(pathless.json().displayName, 'New Name')
    t.equal((await getGroup(scim, group.id)).displayName, 'New Name')
    t.same(await memberIds(app, scim, group.id), [member.id], 'members kept')
  })

  t.test('PATCH rename path-less with the group\'s own id in the value: {"op":"replace","value":{"id","displayName"}}', async (t) => {
    const scim = await openDirectory(app, 'groups')
    const [member] = await createUsers(scim, 'member')
    const group = await createGroup(t, scim, 'Old Name', [{ value: member.id }])
    const res = await scim.send('PATCH', `/Groups/${group.id}`, patchOf({ op: 'replace', value: { id: group.id, displayName: 'New Name' } }))
    t.equal(res.statusCode, 200, res.body)
    const after = await getGroup(scim, group.id)
    t.equal(after.displayName, 'New Name')
    t.equal(after.id, group.id)
    t.same(await memberIds(app, scim, group.id), [member.id], 'members kept')
    const other = await scim.send('PATCH', `/Groups/${group.id}`, patchOf({ op: 'replace', value: { id: 'another-id', displayName: 'Newer Name' } }))
    isScimError(t, other, 400, 'mutability', 'a different id is refused')
    t.equal((await getGroup(scim, group.id)).displayName, 'New Name', 'and nothing changed')
  })

  t.test('PUT with members replaces the member list; PUT without members empties it', async (t) => {
    const scim = await openDirectory(app, 'groups')
    const [a, b, c] = await createUsers(scim, 'a', 'b', 'c')
    const group = await createGroup(t, scim, 'Putters', [{ value: a.id }, { value: b.id }])
    const res = await scim.send('PUT', `/Groups/${group.id}`, groupBody('Putters', [{ value: b.id }, { value: c.id }]))
    t.equal(res.statusCode, 200)
    t.same(res.json().members.map((m: Json) => m.value).sort(), sorted(b.id, c.id), 'the PUT answer lists the new members')
    t.same(await memberIds(app, scim, group.id), sorted(b.id, c.id), 'a removed, c added, b kept')

    const renamed = await scim.send('PUT', `/Groups/${group.id}`, groupBody('Putters Renamed'))
    t.equal(renamed.statusCode, 200)
    t.same(await memberIds(app, scim, group.id), [], 'a PUT without members empties the group')
    t.equal((await getGroup(scim, group.id)).displayName, 'Putters Renamed')

    const bad = await scim.send('PUT', `/Groups/${group.id}`, groupBody('Putters Renamed', [{ value: 'nobody' }]))
    isScimError(t, bad, 400, 'invalidValue', 'a PUT with an unknown member')
    isScimError(t, await scim.send('PUT', '/Groups/00000000-0000-4000-8000-000000000000', groupBody('X')), 404, undefined, 'PUT of an unknown group')
  })

  t.test('projections: excludedAttributes=members and attributes=displayName, on GET and on the list', async (t) => {
    const scim = await openDirectory(app, 'groups')
    const [a] = await createUsers(scim, 'a')
    const group = await createGroup(t, scim, 'Projected', [{ value: a.id }])
    t.ok(Array.isArray(group.members), 'members are there by default')

    const without = await getGroup(scim, group.id, '?excludedAttributes=members')
    t.notOk('members' in without, 'GET leaves members out')
    t.equal(without.displayName, 'Projected')
    t.equal(without.id, group.id)
    const list = await scim.send('GET', '/Groups?excludedAttributes=members')
    t.equal(list.statusCode, 200)
    t.equal(list.json().Resources.length, 1)
    t.notOk('members' in list.json().Resources[0], 'the list leaves members out')
    t.equal(list.json().Resources[0].displayName, 'Projected')

    const only = await getGroup(scim, group.id, '?attributes=displayName')
    t.same(Object.keys(only).sort(), ['displayName', 'id', 'schemas'], 'only id, schemas and displayName')
    t.equal(only.displayName, 'Projected')
    const listed = await scim.send('GET', '/Groups?attributes=displayName')
    t.same(Object.keys(listed.json().Resources[0]).sort(), ['displayName', 'id', 'schemas'])
  })

  t.test('DELETE a group: 204, then 404; its users still exist', async (t) => {
    const scim = await openDirectory(app, 'groups')
    const [a, b] = await createUsers(scim, 'a', 'b')
    const group = await createGroup(t, scim, 'Doomed', [{ value: a.id }, { value: b.id }])
    const res = await scim.send('DELETE', `/Groups/${group.id}`)
    t.equal(res.statusCode, 204)
    t.equal(res.body, '')
    isScimError(t, await scim.send('GET', `/Groups/${group.id}`), 404, undefined, 'GET after DELETE')
    isScimError(t, await scim.send('DELETE', `/Groups/${group.id}`), 404, undefined, 'DELETE again')
    for (const user of [a, b]) {
      const read = await scim.send('GET', `/Users/${user.id}`)
      t.equal(read.statusCode, 200, 'the member still exists')
      t.equal(read.json().userName, user.userName)
    }
    t.equal((await app.directorySync.groups.get(scim.directory.id, group.id)).error?.code, 404, 'gone from jackson\'s store')
    t.equal(await countGroups(scim, 'Doomed'), 0)
    t.equal((await scim.send('POST', '/Groups', groupBody('Doomed'))).statusCode, 201, 'the name is free again')
  })
}

t.test('sqlite', (t) => suite(t, sqliteFile(t)))
t.test('postgres', (t) => withService(t, 'postgres', 'scim_groups', suite))
