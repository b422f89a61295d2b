import { readdirSync, readFileSync } from 'node:fs'
import t from 'tap'
import Fastify from 'fastify'
import { Value } from '@sinclair/typebox/value'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { TSchema } from '@sinclair/typebox'
import {
  DirectoryParams,
  ListQuery,
  ListResponse,
  Meta,
  PatchOp,
  ResourceParams,
  ScimErrorBody,
  ScimGroup,
  ScimGroupCreate,
  ScimGroupResource,
  ScimUser,
  ScimUserCreate,
  ScimUserResource
} from '../../src/scim/schemas.js'
import {
  ENTERPRISE_USER_SCHEMA,
  ERROR_SCHEMA,
  GROUP_SCHEMA,
  PATCH_OP_SCHEMA,
  USER_SCHEMA,
  listResponse
} from '../../src/scim/discovery.js'

// The subtest type, as tap hands it to a callback.
type Asserts = Parameters<Parameters<typeof t.test>[0]>[0]

function valid (t: Asserts, schema: TSchema, value: unknown, message: string): void {
  const errors = [...Value.Errors(schema, value)].map(e => `${e.path}: ${e.message}`)
  t.same(errors, [], message)
}

function invalid (t: Asserts, schema: TSchema, value: unknown, message: string): void {
  t.notOk(Value.Check(schema, value), message)
}

const LEGACY_ENTRA_GROUP = 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group'

// Okta's create body: password, groups: [], locale, externalId.
const oktaUser = {
  schemas: [USER_SCHEMA],
  userName: 'priya.raman@example.com',
  name: { givenName: 'Priya', familyName: 'Raman' },
  emails: [{ primary: true, value: 'priya.raman@example.com', type: 'work' }],
  displayName: 'Priya Raman',
  locale: 'en-US',
  externalId: '00u7kq3ZtP2wXnB4h5d7',
  groups: [],
  password: 't8Vq2mLs',
  active: true
}

// Entra's create body: enterprise extension, meta.resourceType, roles: [].
const entraUser = {
  schemas: [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
  externalId: 'iduarte',
  userName: 'ines.duarte@example.org',
  active: true,
  displayName: 'Inês Duarte',
  emails: [{ primary: true, type: 'work', value: 'ines.duarte@example.org' }],
  meta: { resourceType: 'User' },
  name: { formatted: 'Inês Duarte', familyName: 'Duarte', givenName: 'Inês' },
  roles: [],
  [ENTERPRISE_USER_SCHEMA]: { employeeNumber: 'E-10033', department: 'Treasury' }
}

// OneLogin: emails as a single object.
const oneLoginUser = {
  schemas: [USER_SCHEMA],
  userName: 'olu.adebayo@example.net',
  name: { givenName: 'Olu', familyName: 'Adebayo', formatted: 'Olu Adebayo' },
  emails: { value: 'olu.adebayo@example.net', type: 'work', primary: true }
}

const oktaGroup = {
  schemas: [GROUP_SCHEMA],
  displayName: 'Field Engineering',
  members: [
    { value: '6e1f2c4a-1b7d-4a0e-9c55-3f9b7e2d8a11', display: 'tomas.herrera@example.com' },
    { value: '0b9d7e21-54c3-4f8a-a2e6-9d1c3b5f7e02', display: 'meilin.chua@example.com' }
  ]
}

const entraGroup = {
  schemas: [GROUP_SCHEMA, LEGACY_ENTRA_GROUP],
  externalId: '5b0e3c8a-71d2-4f69-9a0b-c4e7d21f8a36',
  displayName: 'Finance Approvers',
  meta: { resourceType: 'Group' }
}

const oktaPatches = [
  { schemas: [PATCH_OP_SCHEMA], Operations: [{ op: 'replace', value: { active: false } }] },
  { schemas: [PATCH_OP_SCHEMA], Operations: [{ op: 'replace', value: { id: 'g1', displayName: 'Field Engineering EMEA' } }] },
  { schemas: [PATCH_OP_SCHEMA], Operations: [{ op: 'remove', path: 'members[value eq "u1"]' }] },
  { schemas: [PATCH_OP_SCHEMA], Operations: [{ op: 'add', path: 'members', value: [{ value: 'u2', display: 'meilin.chua@example.com' }] }] }
]

const entraPatches = [
  { schemas: [PATCH_OP_SCHEMA], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] },
  {
    schemas: [PATCH_OP_SCHEMA],
    Operations: [
      { op: 'Replace', path: 'emails[type eq "work"].value', value: 'grace.okafor-adeyemi@example.org' },
      { op: 'Replace', path: 'name.familyName', value: 'Okafor-Adeyemi' },
      { op: 'Replace', path: `${ENTERPRISE_USER_SCHEMA}:employeeNumber`, value: 'E-20418' }
    ]
  },
  { schemas: [PATCH_OP_SCHEMA], Operations: [{ op: 'Add', path: `${ENTERPRISE_USER_SCHEMA}:manager`, value: 'manager-id' }] },
  { schemas: [PATCH_OP_SCHEMA], Operations: [{ op: 'Add', path: 'members', value: [{ $ref: null, value: 'u1' }] }] },
  { schemas: [PATCH_OP_SCHEMA], Operations: [{ op: 'Remove', path: 'members', value: [{ value: 'u2' }] }] },
  {
    schemas: [PATCH_OP_SCHEMA],
    Operations: [{ op: 'replace', value: { 'name.givenName': 'Mateo', [`${ENTERPRISE_USER_SCHEMA}:employeeNumber`]: 'E-31207' } }]
  }
]

