// SCIM /Users over HTTP (Fastify inject) and through requests.handle: create, read, replace, patch and
// delete, with the identity providers' dialects, on a sqlite file and on PostgreSQL.
import t, { type Test } from 'tap'
import type { DbOptions } from '../../src/index.js'
import { buildApp, externalUrl, scimUser, sqliteFile } from '../helpers/app.js'
import { CORE_USER, ENTERPRISE, PATCH_OP, isScimError, ok, openDirectory, patchOf, scimClient, sleep, type Json, type ScimClient as Scim } from '../helpers/scim.js'
import { withService } from '../helpers/services.js'

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/

async function createUser (t: Test, scim: Scim, userName: string, extra: Json = {}): Promise<Json> {
  const res = await scim.send('POST', '/Users', scimUser(userName, extra))
  t.equal(res.statusCode, 201, `created ${userName}`)
  return res.json()
}

const getUser = (scim: Scim, id: string): Promise<Json> => ok(scim, 'GET', `/Users/${id}`, undefined, 200)

async function countUsers (scim: Scim, userName?: string): Promise<number> {
  const query = userName === undefined ? '' : `?filter=${encodeURIComponent(`userName eq "${userName}"`)}`
  return (await ok(scim, 'GET', `/Users${query}`, undefined, 200)).totalResults
}

