// Input hygiene (issue: no input reaches a 500): prototype keys, NUL bytes and lone surrogates, the
// password in its URN-qualified spellings, paging numbers, nesting, and resources stored before the
// limits existed. On a sqlite file and on PostgreSQL (where a NUL byte used to reach the database).
import t, { type Test } from 'tap'
import type { DbOptions, ScimEvent } from '../../src/index.js'
import { openStore } from '../../src/store/index.js'
import { buildApp, scimUser, sqliteFile } from '../helpers/app.js'
import { CORE_USER, PATCH_OP, SEARCH_SCHEMA, groupBody, isScimError, ok, openDirectory, patchOf, type Json } from '../helpers/scim.js'
import { withService } from '../helpers/services.js'

const CORE_USER_PASSWORD = `${CORE_USER}:password`
const SECRET = 'Sup3r-Secret-Passw0rd'

function nested (depth: number): Json {
  let value: Json = { leaf: 'x' }
  for (let i = 1; i < depth; i++) value = { inner: value }
  return value
}

async function suite (t: Test, db: DbOptions) {
  const events: ScimEvent[] = []
  const app = await buildApp(t, db, { onScimEvent: (event) => { events.push(event) } })

  t.test('password in every spelling is neither stored, echoed nor put into events', async (t) => {
    const scim = await openDirectory(app, 'password')
    const created: Json[] = []
    const bodies = [
      scimUser('qualified@example.com', { [CORE_USER_PASSWORD]: SECRET }),
      { ...scimUser('container@example.com'), [CORE_USER]: { password: SECRET, title: 'Engineer' } },
      { ...scimUser('lower@example.com'), [CORE_USER_PASSWORD.toLowerCase()]: SECRET }
    ]
    for (const body of bodies) {
      const res = await scim.send('POST', '/Users', body)
      t.equal(res.statusCode, 201, `POST with ${Object.keys(body).find((k) => k.startsWith('urn') || k === CORE_USER) ?? 'password'}`)
      t.notOk(res.body.includes(SECRET), 'not echoed by POST')
      created.push(res.json())
    }
    t.equal(created[1].title, 'Engineer', 'the other attributes of a core-schema container are kept as top-level attributes')
    const [user] = created
    const put = await scim.send('PUT', `/Users/${user.id}`, scimUser('qualified@example.com', { [CORE_USER]: { password: SECRET } }))
    t.equal(put.statusCode, 200)
    t.notOk(put.body.includes(SECRET), 'not echoed by PUT')
    for (const operation of [
      { op: 'add', path: CORE_USER_PASSWORD, value: SECRET },
      { op: 'replace', path: CORE_USER_PASSWORD, value: SECRET },
      { op: 'replace', value: { [CORE_USER_PASSWORD]: SECRET, displayName: 'Changed' } },
      { op: 'replace', value: { [CORE_USER]: { password: SECRET } } }
    ]) {
      const res = await scim.send('PATCH', `/Users/${user.id}`, patchOf(operation))
      t.equal(res.statusCode, 200, `PATCH ${JSON.stringify(operation).slice(0, 60)}`)
      t.notOk(res.body.includes(SECRET), 'not echoed by PATCH')
    }
    for (const { id } of created) {
      const read = await scim.send('GET', `/Users/${id}`)
      t.notOk(read.body.includes(SECRET), 'not answered by GET')
      const stored = await app.directorySync.users.get(scim.directory.id, id)
      t.notOk(JSON.stringify(stored.data).includes(SECRET), 'not stored')
    }
    const search = await scim.send('POST', '/Users/.search', { schemas: [SEARCH_SCHEMA], attributes: [CORE_USER_PASSWORD, 'userName'] })
    t.equal(search.statusCode, 200)
    t.notOk(search.body.includes(SECRET), 'not answered by .search asking for it')
    t.notOk(JSON.stringify(events).includes(SECRET), 'in no event (nor, so, in webhooks or jackson\'s copy, which are fed from events)')
  })

  t.test('prototype keys are refused with 400 invalidSyntax, at any depth, and nothing is stored or sent', async (t) => {
    const scim = await openDirectory(app, 'proto')
    const before = events.length
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      const raw = `{"schemas":["${CORE_USER}"],"userName":"p-${key}@example.com","name":{"${key}":{"givenName":"x"},"familyName":"F"}}`
      isScimError(t, await scim.sendRaw('POST', '/Users', raw), 400, 'invalidSyntax', `${key} inside name`)
    }
    isScimError(t, await scim.sendRaw('POST', '/Users', '{"userName":"top@example.com","__proto__":{"active":false}}'), 400, 'invalidSyntax', 'at the top level')
    const user = await ok(scim, 'POST', '/Users', scimUser('keeps@example.com'), 201)
    const patch = `{"schemas":["${PATCH_OP}"],"Operations":[{"op":"replace","value":{"__proto__":{"admin":true}}}]}`
    isScimError(t, await scim.sendRaw('PATCH', `/Users/${user.id}`, patch), 400, 'invalidSyntax', 'in a PATCH value')
    isScimError(t, await scim.send('PATCH', `/Users/${user.id}`, patchOf({ op: 'add', path: `${CORE_USER}:__proto__.x`, value: 1 })), 400, undefined, 'as a path')
    isScimError(t, await scim.send('POST', '/Users', { ...scimUser('q@example.com'), [`${CORE_USER}:__proto__.polluted`]: true }), 400, 'invalidSyntax', 'in a qualified name')
    t.equal((await ok(scim, 'GET', '/Users', undefined, 200)).totalResults, 1, 'only the valid user is stored')
    t.equal(events.filter((e) => e.directory_id === scim.directory.id).length, 1, 'only its event was sent')
    t.equal(events.length - before, 1)
    t.equal(({} as Json).polluted, undefined, 'Object.prototype untouched')
  })

  t.test('NUL bytes and lone surrogates answer 400 wherever they come', async (t) => {
    const scim = await openDirectory(app, 'nul')
    const user = await ok(scim, 'POST', '/Users', scimUser('clean@example.com'), 201)
    const group = await ok(scim, 'POST', '/Groups', groupBody('Clean'), 201)
    const cases: Array<[string, () => ReturnType<typeof scim.send>]> = [
      ['GET /Users/%00', () => scim.send('GET', '/Users/%00')],
      ['GET /Groups/a%00b', () => scim.send('GET', '/Groups/a%00b')],
      ['DELETE /Users/%00', () => scim.send('DELETE', '/Users/%00')],
      ['userName', () => scim.send('POST', '/Users', scimUser('nul\u0000@example.com'))],
      ['externalId', () => scim.send('POST', '/Users', scimUser('ext@example.com', { externalId: 'a\u0000b' }))],
      ['a key', () => scim.send('POST', '/Users', scimUser('key@example.com', { 'x\u0000y': 1 }))],
      ['group displayName', () => scim.send('POST', '/Groups', groupBody('G\u0000'))],
      ['a PATCH value', () => scim.send('PATCH', `/Users/${user.id}`, patchOf({ op: 'replace', path: 'displayName', value: 'a\u0000' }))],
      ['a group PATCH', () => scim.send('PATCH', `/Groups/${group.id}`, patchOf({ op: 'replace', path: 'displayName', value: 'a\u0000' }))],
      ['a filter', () => scim.send('GET', `/Users?filter=${encodeURIComponent('userName eq "a\u0000"')}`)],
      ['a .search filter', () => scim.send('POST', '/Users/.search', { schemas: [SEARCH_SCHEMA], filter: 'userName eq "a\u0000"' })],
      // Found by the fuzzer: the filter's text holds no NUL, its string literal's escape does.
      ['an escaped NUL in a filter string', () => scim.send('GET', `/Users?filter=${encodeURIComponent('userName eq "\\u0000"')}`)],
      ['an escaped NUL in a group filter', () => scim.send('GET', `/Groups?filter=${encodeURIComponent('externalId eq "a\\u0000"')}`)],
      ['attributes', () => scim.send('GET', '/Users?attributes=user%00Name')],
      ['a lone high surrogate', () => scim.send('POST', '/Users', scimUser('sur\ud800@example.com'))],
      // (A query string cannot carry one: it arrives as UTF-8, where a lone surrogate has no encoding.)
      ['a lone low surrogate in a .search filter', () => scim.send('POST', '/Users/.search', { schemas: [SEARCH_SCHEMA], filter: 'displayName eq "\udc00"' })]
    ]
    for (const [what, send] of cases) {
      const res = await send()
      t.equal(res.statusCode, 400, `${what}: 400`)
      t.equal(res.json().status, '400', `${what}: a SCIM error`)
    }
    t.equal((await ok(scim, 'GET', `/Users/${user.id}`, undefined, 200)).displayName, undefined, 'nothing was changed')
    t.equal((await ok(scim, 'GET', '/Users', undefined, 200)).totalResults, 1)
    const emoji = await scim.send('POST', '/Users', scimUser('emoji@example.com', { displayName: 'Jane 😀' }))
    t.equal(emoji.statusCode, 201, 'a well-formed surrogate pair is fine')
  })

  t.test('paging numbers: out of range is clamped, anything but a safe integer answers 400 invalidValue', async (t) => {
    const scim = await openDirectory(app, 'paging')
    for (let i = 0; i < 3; i++) await ok(scim, 'POST', '/Users', scimUser(`page${i}@example.com`), 201)
    for (const value of ['9223372036854775807', '1e300', 'Infinity', 'NaN', '1.5', 'abc', '-9007199254740993', '0x10']) {
      isScimError(t, await scim.send('GET', `/Users?startIndex=${value}`), 400, 'invalidValue', `startIndex=${value}`)
      isScimError(t, await scim.send('GET', `/Users?count=${value}`), 400, 'invalidValue', `count=${value}`)
    }
    for (const value of [1e21, 1e300, 1.5, '1e3', 9007199254740992]) {
      isScimError(t, await scim.send('POST', '/Users/.search', { schemas: [SEARCH_SCHEMA], startIndex: value }), 400, 'invalidValue', `.search startIndex ${value}`)
    }
    const beyond = await ok(scim, 'GET', '/Users?startIndex=9007199254740991', undefined, 200)
    t.match(beyond, { totalResults: 3, itemsPerPage: 0, startIndex: 9007199254740991 }, 'beyond the total: an empty page with the true total')
    t.match(await ok(scim, 'GET', '/Users?startIndex=0&count=2', undefined, 200), { startIndex: 1, itemsPerPage: 2, totalResults: 3 }, 'startIndex < 1 reads as 1')
    t.match(await ok(scim, 'GET', '/Users?startIndex=-7', undefined, 200), { startIndex: 1, itemsPerPage: 3 })
    t.match(await ok(scim, 'GET', '/Users?count=-3', undefined, 200), { totalResults: 3, itemsPerPage: 0 }, 'count < 0 reads as 0')
    t.match(await ok(scim, 'GET', '/Users?count=99999999', undefined, 200), { totalResults: 3, itemsPerPage: 3 }, 'count above the maximum reads as the maximum')
    const filtered = await ok(scim, 'GET', `/Users?filter=${encodeURIComponent('userName sw "page"')}&startIndex=9007199254740991`, undefined, 200)
    t.match(filtered, { totalResults: 3, itemsPerPage: 0 }, 'the same past the end of a scanned filter')
  })

  t.test('JSON nesting: refused while parsing past limits.jsonDepth (400 invalidSyntax), accepted within it', async (t) => {
    const scim = await openDirectory(app, 'depth')
    const deep = '{"userName":"deep@example.com","x":' + '['.repeat(5000) + ']'.repeat(5000) + '}'
    isScimError(t, await scim.sendRaw('POST', '/Users', deep), 400, 'invalidSyntax', '5,000 deep')
    isScimError(t, await scim.send('POST', '/Users', scimUser('d33@example.com', { custom: nested(33) })), 400, 'invalidSyntax', 'one past the limit')
    t.equal((await scim.send('POST', '/Users', scimUser('d30@example.com', { custom: nested(30) }))).statusCode, 201, 'within the limit')
    const tricky = JSON.stringify(scimUser('strings@example.com', { displayName: '[[[[{{{{'.repeat(100) + '"\\' }))
    t.equal((await scim.sendRaw('POST', '/Users', tricky)).statusCode, 201, 'brackets inside strings do not count')
  })

  t.test('requests.handle: the same hygiene for a body the host parsed', async (t) => {
    const scim = await openDirectory(app, 'handle')
    const polluted = JSON.parse('{"userName":"h@example.com","name":{"__proto__":{"x":1}}}')
    const request = (body: unknown) => app.directorySync.requests.handle({
      method: 'POST', resourceType: 'users', directoryId: scim.directory.id, apiSecret: scim.directory.scim.secret, body, query: {}
    } as any)
    const refused = await request(polluted)
    t.equal(refused.status, 400)
    t.equal((refused.data as Json).scimType, 'invalidSyntax')
    const deep = await request({ userName: 'deep@example.com', custom: nested(2000) })
    t.equal(deep.status, 400, 'a body nested 2,000 deep answers 400, without a stack overflow')
    t.equal((await request({ userName: 'n\u0000@example.com' })).status, 400)
  })

  t.test('a resource stored before the limits (nested 4,000 deep, larger than resourceBytes) still reads, patches, lists and deletes', async (t) => {
    const scim = await openDirectory(app, 'legacy')
    const store = await openStore(db)
    t.teardown(() => store.close())
    const time = new Date().toISOString()
    const body = { schemas: [CORE_USER], userName: 'legacy@example.com', active: true, custom: nested(4000), padding: 'x'.repeat(40_000) }
    await store.insert({
      directoryId: scim.directory.id, type: 'User', id: 'legacy-1', keys: { name: 'legacy@example.com', externalId: null, displayName: null }, body, created: time, lastModified: time, version: 1
    })
    t.equal((await scim.send('GET', '/Users/legacy-1')).statusCode, 200, 'GET')
    t.equal((await scim.send('GET', '/Users?excludedAttributes=custom')).statusCode, 200, 'a listing with excludedAttributes')
    t.equal((await scim.send('GET', `/Users?filter=${encodeURIComponent('custom pr')}`)).statusCode, 200, 'a scanned filter')
    const deactivated = await scim.send('PATCH', '/Users/legacy-1', patchOf({ op: 'replace', value: { active: false } }))
    t.equal(deactivated.statusCode, 200, 'PATCH active=false (a deactivation must always pass)', { body: deactivated.body.slice(0, 300) })
    t.equal(deactivated.json().active, false)
    const grows = await scim.send('PATCH', '/Users/legacy-1', patchOf({ op: 'add', path: 'title', value: 'x'.repeat(100) }))
    isScimError(t, grows, 400, 'invalidValue', 'a change that makes it larger still is refused')
    t.equal((await scim.send('DELETE', '/Users/legacy-1')).statusCode, 204, 'DELETE')
  })
}

t.test('sqlite', async (t) => suite(t, sqliteFile(t)))
t.test('postgres', async (t) => withService(t, 'postgres', 'hygiene', suite))
