// Listing SCIM Users and Groups over HTTP (Fastify inject): filters, pagination, attribute projection,
// POST .search and the collection's other spellings, on a sqlite file and on PostgreSQL.
import t, { type Test } from 'tap'
import type { DbOptions } from '../../src/index.js'
import { buildApp, scimUser, sqliteFile } from '../helpers/app.js'
import { ERROR_SCHEMA, LIST_SCHEMA, SEARCH_SCHEMA, groupBody, ok, openDirectory, type Json, type ScimClient as Scim } from '../helpers/scim.js'
import { withService } from '../helpers/services.js'

const post = (scim: Scim, path: string, body: Json): Promise<Json> => ok(scim, 'POST', path, body, 201)

/** A list answer, checked to be a ListResponse. */
async function list (t: Test, scim: Scim, path: string): Promise<Json> {
  const res = await scim.send('GET', path)
  t.equal(res.statusCode, 200, `GET ${path}`)
  t.match(res.headers['content-type'], /^application\/scim\+json/)
  const body = res.json()
  t.same(body.schemas, [LIST_SCHEMA])
  return body
}

const filtered = (collection: string, filter: string) => `/${collection}?filter=${encodeURIComponent(filter)}`
const ids = (body: Json) => (body.Resources ?? []).map((r: Json) => r.id).sort()
const sorted = (...list: string[]) => [...list].sort()

