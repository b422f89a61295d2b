// The SCIM routes over HTTP (Fastify inject): auth before the body, SCIM error format, content types,
// discovery, 404/405/501, and resource requests reaching the directory.
import t, { type Test } from 'tap'
import { buildApp, mem, scimUser } from '../helpers/app.js'
import { createDirectory } from '../helpers/directory.js'

const SCIM = 'application/scim+json'

async function setup (t: Test) {
  const app = await buildApp(t, mem)
  const directory = await createDirectory(app, 'acme')
  const base = `/api/scim/v2.0/${directory.id}`
  const auth = { authorization: `Bearer ${directory.scim.secret}` }
  return { app, directory, base, auth }
}

t.test('auth: missing, malformed, wrong token and unknown directory all answer the same 401', async (t) => {
  const { app, base, auth, directory } = await setup(t)
  const attempts = [
    { url: `${base}/Users`, headers: {} },
    { url: `${base}/Users`, headers: { authorization: directory.scim.secret } },
    { url: `${base}/Users`, headers: { authorization: 'Bearer wrong' } },
    { url: '/api/scim/v2.0/00000000-0000-0000-0000-000000000000/Users', headers: auth }
  ]
  const bodies = new Set<string>()
  for (const attempt of attempts) {
    const res = await app.inject({ method: 'GET', ...attempt })
    t.equal(res.statusCode, 401, attempt.url)
    t.equal(res.headers['www-authenticate'], 'Bearer realm="SCIM"')
    t.match(res.headers['content-type'], SCIM)
    bodies.add(res.body)
  }
  t.equal(bodies.size, 1, 'an unknown directory is indistinguishable from a wrong token')
  t.same(JSON.parse([...bodies][0]), { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '401', detail: 'Missing or invalid bearer token' })
})

t.test('auth runs before the body is parsed', async (t) => {
  const { app, base } = await setup(t)
  const res = await app.inject({ method: 'POST', url: `${base}/Users`, headers: { 'content-type': SCIM }, payload: '{not json' })
  t.equal(res.statusCode, 401, 'a malformed body from an unauthenticated caller is not even read')
})

t.test('a deactivated directory answers 403', async (t) => {
  const { app, base, auth, directory } = await setup(t)
  await app.directorySync.directories.update(directory.id, { deactivated: true })
  const res = await app.inject({ method: 'GET', url: `${base}/Users`, headers: auth })
  t.equal(res.statusCode, 403)
  t.equal(res.json().status, '403')
})

t.test('discovery endpoints', async (t) => {
  const { app, base, auth } = await setup(t)
  const config = await app.inject({ method: 'GET', url: `${base}/ServiceProviderConfig`, headers: auth })
  t.equal(config.statusCode, 200)
  t.match(config.headers['content-type'], SCIM)
  t.equal(config.json().patch.supported, true)
  const types = await app.inject({ method: 'GET', url: `${base}/ResourceTypes`, headers: auth })
  t.same(types.json().Resources.map((r: any) => r.name), ['User', 'Group'])
  t.equal((await app.inject({ method: 'GET', url: `${base}/ResourceTypes/User`, headers: auth })).json().endpoint, '/Users')
  t.equal((await app.inject({ method: 'GET', url: `${base}/ResourceTypes/Nope`, headers: auth })).statusCode, 404)
  const schemas = await app.inject({ method: 'GET', url: `${base}/Schemas`, headers: auth })
  t.equal(schemas.json().totalResults, 3)
  const user = await app.inject({ method: 'GET', url: `${base}/Schemas/urn:ietf:params:scim:schemas:core:2.0:User`, headers: auth })
  t.equal(user.json().name, 'User')
})

t.test('405 for other methods on known paths, decided before the body is parsed (Okta posts non-JSON)', async (t) => {
  const { app, base, auth } = await setup(t)
  for (const path of ['/ServiceProviderConfig', '/ResourceTypes', '/Schemas']) {
    const res = await app.inject({ method: 'POST', url: base + path, headers: { ...auth, 'content-type': 'text/plain' }, payload: 'hello' })
    t.equal(res.statusCode, 405, path)
    t.equal(res.headers.allow, 'GET')
    t.equal(res.json().status, '405')
  }
  const put = await app.inject({ method: 'PUT', url: `${base}/Users`, headers: auth })
  t.equal(put.statusCode, 405)
  t.equal(put.headers.allow, 'GET, POST')
})

t.test('/Me and /Bulk answer 501; unknown paths 404, in SCIM format', async (t) => {
  const { app, base, auth } = await setup(t)
  t.equal((await app.inject({ method: 'GET', url: `${base}/Me`, headers: auth })).statusCode, 501)
  t.equal((await app.inject({ method: 'POST', url: `${base}/Bulk`, headers: auth })).statusCode, 501)
  const unknown = await app.inject({ method: 'GET', url: `${base}/Nope`, headers: auth })
  t.equal(unknown.statusCode, 404)
  t.equal(unknown.json().schemas[0], 'urn:ietf:params:scim:api:messages:2.0:Error')
  t.equal((await app.inject({ method: 'GET', url: '/not-scim' })).statusCode, 404, 'the host\'s own 404s are untouched')
})

