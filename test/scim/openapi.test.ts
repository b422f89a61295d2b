// The SCIM routes in @fastify/swagger's OpenAPI document: exactly the real operations, each with its
// request body, its statuses, application/scim+json, the bearer scheme and the SCIM tag; none with
// openapi: false. And the schemas document only: what is sent and answered does not change.
import t, { type Test } from 'tap'
import Fastify from 'fastify'
import fastifySwagger from '@fastify/swagger'
import SwaggerParser from '@apidevtools/swagger-parser'
import fastifyDirectorySync, { type DirectorySyncOptions } from '../../src/index.js'
import { externalUrl, mem, scimUser } from '../helpers/app.js'
import { isScimError, openDirectory, PATCH_OP } from '../helpers/scim.js'

const SCIM = 'application/scim+json'
const BASE = '/api/scim/v2.0/{directoryId}'

type Doc = { paths: Record<string, Record<string, any>>, components: Record<string, any> }

/** An app as a host builds one: @fastify/swagger first, declaring the bearer scheme, then the plugin. */
async function build (t: Test, options: Partial<DirectorySyncOptions> = {}) {
  const app = Fastify({ logger: false })
  t.after(() => app.close())
  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'host', version: '1.0.0' },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } }
    }
  })
  app.get('/health', async () => ({ ok: true }))
  await app.register(fastifyDirectorySync, { db: mem, externalUrl, openapi: { securityScheme: 'bearerAuth' }, ...options })
  await app.ready()
  return { app, doc: app.swagger() as unknown as Doc }
}

const errors = (...more: number[]) => [400, 401, 403, 429, 503, ...more]
const withBody = [413, 415]
const sorted = (statuses: number[]) => [...statuses].sort((a, b) => a - b).map(String)

const resource = (collection: string) => ({
  [`GET ${BASE}/${collection}`]: sorted([200, ...errors()]),
  [`POST ${BASE}/${collection}`]: sorted([201, ...errors(409), ...withBody]),
  [`POST ${BASE}/${collection}/.search`]: sorted([200, ...errors(), ...withBody]),
  [`GET ${BASE}/${collection}/{id}`]: sorted([200, ...errors(404)]),
  [`PUT ${BASE}/${collection}/{id}`]: sorted([200, ...errors(404, 409), ...withBody]),
  [`PATCH ${BASE}/${collection}/{id}`]: sorted([200, 204, ...errors(404, 409), ...withBody]),
  [`DELETE ${BASE}/${collection}/{id}`]: sorted([204, ...errors(404)])
})

const EXPECTED: Record<string, string[]> = {
  [`GET ${BASE}/ServiceProviderConfig`]: sorted([200, ...errors()]),
  [`GET ${BASE}/ResourceTypes`]: sorted([200, ...errors()]),
  [`GET ${BASE}/ResourceTypes/{name}`]: sorted([200, ...errors(404)]),
  [`GET ${BASE}/Schemas`]: sorted([200, ...errors()]),
  [`GET ${BASE}/Schemas/{name}`]: sorted([200, ...errors(404)]),
  ...resource('Users'),
  ...resource('Groups')
}

function operations (doc: Doc): Map<string, any> {
  const found = new Map<string, any>()
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(item)) found.set(`${method.toUpperCase()} ${path}`, operation)
  }
  return found
}

t.test('the document holds exactly the real SCIM operations, each fully described', async (t) => {
  const { doc } = await build(t)
  const found = operations(doc)
  found.delete('GET /health')
  t.same([...found.keys()].sort(), Object.keys(EXPECTED).sort(), 'no 405 fallback, alias, /Me, /Bulk or root .search')
  t.equal(found.size, 19)

  for (const [name, operation] of found) {
    t.same(Object.keys(operation.responses).sort(), EXPECTED[name], `${name}: its statuses`)
    t.same(operation.tags, ['SCIM'], `${name}: tagged SCIM`)
    t.same(operation.security, [{ bearerAuth: [] }], `${name}: bearer token`)
    t.type(operation.summary, 'string', `${name}: a summary`)
    for (const [status, response] of Object.entries<any>(operation.responses)) {
      if (status === '204') {
        t.equal(response.content, undefined, `${name} ${status}: no body`)
        continue
      }
      t.same(Object.keys(response.content), [SCIM], `${name} ${status}: answered as ${SCIM}`)
      t.ok(response.description.length > 0)
      if (Number(status) >= 400) {
        const schema = response.content[SCIM].schema
        t.same(schema.required, ['schemas', 'status'], `${name} ${status}: the RFC 7644 §3.12 error`)
        t.equal(schema.properties.status.type, 'string', 'status is a string')
        t.ok(schema.properties.scimType && schema.properties.detail)
      }
    }
    const method = name.split(' ')[0]
    const withRequestBody = method === 'PUT' || method === 'PATCH' || (method === 'POST')
    if (withRequestBody) {
      t.same(Object.keys(operation.requestBody.content), [SCIM], `${name}: takes ${SCIM}`)
    } else {
      t.equal(operation.requestBody, undefined, `${name}: no request body`)
    }
    const query = (operation.parameters ?? []).filter((p: any) => p.in === 'query').map((p: any) => p.name).sort()
    if (/^GET .*\/(Users|Groups)$/.test(name)) {
      t.same(query, ['attributes', 'count', 'excludedAttributes', 'filter', 'sortBy', 'sortOrder', 'startIndex'], `${name}: a listing's parameters`)
    } else if (/^GET .*\{id\}$/.test(name)) {
      t.same(query, ['attributes', 'excludedAttributes'], `${name}: attributes and excludedAttributes only`)
    } else {
      t.same(query, [], `${name}: no query parameters`)
    }
  }

  const body = (name: string) => operations(doc).get(name).requestBody.content[SCIM].schema
  t.same(body(`POST ${BASE}/Users`).required, ['userName'], 'POST /Users takes a User')
  t.ok(body(`PUT ${BASE}/Users/{id}`).properties['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'], 'with its enterprise extension')
  t.same(body(`POST ${BASE}/Groups`).required, ['displayName'], 'POST /Groups takes a Group')
  t.same(body(`PATCH ${BASE}/Groups/{id}`).required, ['Operations'], 'PATCH takes a PatchOp')
  t.ok(body(`POST ${BASE}/Users/.search`).properties.filter, '.search takes a SearchRequest')
  const list = found.get(`GET ${BASE}/Users`).responses['200'].content[SCIM].schema
  t.same(list.required, ['schemas', 'totalResults', 'startIndex', 'itemsPerPage', 'Resources'], 'a ListResponse')
  t.ok(list.properties.Resources.items.properties.userName, 'of Users')
  t.ok(found.get(`POST ${BASE}/Users`).responses['201'].headers.Location, '201 says where the resource is')

  await SwaggerParser.validate(structuredClone(doc) as any)
  t.pass('a valid OpenAPI document')
})