const meta = {
  resourceType: 'User',
  created: '2024-05-01T10:00:00.000Z',
  lastModified: '2024-05-02T10:00:00.000Z',
  location: 'https://sso.example.com/scim/v2/Users/u1'
}

t.test('users from real providers validate', async t => {
  for (const [name, body] of [['Okta', oktaUser], ['Entra', entraUser], ['OneLogin', oneLoginUser]] as const) {
    valid(t, ScimUserCreate, body, `${name} create body`)
    valid(t, ScimUser, body, `${name} body as ScimUser`)
  }
  valid(t, ScimUserCreate, {
    ...oktaUser,
    id: 'u1',
    meta: { resourceType: 'User' },
    name: { givenName: 'Priya', middleName: 'Lakshmi', familyName: 'Raman' },
    emails: [{ primary: true, value: 'priya.raman@example.com', type: 'work', display: 'priya.raman@example.com' }]
  }, 'Okta PUT body with id and meta')
  valid(t, ScimUserCreate, {
    userName: 'full@example.com',
    phoneNumbers: [{ value: '+44 113 496 0712', type: 'work' }],
    addresses: [{ type: 'work', formatted: 'Floor 3, 9 Quayside', primary: true }],
    roles: [{ value: 'Admin', primary: 'True', type: 'WindowsAzureActiveDirectoryRole' }],
    [ENTERPRISE_USER_SCHEMA]: { manager: 'manager-id' },
    'urn:example:custom:2.0:User': { badge: 7 },
    favouriteColour: 'teal'
  }, 'multi-valued attributes, string primary, bare manager id, custom keys')
  valid(t, ScimUserCreate, { userName: 'm@example.com', [ENTERPRISE_USER_SCHEMA]: { manager: { value: 'mgr', $ref: '../Users/mgr' } } },
    'manager as an object')
})

t.test('invalid users fail', async t => {
  const { userName, ...withoutUserName } = oktaUser
  t.equal(userName, 'priya.raman@example.com')
  invalid(t, ScimUserCreate, withoutUserName, 'no userName')
  valid(t, ScimUser, withoutUserName, 'ScimUser alone does not require userName')
  invalid(t, ScimUserCreate, { ...oktaUser, userName: '' }, 'empty userName')
  invalid(t, ScimUserCreate, { ...oktaUser, userName: 42 }, 'numeric userName')
  invalid(t, ScimUserCreate, { ...oktaUser, active: 'True' }, 'string active in a POST/PUT body')
  invalid(t, ScimUserCreate, { ...oktaUser, emails: 'priya@example.com' }, 'emails as a bare string')
  invalid(t, ScimUserCreate, { ...oktaUser, schemas: USER_SCHEMA }, 'schemas not an array')
  invalid(t, ScimUserCreate, { ...oktaUser, name: 'Priya Raman' }, 'name not an object')
  invalid(t, ScimUserCreate, null, 'null body')
})

t.test('groups from real providers validate', async t => {
  valid(t, ScimGroup, oktaGroup, 'Okta group push with members')
  valid(t, ScimGroup, { schemas: [GROUP_SCHEMA], displayName: 'Empty', members: [] }, 'Okta group with members: []')
  valid(t, ScimGroup, entraGroup, 'Entra group with the legacy ADSCIM schema')
  valid(t, ScimGroup, { displayName: 'G', members: [{ value: 'u1', $ref: null }, { value: 'u2', $ref: 'https://x/Users/u2', type: 'User' }] },
    '$ref null or a string')
  t.equal(ScimGroupCreate, ScimGroup)
})