t.test('bodies: scim+json and json accepted, other types 415, malformed JSON 400 invalidSyntax', async (t) => {
  const { app, base, auth } = await setup(t)
  for (const [type, userName] of [[SCIM, 'a@acme.example.com'], ['application/json', 'b@acme.example.com']]) {
    const res = await app.inject({ method: 'POST', url: `${base}/Users`, headers: { ...auth, 'content-type': type }, payload: JSON.stringify(scimUser(userName)) })
    t.equal(res.statusCode, 201, type)
    t.match(res.headers['content-type'], SCIM)
    t.equal(res.json().userName, userName)
  }
  const text = await app.inject({ method: 'POST', url: `${base}/Users`, headers: { ...auth, 'content-type': 'text/plain' }, payload: 'x' })
  t.equal(text.statusCode, 415)
  t.equal(text.json().status, '415')
  const broken = await app.inject({ method: 'POST', url: `${base}/Users`, headers: { ...auth, 'content-type': SCIM }, payload: '{"userName": ' })
  t.equal(broken.statusCode, 400)
  t.equal(broken.json().scimType, 'invalidSyntax')
})

t.test('a user created, read, listed and deleted', async (t) => {
  const { app, base, auth, directory } = await setup(t)
  const created = await app.inject({ method: 'POST', url: `${base}/Users`, headers: { ...auth, 'content-type': SCIM }, payload: JSON.stringify(scimUser('jane@acme.example.com')) })
  t.equal(created.statusCode, 201)
  const id = created.json().id
  t.equal((await app.inject({ method: 'GET', url: `${base}/Users/${id}`, headers: auth })).json().userName, 'jane@acme.example.com')
  const found = await app.inject({ method: 'GET', url: `${base}/Users?filter=${encodeURIComponent('userName eq "jane@acme.example.com"')}`, headers: auth })
  t.equal(found.json().Resources.length, 1)
  t.equal((await app.inject({ method: 'DELETE', url: `${base}/Users/${id}`, headers: auth })).statusCode, 204)
  t.equal((await app.inject({ method: 'GET', url: `${base}/Users/${id}`, headers: auth })).statusCode, 404)
  t.equal((await app.directorySync.users.list(directory.id)).data?.length, 0)
})

t.test('an unparseable filter answers 400 invalidFilter, not 500', async (t) => {
  const { app, base, auth } = await setup(t)
  const res = await app.inject({ method: 'GET', url: `${base}/Users?filter=${encodeURIComponent('userName co "a" and (')}`, headers: auth })
  t.equal(res.statusCode, 400)
  t.equal(res.json().scimType, 'invalidFilter')
})

t.test('a body over bodyLimit answers 413 in SCIM format, and nothing is stored', async (t) => {
  const app = await buildApp(t, mem, { bodyLimit: 2048 })
  const directory = await createDirectory(app, 'acme')
  const base = `/api/scim/v2.0/${directory.id}`
  const headers = { authorization: `Bearer ${directory.scim.secret}`, 'content-type': SCIM }
  const big = scimUser('big@acme.example.com', { title: 'x'.repeat(4096) })
  const res = await app.inject({ method: 'POST', url: `${base}/Users`, headers, payload: JSON.stringify(big) })
  t.equal(res.statusCode, 413)
  t.match(res.headers['content-type'], SCIM)
  t.match(res.json(), { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '413' })
  const small = await app.inject({ method: 'POST', url: `${base}/Users`, headers, payload: JSON.stringify(scimUser('small@acme.example.com')) })
  t.equal(small.statusCode, 201, 'a body within the limit is accepted')
  const list = await app.inject({ method: 'GET', url: `${base}/Users`, headers })
  t.equal(list.json().totalResults, 1, 'only the small user was stored')
})

t.test('requests.handle answers a deactivated directory 403 and unknown resource types 404, in SCIM format', async (t) => {
  const { app, directory } = await setup(t)
  const request = { method: 'GET', body: undefined, directoryId: directory.id, resourceType: 'users', resourceId: undefined, apiSecret: directory.scim.secret, query: {} }
  t.equal((await app.directorySync.requests.handle({ ...request, resourceType: 'devices' })).status, 404)
  t.equal((await app.directorySync.requests.handle({ ...request, method: 'OPTIONS' })).status, 405)
  await app.directorySync.directories.update(directory.id, { deactivated: true })
  const answer = await app.directorySync.requests.handle(request)
  t.equal(answer.status, 403)
  t.equal(answer.data.status, '403')
})
