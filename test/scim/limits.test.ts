// The caps of the `limits` option: each answers its documented error past its value (set small here, so
// that the mechanism is what is tested), and the work of what is accepted stays linear.
import t from 'tap'
import { buildApp, scimUser, sqliteFile } from '../helpers/app.js'
import { SEARCH_SCHEMA, groupBody, isScimError, ok, openDirectory, patchOf, type Json } from '../helpers/scim.js'

t.test('each cap answers 400 with its scimType past its value, and accepts its value', async (t) => {
  const limits = { operationsPerPatch: 3, valuesPerAttribute: 5, attributeNames: 4, filterTerms: 3, filterDepth: 2, jsonDepth: 6, resourceBytes: 2000 }
  const app = await buildApp(t, sqliteFile(t), { limits })
  const scim = await openDirectory(app, 'caps')
  const user = await ok(scim, 'POST', '/Users', scimUser('cap@example.com'), 201)
  const users: Json[] = [user]
  for (let i = 0; i < 5; i++) users.push(await ok(scim, 'POST', '/Users', scimUser(`m${i}@example.com`), 201))
  const group = await ok(scim, 'POST', '/Groups', groupBody('Capped'), 201)
  const op = (value: string) => ({ op: 'replace', path: 'displayName', value })

  t.equal((await scim.send('PATCH', `/Users/${user.id}`, patchOf(op('a'), op('b'), op('c')))).statusCode, 200, 'operationsPerPatch: at the cap')
  isScimError(t, await scim.send('PATCH', `/Users/${user.id}`, patchOf(op('a'), op('b'), op('c'), op('d'))), 400, 'invalidValue', 'operationsPerPatch: one past it')

  const members = (n: number) => users.slice(0, n).map((u) => ({ value: u.id }))
  t.equal((await scim.send('PATCH', `/Groups/${group.id}`, patchOf({ op: 'add', path: 'members', value: members(5) }))).statusCode, 200, 'valuesPerAttribute: at the cap')
  isScimError(t, await scim.send('PATCH', `/Groups/${group.id}`, patchOf({ op: 'add', path: 'members', value: members(6) })), 400, 'invalidValue', 'valuesPerAttribute: members, one past it')
  const phones = (n: number) => Array.from({ length: n }, (_, i) => ({ value: `+1555000${i}`, type: 'work' }))
  isScimError(t, await scim.send('POST', '/Users', scimUser('phones@example.com', { phoneNumbers: phones(6) })), 400, 'invalidValue', 'valuesPerAttribute: phone numbers in a POST')

  t.equal((await scim.send('GET', '/Users?attributes=userName,emails,name,title')).statusCode, 200, 'attributeNames: at the cap')
  isScimError(t, await scim.send('GET', '/Users?attributes=userName,emails&excludedAttributes=name,title,active'), 400, 'invalidValue', 'attributeNames: both lists count')
  isScimError(t, await scim.send('POST', '/Users/.search', { schemas: [SEARCH_SCHEMA], attributes: ['a', 'b', 'c', 'd', 'e'] }), 400, 'invalidValue', 'attributeNames: in .search')

  const filter = (text: string) => scim.send('GET', `/Users?filter=${encodeURIComponent(text)}`)
  t.equal((await filter('userName eq "a" or userName eq "b" or title pr')).statusCode, 200, 'filterTerms: at the cap')
  isScimError(t, await filter('userName eq "a" or userName eq "b" or title pr or active eq true'), 400, 'invalidFilter', 'filterTerms: one past it')
  t.equal((await filter('((userName eq "a"))')).statusCode, 200, 'filterDepth: at the cap')
  isScimError(t, await filter('(((userName eq "a")))'), 400, 'invalidFilter', 'filterDepth: one past it')

  const nested = (depth: number) => { let v: Json = { x: 1 }; for (let i = 2; i < depth; i++) v = { v }; return v }
  t.equal((await scim.send('POST', '/Users', scimUser('deep5@example.com', { custom: nested(6) }))).statusCode, 201, 'jsonDepth: at the cap')
  isScimError(t, await scim.send('POST', '/Users', scimUser('deep6@example.com', { custom: nested(7) })), 400, 'invalidSyntax', 'jsonDepth: one past it')

  isScimError(t, await scim.send('POST', '/Users', scimUser('big@example.com', { title: 'x'.repeat(2000) })), 400, 'invalidValue', 'resourceBytes: a POST')
  isScimError(t, await scim.send('PATCH', `/Users/${user.id}`, patchOf({ op: 'add', path: 'title', value: 'x'.repeat(2000) })), 400, 'invalidValue', 'resourceBytes: a PATCH')
  isScimError(t, await scim.send('POST', '/Groups', { ...groupBody('Big'), description: 'x'.repeat(2000) }), 400, 'invalidValue', 'resourceBytes: a group')
  t.notOk((await ok(scim, 'GET', `/Users/${user.id}`, undefined, 200)).title, 'nothing refused was stored')
})