t.test('invalid groups fail', async t => {
  invalid(t, ScimGroup, { schemas: [GROUP_SCHEMA], members: [] }, 'no displayName')
  invalid(t, ScimGroup, { displayName: '' }, 'empty displayName')
  invalid(t, ScimGroup, { displayName: 'G', members: [{ display: 'no value' }] }, 'member without value')
  invalid(t, ScimGroup, { displayName: 'G', members: { value: 'u1' } }, 'members not an array')
  invalid(t, ScimGroup, { displayName: 'G', members: [{ value: 'u1', $ref: 5 }] }, '$ref a number')
})

t.test('PatchOps from real providers validate', async t => {
  for (const body of oktaPatches) valid(t, PatchOp, body, `Okta ${JSON.stringify(body.Operations)}`)
  for (const body of entraPatches) valid(t, PatchOp, body, `Entra ${JSON.stringify(body.Operations)}`)
  valid(t, PatchOp, { Operations: [{ op: 'remove', path: 'nickName' }] }, 'schemas may be omitted')
  valid(t, PatchOp, { Operations: [{ op: 'whatever' }] }, 'op is any string; checked later')
})

t.test('invalid PatchOps fail', async t => {
  invalid(t, PatchOp, { schemas: [PATCH_OP_SCHEMA] }, 'no Operations')
  invalid(t, PatchOp, { schemas: [PATCH_OP_SCHEMA], Operations: [] }, 'empty Operations')
  invalid(t, PatchOp, { schemas: [PATCH_OP_SCHEMA], operations: [{ op: 'add', value: {} }] }, 'lowercase operations key')
  invalid(t, PatchOp, { Operations: [{ path: 'active', value: false }] }, 'operation without op')
  invalid(t, PatchOp, { Operations: [{ op: 'add', path: 5 }] }, 'non-string path')
  invalid(t, PatchOp, { Operations: { op: 'add' } }, 'Operations not an array')
})

t.test('every provider request in the fixtures validates', async t => {
  const dir = new URL('../fixtures/idp/', import.meta.url)
  let checked = 0
  for (const file of readdirSync(dir).filter(f => f.endsWith('.json'))) {
    const fixture = JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as {
      steps: Array<{ name: string, request: { method: string, path: string, body?: unknown }, expect: { status: number } }>
    }
    for (const step of fixture.steps) {
      const { method, path, body } = step.request
      // Requests the server must refuse are not ours to accept.
      if (body === undefined || step.expect.status >= 400) continue
      const resource = path.startsWith('/Groups') ? 'group' : 'user'
      const schema = method === 'PATCH' ? PatchOp : resource === 'group' ? ScimGroup : ScimUserCreate
      valid(t, schema, body, `${file}: ${step.name}`)
      checked++
    }
  }
  t.ok(checked > 0, `checked ${checked} bodies`)
})

t.test('resources', async t => {
  valid(t, Meta, meta, 'meta without version')
  valid(t, Meta, { ...meta, version: 'W/"3"' }, 'meta with version')
  invalid(t, Meta, { resourceType: 'User', created: meta.created }, 'meta missing lastModified and location')

  valid(t, ScimUserResource, { ...oktaUser, id: 'u1', meta, [ENTERPRISE_USER_SCHEMA]: { department: 'X' } }, 'user resource')
  invalid(t, ScimUserResource, { ...oktaUser, meta }, 'user resource without id')
  invalid(t, ScimUserResource, { id: 'u1', userName: 'a', meta: { resourceType: 'User' } }, 'user resource with short meta')

  valid(t, ScimGroupResource, { ...oktaGroup, id: 'g1', meta: { ...meta, resourceType: 'Group' } }, 'group resource')
  invalid(t, ScimGroupResource, { ...oktaGroup, meta }, 'group resource without id')
})

t.test('ListResponse', async t => {
  const Users = ListResponse(ScimUserResource)
  valid(t, Users, listResponse([{ id: 'u1', userName: 'a', meta }], 7, 1), 'a page of users')
  valid(t, Users, listResponse([], 0), 'the empty lookup answer')
  invalid(t, Users, listResponse([{ id: 'u1', meta }]), 'an item without userName')
  invalid(t, Users, { ...listResponse([]), totalResults: '0' }, 'totalResults as a string')
  invalid(t, Users, { ...listResponse([]), startIndex: 1.5 }, 'non-integer startIndex')
  valid(t, ListResponse(ScimGroupResource), listResponse([{ id: 'g1', displayName: 'G', meta }]), 'a page of groups')
})