async function suite (t: Test, db: DbOptions) {
  const app = await buildApp(t, db)

  t.test('POST creates a user: 201, Location is meta.location, meta set, password neither answered nor stored', async (t) => {
    const scim = await openDirectory(app, 'users')
    const res = await scim.send('POST', '/Users', scimUser('jane.doe@acme.example.com', { password: 'Sup3r-Secret!' }))
    t.equal(res.statusCode, 201)
    t.match(res.headers['content-type'], /^application\/scim\+json/)
    const user = res.json()
    t.type(user.id, 'string')
    t.ok(user.id.length > 0, 'an id is assigned')
    const location = `${externalUrl}/api/scim/v2.0/${scim.directory.id}/Users/${user.id}`
    t.equal(user.meta.location, location, 'meta.location is the resource URL')
    t.equal(res.headers.location, location, 'Location equals meta.location')
    t.equal(user.meta.resourceType, 'User')
    t.match(user.meta.created, ISO, 'created is an ISO timestamp')
    t.match(user.meta.lastModified, ISO, 'lastModified is an ISO timestamp')
    t.equal(user.userName, 'jane.doe@acme.example.com')
    t.ok(user.schemas.includes(CORE_USER))
    t.notOk('password' in user, 'the POST answer has no password')
    t.notOk(res.body.includes('Sup3r-Secret!'), 'the password appears nowhere in the answer')

    const read = await scim.send('GET', `/Users/${user.id}`)
    t.equal(read.statusCode, 200)
    t.match(read.headers['content-type'], /^application\/scim\+json/)
    t.equal(read.json().userName, 'jane.doe@acme.example.com')
    t.same(read.json().meta, user.meta, 'GET answers the same meta')
    t.notOk('password' in read.json(), 'GET has no password')
    t.notOk(read.body.includes('Sup3r-Secret!'))

    const stored = await app.directorySync.users.get(scim.directory.id, user.id)
    t.equal(stored.error, null)
    t.equal(stored.data?.id, user.id)
    t.equal(stored.data?.raw.userName, 'jane.doe@acme.example.com')
    t.notOk('password' in stored.data!.raw, 'the stored raw user has no password')
    t.notOk(JSON.stringify(stored.data).includes('Sup3r-Secret!'), 'the password is stored nowhere in the record')
  })

  t.test('POST without userName, or with a body that is not an object, answers 400 and creates nothing', async (t) => {
    const scim = await openDirectory(app, 'users')
    const { userName, ...noUserName } = scimUser('nobody@acme.example.com')
    t.equal(userName, 'nobody@acme.example.com')
    isScimError(t, await scim.send('POST', '/Users', noUserName), 400, 'invalidValue', 'no userName')
    isScimError(t, await scim.send('POST', '/Users', { ...noUserName, userName: '' }), 400, 'invalidValue', 'an empty userName')
    isScimError(t, await scim.sendRaw('POST', '/Users', '[]'), 400, undefined, 'an array body')
    isScimError(t, await scim.sendRaw('POST', '/Users', '"jane@acme.example.com"'), 400, undefined, 'a JSON string body')
    isScimError(t, await scim.sendRaw('POST', '/Users', '42'), 400, undefined, 'a JSON number body')
    t.equal(await countUsers(scim), 0, 'nothing was created')
  })

  t.test('a userName differing only in case is taken: 409 uniqueness; another directory may use it', async (t) => {
    const scim = await openDirectory(app, 'users')
    await createUser(t, scim, 'Jane.Doe@Acme.example.com')
    const dup = await scim.send('POST', '/Users', scimUser('jane.doe@acme.EXAMPLE.com'))
    isScimError(t, dup, 409, 'uniqueness')
    t.equal(dup.json().status, '409')
    t.equal(await countUsers(scim), 1, 'still one user')

    const other = await openDirectory(app, 'users')
    const res = await other.send('POST', '/Users', scimUser('jane.doe@acme.example.com'))
    t.equal(res.statusCode, 201, 'the same userName in another directory is fine')
    t.equal(await countUsers(other), 1)
    t.equal(await countUsers(scim), 1, 'the first directory is untouched')
  })

  t.test('20 concurrent POSTs of one userName: exactly one 201, the rest 409', async (t) => {
    const scim = await openDirectory(app, 'users')
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      scim.send('POST', '/Users', scimUser(i % 2 === 0 ? 'race@acme.example.com' : 'RACE@acme.example.com'))))
    const codes = answers.map((r) => r.statusCode)
    t.equal(codes.filter((c) => c === 201).length, 1, 'one created')
    t.equal(codes.filter((c) => c === 409).length, 19, 'the others are conflicts')
    for (const res of answers.filter((r) => r.statusCode === 409)) t.equal(res.json().scimType, 'uniqueness')
    t.equal(await countUsers(scim), 1, 'one user stored')
    const listed = await app.directorySync.users.list(scim.directory.id)
    t.equal(listed.data?.length, 1, 'one user in jackson\'s store too')
  })

  t.test('two registrations on the same database (two "processes") racing on one userName: exactly one 201', async (t) => {
    const other = await buildApp(t, db)
    const scim = await openDirectory(app, 'users')
    const { data: seen } = await other.directorySync.directories.get(scim.directory.id)
    t.equal(seen?.id, scim.directory.id, 'the second registration sees the directory')
    const scimB = scimClient(other, seen!)
    const answers = await Promise.all(Array.from({ length: 16 }, (_, i) =>
      (i % 2 === 0 ? scim : scimB).send('POST', '/Users', scimUser(i % 4 < 2 ? 'twin@acme.example.com' : 'Twin@Acme.example.com'))))
    const codes = answers.map((r) => r.statusCode)
    t.equal(codes.filter((c) => c === 201).length, 1, 'one created across both registrations')
    t.equal(codes.filter((c) => c === 409).length, 15, 'the others are conflicts')
    t.equal(await countUsers(scim), 1)
    t.equal(await countUsers(scimB), 1)
  })

  t.test('provider dialects: OneLogin\'s single emails object, Entra\'s "True", nulls dropped, extensions kept', async (t) => {
    const scim = await openDirectory(app, 'users')
    const body = {
      schemas: [CORE_USER, ENTERPRISE],
      userName: 'dialect@acme.example.com',
      name: { givenName: 'Dia', familyName: 'Lect', honorificPrefix: null },
      nickName: null,
      emails: { value: 'dialect@acme.example.com', type: 'work', primary: true },
      active: 'True',
      [ENTERPRISE]: { employeeNumber: '701984', department: 'Tour', manager: { value: 'mgr-26', displayName: 'Boss' } },
      'urn:example:params:scim:schemas:extension:custom:1.0:User': { badge: 'B-7', floors: [3, 4] },
      favouriteColour: 'teal'
    }
    const res = await scim.send('POST', '/Users', body)
    t.equal(res.statusCode, 201)
    const user = await getUser(scim, res.json().id)
    t.same(user.emails, [{ value: 'dialect@acme.example.com', type: 'work', primary: true }], 'emails stored as an array')
    t.ok(Array.isArray(user.emails))
    t.equal(user.active, true, 'active "True" is stored as the boolean true')
    t.same(user.name, { givenName: 'Dia', familyName: 'Lect' }, 'a null sub-attribute is dropped')
    t.notOk('honorificPrefix' in user.name)
    t.notOk('nickName' in user, 'a null attribute is dropped')
    t.same(user[ENTERPRISE], { employeeNumber: '701984', department: 'Tour', manager: { value: 'mgr-26', displayName: 'Boss' } })
    t.same(user['urn:example:params:scim:schemas:extension:custom:1.0:User'], { badge: 'B-7', floors: [3, 4] }, 'a custom extension is kept')
    t.equal(user.favouriteColour, 'teal', 'a custom attribute is kept')
    t.ok(user.schemas.includes(ENTERPRISE))

    const stored = await app.directorySync.users.get(scim.directory.id, user.id)
    t.equal(stored.data?.active, true, 'jackson\'s record is active')
    t.equal(stored.data?.raw.active, true, 'the stored raw active is the boolean true')
    t.ok(Array.isArray(stored.data?.raw.emails), 'the stored raw emails are an array')
    t.equal(stored.data?.email, 'dialect@acme.example.com')
    t.notOk('nickName' in stored.data!.raw)
  })

  t.test('GET: unknown id, a group id under /Users, and another directory\'s user all answer 404 in SCIM format', async (t) => {
    const a = await openDirectory(app, 'users')
    const b = await openDirectory(app, 'users')
    const user = await createUser(t, a, 'only.a@acme.example.com')
    isScimError(t, await a.send('GET', '/Users/00000000-0000-4000-8000-000000000000'), 404, undefined, 'unknown id')
    isScimError(t, await a.send('GET', '/Users/not-even-a-uuid'), 404, undefined, 'an id of any shape')
    const group = await a.send('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Readers' })
    t.equal(group.statusCode, 201)
    isScimError(t, await a.send('GET', `/Users/${group.json().id}`), 404, undefined, 'a group id under /Users')
    isScimError(t, await b.send('GET', `/Users/${user.id}`), 404, undefined, 'directory A\'s user through directory B')
    isScimError(t, await b.send('PUT', `/Users/${user.id}`, scimUser('stolen@acme.example.com')), 404, undefined, 'PUT through B')
    isScimError(t, await b.send('DELETE', `/Users/${user.id}`), 404, undefined, 'DELETE through B')
    t.equal((await getUser(a, user.id)).userName, 'only.a@acme.example.com', 'A\'s user is untouched')
  })

  t.test('PUT replaces the whole user; created stays, lastModified moves only on a real change', async (t) => {
    const scim = await openDirectory(app, 'users')
    const created = await createUser(t, scim, 'put.me@acme.example.com', {
      title: 'Engineer', nickName: 'Putty', [ENTERPRISE]: { employeeNumber: '1' }, schemas: [CORE_USER, ENTERPRISE]
    })
    await sleep(15)
    const replacement = { schemas: [CORE_USER], userName: 'put.me@acme.example.com', name: { givenName: 'Put' }, active: false }
    const res = await scim.send('PUT', `/Users/${created.id}`, replacement)
    t.equal(res.statusCode, 200)
    t.match(res.headers['content-type'], /^application\/scim\+json/)
    const after = await getUser(scim, created.id)
    for (const gone of ['title', 'nickName', 'emails', ENTERPRISE]) t.notOk(gone in after, `${gone} is gone after the PUT`)
    t.same(after.name, { givenName: 'Put' }, 'name is replaced, not merged')
    t.equal(after.active, false)
    t.same(res.json(), after, 'PUT answers the stored resource')
    t.equal(after.meta.created, created.meta.created, 'meta.created is unchanged')
    t.ok(after.meta.lastModified > created.meta.lastModified, 'lastModified moved forward')

    await sleep(15)
    const again = await scim.send('PUT', `/Users/${created.id}`, replacement)
    t.equal(again.statusCode, 200)
    const unchanged = await getUser(scim, created.id)
    t.equal(unchanged.meta.lastModified, after.meta.lastModified, 'a no-op PUT leaves lastModified alone')
    t.same(unchanged, after)
  })

  t.test('PUT renaming to another user\'s userName (other case) answers 409 and changes nothing; unknown id 404', async (t) => {
    const scim = await openDirectory(app, 'users')
    const first = await createUser(t, scim, 'first@acme.example.com')
    const second = await createUser(t, scim, 'second@acme.example.com', { title: 'Second' })
    const res = await scim.send('PUT', `/Users/${second.id}`, scimUser('FIRST@acme.example.com', { title: 'Renamed' }))
    isScimError(t, res, 409, 'uniqueness')
    const stillSecond = await getUser(scim, second.id)
    t.equal(stillSecond.userName, 'second@acme.example.com', 'the renamed user keeps its userName')
    t.equal(stillSecond.title, 'Second', 'and the rest of its attributes')
    t.same(stillSecond.meta, second.meta)
    t.same(await getUser(scim, first.id), first, 'the other user is untouched')
    isScimError(t, await scim.send('PUT', '/Users/00000000-0000-4000-8000-000000000000', scimUser('ghost@acme.example.com')), 404, undefined, 'PUT of an unknown id')
    t.equal(await countUsers(scim), 2, 'the PUT of an unknown id created nothing')
  })

  t.test('PATCH: Okta\'s path-less replace and Entra\'s "Replace" with "False" deactivate as a boolean', async (t) => {
    const scim = await openDirectory(app, 'users')
    const okta = await createUser(t, scim, 'okta@acme.example.com')
    const res = await scim.send('PATCH', `/Users/${okta.id}`, patchOf({ op: 'replace', value: { active: false } }))
    t.equal(res.statusCode, 200)
    t.equal(res.json().active, false)
    t.equal((await getUser(scim, okta.id)).active, false, 'stored inactive')

    const entra = await createUser(t, scim, 'entra@acme.example.com')
    const patched = await scim.send('PATCH', `/Users/${entra.id}`, patchOf({ op: 'Replace', path: 'active', value: 'False' }))
    t.equal(patched.statusCode, 200)
    const user = await getUser(scim, entra.id)
    t.equal(user.active, false, 'active is the boolean false')
    t.equal(typeof user.active, 'boolean')
    const stored = await app.directorySync.users.get(scim.directory.id, entra.id)
    t.equal(stored.data?.active, false, 'jackson\'s record is inactive')
  })

  t.test('PATCH: a path-less replace that echoes the user\'s own id is accepted', async (t) => {
    const scim = await openDirectory(app, 'users')
    const user = await createUser(t, scim, 'echo.id@acme.example.com')
    const res = await scim.send('PATCH', `/Users/${user.id}`, patchOf({ op: 'replace', value: { id: user.id, active: false } }))
    t.equal(res.statusCode, 200, res.body)
    const after = await getUser(scim, user.id)
    t.equal(after.active, false)
    t.equal(after.id, user.id)
    const other = await scim.send('PATCH', `/Users/${user.id}`, patchOf({ op: 'replace', value: { id: 'another-id', title: 'X' } }))
    isScimError(t, other, 400, 'mutability', 'a different id is refused')
    t.same(await getUser(scim, user.id), after, 'and nothing changed')
  })

  t.test('PATCH: a value filter on a missing element creates it; extension URN path; dotted path-less keys', async (t) => {
    const scim = await openDirectory(app, 'users')
    const user = await createUser(t, scim, 'paths@acme.example.com', { emails: [{ value: 'paths@home.example.org', type: 'home', primary: true }] })
    const work = await scim.send('PATCH', `/Users/${user.id}`, patchOf({ op: 'replace', path: 'emails[type eq "work"].value', value: 'new@x' }))
    t.equal(work.statusCode, 200)
    let read = await getUser(scim, user.id)
    t.equal(read.emails.length, 2, 'a work email was added beside the home one')
    t.same(read.emails.find((e: Json) => e.type === 'work'), { type: 'work', value: 'new@x' })
    t.same(read.emails.find((e: Json) => e.type === 'home'), { value: 'paths@home.example.org', type: 'home', primary: true })

    const ext = await scim.send('PATCH', `/Users/${user.id}`, patchOf({ op: 'add', path: `${ENTERPRISE}:employeeNumber`, value: '4242' }))
    t.equal(ext.statusCode, 200)
    read = await getUser(scim, user.id)
    t.same(read[ENTERPRISE], { employeeNumber: '4242' }, 'the extension attribute is set')
    t.ok(read.schemas.includes(ENTERPRISE), 'schemas names the extension')
    t.notOk('employeeNumber' in read, 'not as a core attribute')

    const dotted = await scim.send('PATCH', `/Users/${user.id}`, patchOf({ op: 'replace', value: { 'name.givenName': 'Jo' } }))
    t.equal(dotted.statusCode, 200)
    read = await getUser(scim, user.id)
    t.same(read.name, { givenName: 'Jo', familyName: 'Family' }, 'givenName replaced, familyName kept')
    t.notOk('name.givenName' in read, 'no literal dotted key stored')
  })

  t.test('PATCH refusals: remove without path, unknown op, no Operations, removing userName: 400 and nothing changed', async (t) => {
    const scim = await openDirectory(app, 'users')
    const user = await createUser(t, scim, 'stays@acme.example.com', { title: 'Keeper' })
    const attempts: Array<[string, unknown, string | undefined]> = [
      ['remove without path', patchOf({ op: 'remove' }), 'noTarget'],
      ['an unknown op', patchOf({ op: 'frobnicate', path: 'title', value: 'x' }), undefined],
      ['no Operations', { schemas: [PATCH_OP] }, undefined],
      ['empty Operations', { schemas: [PATCH_OP], Operations: [] }, undefined],
      ['removing userName', patchOf({ op: 'remove', path: 'userName' }), undefined],
      ['a good op then removing userName', patchOf({ op: 'replace', path: 'title', value: 'Changed' }, { op: 'remove', path: 'userName' }), undefined]
    ]
    for (const [what, body, scimType] of attempts) {
      isScimError(t, await scim.send('PATCH', `/Users/${user.id}`, body), 400, scimType, what)
    }
    t.same(await getUser(scim, user.id), user, 'the user is exactly as created')
  })

  t.test('PATCH answers 200 with the resource (generic) and 204 with no body (Entra)', async (t) => {
    const generic = await openDirectory(app, 'users', { type: 'generic-scim-v2' })
    const g = await createUser(t, generic, 'generic@acme.example.com')
    const res = await generic.send('PATCH', `/Users/${g.id}`, patchOf({ op: 'replace', path: 'title', value: 'Lead' }))
    t.equal(res.statusCode, 200)
    t.match(res.headers['content-type'], /^application\/scim\+json/)
    t.equal(res.json().id, g.id)
    t.equal(res.json().title, 'Lead')

    const azure = await openDirectory(app, 'users', { type: 'azure-scim-v2' })
    t.equal(azure.directory.type, 'azure-scim-v2')
    const a = await createUser(t, azure, 'entra.user@acme.example.com')
    const entra = await azure.send('PATCH', `/Users/${a.id}`, patchOf({ op: 'Replace', path: 'title', value: 'Lead' }))
    t.equal(entra.statusCode, 204)
    t.equal(entra.body, '', 'no body')
    t.equal((await getUser(azure, a.id)).title, 'Lead', 'the change is stored')
    const refused = await azure.send('PATCH', `/Users/${a.id}`, patchOf({ op: 'remove' }))
    isScimError(t, refused, 400, 'noTarget', 'a refused Entra PATCH still answers a SCIM error')
  })

  t.test('DELETE: 204, then GET 404, DELETE again 404; the user leaves its groups', async (t) => {
    const scim = await openDirectory(app, 'users')
    const gone = await createUser(t, scim, 'gone@acme.example.com')
    const kept = await createUser(t, scim, 'kept@acme.example.com')
    const group = await scim.send('POST', '/Groups', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Both', members: [{ value: gone.id }, { value: kept.id }]
    })
    t.equal(group.statusCode, 201)
    t.equal(group.json().members.length, 2)

    const res = await scim.send('DELETE', `/Users/${gone.id}`)
    t.equal(res.statusCode, 204)
    t.equal(res.body, '')
    isScimError(t, await scim.send('GET', `/Users/${gone.id}`), 404, undefined, 'GET after DELETE')
    isScimError(t, await scim.send('DELETE', `/Users/${gone.id}`), 404, undefined, 'DELETE again')
    const after = await scim.send('GET', `/Groups/${group.json().id}`)
    t.same(after.json().members.map((m: Json) => m.value), [kept.id], 'the group lists only the remaining user')
    const members = await app.directorySync.groups.members(scim.directory.id, group.json().id)
    t.same(members.data?.map((m) => m.user_id), [kept.id], 'jackson\'s membership record agrees')
    t.equal((await app.directorySync.users.get(scim.directory.id, gone.id)).error?.code, 404, 'gone from jackson\'s store')
    t.equal(await countUsers(scim), 1)
  })

  t.test('requests.handle (jackson\'s request shape): same operations, 401/404/403 checks; HTTP 403 when deactivated', async (t) => {
    const scim = await openDirectory(app, 'users')
    const handle = app.directorySync.requests.handle
    const request = (over: Partial<Parameters<typeof handle>[0]>) => handle({
      method: 'POST',
      body: scimUser('handled@acme.example.com'),
      directoryId: scim.directory.id,
      resourceType: 'users',
      resourceId: undefined,
      apiSecret: scim.directory.scim.secret,
      query: {},
      ...over
    })
    const created = await request({})
    t.equal(created.status, 201)
    t.equal(created.data.userName, 'handled@acme.example.com')
    const id = created.data.id
    t.equal((await getUser(scim, id)).userName, 'handled@acme.example.com', 'visible over HTTP')

    const read = await request({ method: 'GET', body: undefined, resourceId: id })
    t.equal(read.status, 200)
    t.equal(read.data.id, id)
    const listed = await request({ method: 'GET', body: undefined, query: { filter: 'userName eq "HANDLED@acme.example.com"' } })
    t.equal(listed.status, 200)
    t.equal(listed.data.totalResults, 1)
    const dup = await request({})
    t.equal(dup.status, 409)
    t.equal(dup.data.scimType, 'uniqueness')
    const patched = await request({ method: 'PATCH', resourceId: id, body: patchOf({ op: 'replace', path: 'active', value: false }) })
    t.equal(patched.status, 200)
    t.equal(patched.data.active, false)

    const wrong = await request({ apiSecret: 'not-the-secret' })
    t.equal(wrong.status, 401)
    t.equal(wrong.data.status, '401')
    t.equal((await request({ apiSecret: null })).status, 401, 'no secret')
    const unknown = await request({ directoryId: '00000000-0000-4000-8000-000000000000' })
    t.equal(unknown.status, 404)
    t.equal(await countUsers(scim), 1, 'the refused requests created nothing')

    const deleted = await request({ method: 'DELETE', body: undefined, resourceId: id })
    t.equal(deleted.status, 204)
    t.equal((await request({ method: 'GET', body: undefined, resourceId: id })).status, 404)

    const { error } = await app.directorySync.directories.update(scim.directory.id, { deactivated: true })
    t.equal(error, null)
    const refused = await request({ body: scimUser('late@acme.example.com') })
    t.equal(refused.status, 403)
    t.equal(refused.data.status, '403')
    isScimError(t, await scim.send('POST', '/Users', scimUser('late@acme.example.com')), 403, undefined, 'HTTP POST to a deactivated directory')
    isScimError(t, await scim.send('GET', '/Users'), 403, undefined, 'HTTP GET of a deactivated directory')
    await app.directorySync.directories.update(scim.directory.id, { deactivated: false })
    t.equal(await countUsers(scim), 0, 'nothing was created while deactivated')
  })
}

t.test('sqlite', (t) => suite(t, sqliteFile(t)))
t.test('postgres', (t) => withService(t, 'postgres', 'scim_users', suite))