t.test('a page of groups is cut short past membersPerPage; paging by itemsPerPage still reaches every group', async (t) => {
  const app = await buildApp(t, sqliteFile(t), { limits: { membersPerPage: 5 } })
  const scim = await openDirectory(app, 'pages')
  const ids: string[] = []
  for (let i = 0; i < 6; i++) ids.push((await ok(scim, 'POST', '/Users', scimUser(`p${i}@example.com`), 201)).id)
  for (let g = 0; g < 4; g++) await ok(scim, 'POST', '/Groups', groupBody(`G${g}`, ids.slice(0, 3).map((value) => ({ value }))), 201)
  await ok(scim, 'POST', '/Groups', groupBody('Huge', ids.map((value) => ({ value }))), 201)
  const seen: string[] = []
  let startIndex = 1
  for (let pages = 0; pages < 10 && seen.length < 5; pages++) {
    const page = await ok(scim, 'GET', `/Groups?startIndex=${startIndex}&count=100`, undefined, 200)
    t.equal(page.totalResults, 5, 'the total is every group')
    t.ok(page.itemsPerPage >= 1, 'every page moves on')
    const carried = page.Resources.reduce((n: number, g: Json) => n + (g.members?.length ?? 0), 0)
    t.ok(carried <= 5 || page.itemsPerPage === 1, `page at ${startIndex} carries ${carried} members (one group alone may exceed the cap)`)
    seen.push(...page.Resources.map((g: Json) => g.displayName))
    startIndex += page.itemsPerPage
  }
  t.same(seen, ['G0', 'G1', 'G2', 'G3', 'Huge'], 'every group once, in order')
  const without = await ok(scim, 'GET', '/Groups?excludedAttributes=members', undefined, 200)
  t.equal(without.itemsPerPage, 5, 'without members a page is not cut')
})

t.test('large merges are linear: 10,000 values in one PATCH operation, 1,000 filtered operations in one PATCH', async (t) => {
  // Not a timed assertion: 10,000 values against 10,000 and 1,000 operations against 10,000 members
  // would take minutes with pairwise comparisons (the tap timeout would fail this test).
  const app = await buildApp(t, sqliteFile(t))
  const scim = await openDirectory(app, 'linear')
  const user = await ok(scim, 'POST', '/Users', scimUser('linear@example.com'), 201)
  const phones = Array.from({ length: 10_000 }, (_, i) => ({ value: `+1${String(i).padStart(10, '0')}` }))
  const res = await scim.send('PATCH', `/Users/${user.id}`, patchOf({ op: 'add', path: 'phoneNumbers', value: phones }))
  isScimError(t, res, 400, 'invalidValue', '10,000 phone numbers are accepted by the cap but the user would exceed resourceBytes')
  const remove = Array.from({ length: 1000 }, (_, i) => ({ op: 'remove', path: `emails[value eq "nobody${i}@example.com"]` }))
  t.equal((await scim.send('PATCH', `/Users/${user.id}`, patchOf(...remove))).statusCode, 200, '1,000 filtered removals within the filter budget')
})