t.test('ScimErrorBody', async t => {
  valid(t, ScimErrorBody, { schemas: [ERROR_SCHEMA], status: '409', scimType: 'uniqueness', detail: 'userName taken' }, 'full error')
  valid(t, ScimErrorBody, { schemas: [ERROR_SCHEMA], status: '404' }, 'minimal error')
  invalid(t, ScimErrorBody, { schemas: [ERROR_SCHEMA], status: 404 }, 'numeric status')
  invalid(t, ScimErrorBody, { schemas: [PATCH_OP_SCHEMA], status: '400' }, 'wrong schema URN')
  invalid(t, ScimErrorBody, { schemas: [], status: '400' }, 'no schema URN')
  invalid(t, ScimErrorBody, { status: '400' }, 'no schemas')
})

t.test('query and params', async t => {
  valid(t, ListQuery, {}, 'no query')
  valid(t, ListQuery, {
    filter: 'userName eq "a@example.com"',
    startIndex: '1',
    count: '100',
    attributes: 'userName',
    excludedAttributes: 'members',
    sortBy: 'userName',
    sortOrder: 'ascending'
  }, 'every parameter')
  // The query string's text: the operations parse it as an integer (query.ts integerParam, tested in listing.test.ts).
  valid(t, ListQuery, { startIndex: '0', count: '-5' }, 'out-of-range values are left to the handler (RFC 7644 §3.4.2.4)')
  invalid(t, ListQuery, { startIndex: 1.5 }, 'a number where the query string has text')
  valid(t, DirectoryParams, { directoryId: 'd1' }, 'directory params')
  invalid(t, DirectoryParams, {}, 'no directoryId')
  valid(t, ResourceParams, { directoryId: 'd1', id: 'u1' }, 'resource params')
  invalid(t, ResourceParams, { directoryId: 'd1' }, 'no id')
})

// The schemas as Fastify's own Ajv and serialiser see them.
t.test('in a Fastify route', async t => {
  const app = Fastify().withTypeProvider<TypeBoxTypeProvider>()
  t.after(() => app.close())
  app.post('/:directoryId/Users', {
    schema: { params: DirectoryParams, body: ScimUserCreate, response: { 201: ScimUserResource } }
  }, async (request, reply) => {
    return reply.code(201).send({ ...request.body, id: 'u1', meta })
  })
  app.get('/:directoryId/Users', {
    schema: { params: DirectoryParams, querystring: ListQuery, response: { 200: ListResponse(ScimUserResource) } }
  }, async request => {
    // Paging parameters stay text here: the operations parse them (integerParam), so that 1e300 cannot pass as an integer.
    const { startIndex = '1', count = '0' } = request.query
    return { ...listResponse([{ id: 'u1', userName: 'a', meta, extra: true }], 1, Number(startIndex)), itemsPerPage: Number(count) }
  })
  app.get('/:directoryId/Users/:id', {
    schema: { params: ResourceParams, response: { 404: ScimErrorBody } }
  }, async (request, reply) => {
    return reply.code(404).send({ schemas: [ERROR_SCHEMA], status: '404', detail: `${request.params.id} not found` })
  })

  const created = await app.inject({ method: 'POST', url: '/d1/Users', payload: entraUser })
  t.equal(created.statusCode, 201)
  const body = created.json()
  t.same(body[ENTERPRISE_USER_SCHEMA], entraUser[ENTERPRISE_USER_SCHEMA], 'extension kept through validation and serialisation')
  t.same(body.roles, [], 'unlisted attributes kept')
  t.equal(body.id, 'u1')
  t.equal(body.meta.location, meta.location)

  const single = await app.inject({ method: 'POST', url: '/d1/Users', payload: oneLoginUser })
  t.equal(single.statusCode, 201, 'single-object emails accepted by Ajv')

  const missing = await app.inject({ method: 'POST', url: '/d1/Users', payload: { emails: [] } })
  t.equal(missing.statusCode, 400, 'userName required')

  const list = await app.inject({ method: 'GET', url: '/d1/Users?startIndex=3&count=10&filter=userName%20eq%20%22a%22' })
  t.equal(list.statusCode, 200)
  t.match(list.json(), { startIndex: 3, itemsPerPage: 10, totalResults: 1, Resources: [{ id: 'u1', extra: true }] },
    'paging parameters read from the query string; item extras kept')

  const notFound = await app.inject({ method: 'GET', url: '/d1/Users/nope' })
  t.same(notFound.json(), { schemas: [ERROR_SCHEMA], status: '404', detail: 'nope not found' })
})