t.test('by default the operations name no security scheme, so a host that declares none still gets a document', async (t) => {
  const app = Fastify({ logger: false })
  t.after(() => app.close())
  await app.register(fastifySwagger, { openapi: { info: { title: 'host', version: '1.0.0' } } })
  await app.register(fastifyDirectorySync, { db: mem, externalUrl })
  await app.ready()
  const doc = app.swagger() as unknown as Doc
  const found = operations(doc)
  t.equal(found.size, Object.keys(EXPECTED).length, 'every operation is documented')
  t.ok([...found.values()].every((operation) => operation.security === undefined), 'none with a security requirement')
  await SwaggerParser.validate(structuredClone(doc) as any)
  t.pass('the document is valid')
})

t.test('openapi: false leaves every SCIM route out of the document', async (t) => {
  const { doc } = await build(t, { openapi: false })
  t.same([...operations(doc).keys()], ['GET /health'], 'only the host\'s own route')
  await SwaggerParser.validate(structuredClone(doc) as any)
})

t.test('the documenting schemas do not validate, coerce or strip: bodies and answers are as without them', async (t) => {
  const { app } = await build(t)
  const scim = await openDirectory(app, 'openapi')
  // Fastify's Ajv would coerce 42 to "42" had it validated the body with the documenting schema: the
  // plugin's own validation, after normalisation, refuses it as it always did.
  const coerced = await scim.send('POST', '/Users', scimUser('ann@example.com', { externalId: 42 }))
  isScimError(t, coerced, 400, 'invalidValue')
  t.equal(coerced.json().detail, 'User: externalId: Expected string', 'refused by the plugin, not by Fastify')
  // Entra's "True" (normalised by dialects.ts), attributes no schema describes.
  const created = await scim.send('POST', '/Users', scimUser('ann@example.com', { active: 'True', 'urn:x:custom': { k: 1 }, extra: 'kept' }))
  t.equal(created.statusCode, 201)
  t.equal(created.json().active, true)
  const user = created.json()
  t.equal(user.extra, 'kept', 'an attribute no schema describes is answered')
  t.same(user['urn:x:custom'], { k: 1 })
  const read = await scim.send('GET', `/Users/${user.id}`)
  t.equal(read.json().extra, 'kept')
  const patched = await scim.send('PATCH', `/Users/${user.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] })
  t.equal(patched.statusCode, 200)
  t.equal(patched.json().active, false, 'the PATCH reached the PATCH engine as sent')
  // Validation after normalisation still answers as before.
  isScimError(t, await scim.send('POST', '/Groups', { displayName: 5 }), 400, 'invalidValue')
  isScimError(t, await scim.send('PATCH', `/Users/${user.id}`, { Operations: [] }), 400, 'invalidValue')
  // The query string is checked as before.
  isScimError(t, await scim.send('GET', '/Users?count=abc'), 400, 'invalidValue')
  isScimError(t, await scim.send('GET', '/Users?count=1&count=2'), 400, 'invalidValue')
  isScimError(t, await scim.send('PATCH', `/Users/${user.id}?filter=a&filter=b`, { Operations: [{ op: 'add', path: 'title', value: 'x' }] }), 400, 'invalidValue')
  t.equal((await scim.send('DELETE', `/Users/${user.id}?attributes=userName`)).statusCode, 204)
})

t.test('a search at the root (RFC 7644 §3.4.3) answers 501 in SCIM format', async (t) => {
  const { app } = await build(t)
  const scim = await openDirectory(app, 'openapi')
  const res = await scim.send('POST', '/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: 'userName pr' })
  isScimError(t, res, 501)
  t.equal(res.json().detail, 'Not implemented')
  t.equal((await app.inject({ method: 'POST', url: `${scim.base}/.search`, payload: {} })).statusCode, 401, 'after the bearer token, as every SCIM route')
})