async function suite (t: Test, db: DbOptions) {
  const app = await buildApp(t, db)

  t.test('filters on Users and Groups', async (t) => {
    const scim = await openDirectory(app, 'listing')
    const alice = await post(scim, '/Users', scimUser('Alice.Smith@acme.example.com', {
      externalId: 'ext-alice', displayName: 'Alice Smith', title: 'Engineer', name: { givenName: 'Alice', familyName: 'Smith' }
    }))
    const bob = await post(scim, '/Users', scimUser('bob.jones@acme.example.com', {
      externalId: 'ext-bob',
      displayName: 'Bob Jones',
      active: false,
      name: { givenName: 'Bob', familyName: 'Employee' },
      emails: [{ value: 'bob@home.example.org', type: 'home' }, { value: 'bob.jones@acme.example.com', type: 'work', primary: true }]
    }))
    const carol = await post(scim, '/Users', scimUser('carol.employee@other.example.net', {
      externalId: 'EXT-CAROL',
      name: { givenName: 'Carol', familyName: 'Employee' },
      emails: [{ value: 'carol@acme.example.com', type: 'home' }]
    }))
    const engineering = await post(scim, '/Groups', groupBody('Engineering', [{ value: alice.id }, { value: bob.id }]))
    const sales = await post(scim, '/Groups', groupBody('Sales', [{ value: bob.id }, { value: carol.id }]))
    const empty = await post(scim, '/Groups', groupBody('Empty'))

    const cases: Array<[string, string, string[]]> = [
      ['Users', 'userName eq "ALICE.SMITH@acme.EXAMPLE.com"', [alice.id]],
      ['Users', 'userName eq "alice.smith@acme.example.com"', [alice.id]],
      ['Users', 'userName eq "nobody@acme.example.com"', []],
      ['Users', 'externalId eq "ext-bob"', [bob.id]],
      ['Users', 'externalId eq "EXT-CAROL"', [carol.id]],
      ['Users', `id eq "${carol.id}"`, [carol.id]],
      ['Users', 'displayName eq "Alice Smith"', [alice.id]],
      ['Users', 'emails.value eq "bob@home.example.org"', [bob.id]],
      ['Users', 'emails[type eq "work" and value co "acme"]', [alice.id, bob.id]],
      ['Users', 'emails[type eq "home" and value co "acme"]', [carol.id]],
      ['Users', 'name.familyName eq "Employee" and active eq false', [bob.id]],
      ['Users', 'userName sw "alice" or userName sw "carol"', [alice.id, carol.id]],
      ['Users', 'not (name.familyName eq "Employee")', [alice.id]],
      ['Users', 'userName sw "bob"', [bob.id]],
      ['Users', 'userName co "employee"', [carol.id]],
      ['Users', 'userName ew "other.example.net"', [carol.id]],
      ['Users', 'title pr', [alice.id]],
      ['Users', 'meta.created gt "2000-01-01T00:00:00Z"', [alice.id, bob.id, carol.id]],
      ['Users', 'meta.created gt "2999-01-01T00:00:00Z"', []],
      ['Users', 'name.familyName eq Employee', [bob.id, carol.id]],
      ['Groups', `members[value eq "${bob.id}"]`, [engineering.id, sales.id]],
      ['Groups', `members[value eq "${carol.id}"]`, [sales.id]],
      ['Groups', 'displayName eq "engineering"', [engineering.id]],
      ['Groups', 'displayName eq "Empty"', [empty.id]],
      ['Groups', 'displayName sw "S"', [sales.id]]
    ]
    for (const [collection, filter, expected] of cases) {
      const body = await list(t, scim, filtered(collection, filter))
      t.same(ids(body), sorted(...expected), `${collection} ${filter}`)
      t.equal(body.totalResults, expected.length, `${collection} ${filter}: totalResults`)
    }

    const grouped = await list(t, scim, filtered('Groups', `members[value eq "${alice.id}"]`))
    t.same(grouped.Resources[0].members.map((m: Json) => m.value).sort(), sorted(alice.id, bob.id), 'a matched group lists its members')

    for (const bad of ['userName eq', 'userName co "a" and (', 'userName zz "a"', '"x" eq userName', 'emails[type eq "work"']) {
      const res = await scim.send('GET', filtered('Users', bad))
      t.equal(res.statusCode, 400, `unparseable: ${bad}`)
      t.same(res.json().schemas, [ERROR_SCHEMA])
      t.equal(res.json().status, '400')
      t.equal(res.json().scimType, 'invalidFilter')
    }
    const badGroups = await scim.send('GET', filtered('Groups', 'displayName eq "x" or'))
    t.equal(badGroups.statusCode, 400)
    t.equal(badGroups.json().scimType, 'invalidFilter')
  })

  t.test('pagination: the true total, startIndex and count, whole walks in creation order', async (t) => {
    const scim = await openDirectory(app, 'listing')
    const created: Json[] = []
    for (let i = 1; i <= 7; i++) created.push(await post(scim, '/Users', scimUser(`page${i}.user@acme.example.com`)))
    const names = created.map((u) => u.userName)

    const first = await list(t, scim, '/Users?count=2')
    t.equal(first.totalResults, 7, 'totalResults is the true total')
    t.equal(first.itemsPerPage, 2)
    t.equal(first.Resources.length, 2)
    t.equal(first.startIndex, 1)
    t.same(first.Resources.map((r: Json) => r.userName), names.slice(0, 2), 'the first page is the first created')

    const third = await list(t, scim, '/Users?startIndex=3&count=2')
    t.equal(third.startIndex, 3, 'startIndex is echoed')
    t.equal(third.totalResults, 7)
    t.same(third.Resources.map((r: Json) => r.userName), names.slice(2, 4))

    const tail = await list(t, scim, '/Users?startIndex=6&count=5')
    t.equal(tail.Resources.length, 2, 'only two left from the 6th')
    t.equal(tail.itemsPerPage, 2)
    t.equal(tail.totalResults, 7)
    t.equal(tail.startIndex, 6)
    t.same(tail.Resources.map((r: Json) => r.userName), names.slice(5))

    const beyond = await list(t, scim, '/Users?startIndex=20&count=5')
    t.equal(beyond.totalResults, 7)
    t.same(beyond.Resources ?? [], [], 'nothing past the end')

    const none = await list(t, scim, '/Users?count=0')
    t.equal(none.totalResults, 7, 'count=0 answers the total')
    t.same(none.Resources ?? [], [], 'and no resources')
    t.equal(none.itemsPerPage ?? 0, 0)

    const zero = await list(t, scim, '/Users?startIndex=0&count=3')
    t.equal(zero.startIndex, 1, 'startIndex=0 is read as 1')
    t.same(zero.Resources.map((r: Json) => r.userName), names.slice(0, 3))

    // Every listing route, each of whose validators is compiled on its first request (routes.ts lazyValidation).
    for (const path of ['/Users', '/Groups', '/users/', '/groups']) {
      for (const query of ['count=abc', 'startIndex=abc']) {
        for (const attempt of ['first', 'again']) {
          const res = await scim.send('GET', `${path}?${query}`)
          t.equal(res.statusCode, 400, `${path}?${query} (${attempt})`)
          t.same(res.json().schemas, [ERROR_SCHEMA])
          t.equal(res.json().status, '400')
        }
      }
      t.equal((await scim.send('GET', `${path}?count=2`)).statusCode, 200, `${path}?count=2 is valid`)
    }
    const detail = async (path: string) => (await scim.send('GET', `${path}?count=abc`)).json().detail
    t.equal(await detail('/Groups'), await detail('/Users'), 'with the same detail as the route compiled at ready')

    const filteredPage = await list(t, scim, `${filtered('Users', 'userName sw "page"')}&startIndex=2&count=2`)
    t.equal(filteredPage.totalResults, 7, 'a filtered listing counts every match')
    t.same(filteredPage.Resources.map((r: Json) => r.userName), names.slice(1, 3))

    const walked: string[] = []
    for (let start = 1; ; start += 3) {
      const page = await list(t, scim, `/Users?startIndex=${start}&count=3`)
      t.equal(page.totalResults, 7)
      walked.push(...page.Resources.map((r: Json) => r.userName))
      if (page.Resources.length < 3) break
    }
    t.same(walked, names, 'pages in creation order with no overlap and no gap')
  })

  t.test('attributes and excludedAttributes', async (t) => {
    const scim = await openDirectory(app, 'listing')
    await post(scim, '/Users', scimUser('proj.ected@acme.example.com', { title: 'Projected' }))

    const only = await list(t, scim, '/Users?attributes=userName')
    t.same(Object.keys(only.Resources[0]).sort(), ['id', 'schemas', 'userName'], 'only id, schemas and userName')
    t.equal(only.Resources[0].userName, 'proj.ected@acme.example.com')

    const excluded = await list(t, scim, '/Users?excludedAttributes=emails,name.givenName')
    const user = excluded.Resources[0]
    t.notOk('emails' in user, 'emails left out')
    t.same(user.name, { familyName: 'ected' }, 'name.givenName left out, familyName kept')
    t.equal(user.userName, 'proj.ected@acme.example.com')
    t.equal(user.title, 'Projected')
    t.ok(user.meta, 'meta kept')

    const one = await scim.send('GET', `/Users/${user.id}?attributes=userName,name.familyName`)
    t.same(Object.keys(one.json()).sort(), ['id', 'name', 'schemas', 'userName'])
    t.same(one.json().name, { familyName: 'ected' })
  })

  t.test('POST /Users/.search takes the query in the body', async (t) => {
    const scim = await openDirectory(app, 'listing')
    for (const name of ['search.one', 'search.two', 'search.three', 'other.four']) await post(scim, '/Users', scimUser(`${name}@acme.example.com`))
    const res = await scim.send('POST', '/Users/.search', {
      schemas: [SEARCH_SCHEMA], filter: 'userName sw "search"', startIndex: 2, count: 1, attributes: ['userName']
    })
    t.equal(res.statusCode, 200)
    t.match(res.headers['content-type'], /^application\/scim\+json/)
    const body = res.json()
    t.same(body.schemas, [LIST_SCHEMA])
    t.equal(body.totalResults, 3)
    t.equal(body.startIndex, 2)
    t.equal(body.Resources.length, 1)
    t.equal(body.Resources[0].userName, 'search.two@acme.example.com', 'the second match in creation order')
    t.same(Object.keys(body.Resources[0]).sort(), ['id', 'schemas', 'userName'])

    const all = await scim.send('POST', '/Users/.search', { schemas: [SEARCH_SCHEMA] })
    t.equal(all.json().totalResults, 4, 'no filter: everyone')
    const bad = await scim.send('POST', '/Users/.search', { filter: 'userName eq' })
    t.equal(bad.statusCode, 400)
    t.equal(bad.json().scimType, 'invalidFilter')
    const groups = await scim.send('POST', '/Groups/.search', { filter: 'displayName eq "none"' })
    t.equal(groups.statusCode, 200)
    t.equal(groups.json().totalResults, 0)
  })

  t.test('/users and /Users/ answer like /Users', async (t) => {
    const scim = await openDirectory(app, 'listing')
    await post(scim, '/Users', scimUser('spelled@acme.example.com'))
    await post(scim, '/users', scimUser('lower@acme.example.com'))
    await post(scim, '/Users/', scimUser('slash@acme.example.com'))
    const canonical = await list(t, scim, '/Users')
    t.equal(canonical.totalResults, 3, 'POSTs to every spelling created users')
    for (const path of ['/users', '/Users/', '/users/']) {
      const body = await list(t, scim, path)
      t.same(body, canonical, `${path} answers like /Users`)
    }
    const filter = await list(t, scim, filtered('users', 'userName eq "lower@acme.example.com"'))
    t.equal(filter.totalResults, 1)
    const groups = await list(t, scim, '/groups')
    t.equal(groups.totalResults, 0)
  })

  t.test('an unfiltered listing of more than 150 users counts them all (beyond jackson\'s 50 cap)', async (t) => {
    const scim = await openDirectory(app, 'listing')
    const total = 160
    for (let i = 0; i < total; i++) await post(scim, '/Users', scimUser(`bulk${i}.user@acme.example.com`))
    const page = await list(t, scim, '/Users')
    t.equal(page.totalResults, total, 'totalResults is every user')
    t.equal(page.Resources.length, 100, 'a page without count holds the default 100')
    const all = await list(t, scim, `/Users?count=${total + 10}`)
    t.equal(all.totalResults, total)
    t.equal(all.Resources.length, total, 'one page can hold them all')
    t.equal(new Set(all.Resources.map((r: Json) => r.id)).size, total, 'each once')
    const last = await list(t, scim, '/Users?startIndex=151&count=50')
    t.equal(last.Resources.length, 10)
    t.equal(last.Resources[9].userName, `bulk${total - 1}.user@acme.example.com`, 'the last created is last')
  })
}

t.test('sqlite', (t) => suite(t, sqliteFile(t)))
t.test('postgres', (t) => withService(t, 'postgres', 'scim_listing', suite))
