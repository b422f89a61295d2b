import t from 'tap'
import {
  ATTRIBUTE_TYPES,
  ENTERPRISE_USER_SCHEMA,
  ERROR_SCHEMA,
  GROUP_SCHEMA,
  LIST_RESPONSE_SCHEMA,
  MAX_RESULTS,
  MUTABILITIES,
  PATCH_OP_SCHEMA,
  RESOURCE_TYPE_SCHEMA,
  RETURNED,
  SCHEMA_SCHEMA,
  SERVICE_PROVIDER_CONFIG_SCHEMA,
  UNIQUENESSES,
  USER_SCHEMA,
  listResponse,
  resourceType,
  resourceTypes,
  schema,
  schemas,
  serviceProviderConfig
} from '../../src/scim/discovery.js'
import type { AttributeDefinition, SchemaResource } from '../../src/scim/discovery.js'

const BASE = 'https://sso.example.com/api/scim/v2.0/dir_1'

function find (attributes: AttributeDefinition[] | undefined, name: string): AttributeDefinition {
  const found = attributes?.find(a => a.name === name)
  if (found === undefined) throw new Error(`no attribute ${name}`)
  return found
}

function userSchema (): SchemaResource {
  const s = schema(BASE, USER_SCHEMA)
  if (s === undefined) throw new Error('no User schema')
  return s
}

t.test('URN constants', async t => {
  t.equal(USER_SCHEMA, 'urn:ietf:params:scim:schemas:core:2.0:User')
  t.equal(GROUP_SCHEMA, 'urn:ietf:params:scim:schemas:core:2.0:Group')
  t.equal(ENTERPRISE_USER_SCHEMA, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User')
  t.equal(LIST_RESPONSE_SCHEMA, 'urn:ietf:params:scim:api:messages:2.0:ListResponse')
  t.equal(ERROR_SCHEMA, 'urn:ietf:params:scim:api:messages:2.0:Error')
  t.equal(PATCH_OP_SCHEMA, 'urn:ietf:params:scim:api:messages:2.0:PatchOp')
  t.equal(SERVICE_PROVIDER_CONFIG_SCHEMA, 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig')
  t.equal(RESOURCE_TYPE_SCHEMA, 'urn:ietf:params:scim:schemas:core:2.0:ResourceType')
  t.equal(SCHEMA_SCHEMA, 'urn:ietf:params:scim:schemas:core:2.0:Schema')
  t.equal(MAX_RESULTS, 1000)
})

t.test('serviceProviderConfig', async t => {
  const config = serviceProviderConfig(BASE)
  t.same(config, {
    schemas: [SERVICE_PROVIDER_CONFIG_SCHEMA],
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: 1000 },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: false },
    authenticationSchemes: [{
      type: 'oauthbearertoken',
      name: 'OAuth Bearer Token',
      description: 'Authentication scheme using the OAuth Bearer Token Standard',
      specUri: 'http://www.rfc-editor.org/info/rfc6750',
      primary: true
    }],
    meta: { resourceType: 'ServiceProviderConfig', location: `${BASE}/ServiceProviderConfig` }
  })
  // Strict: numbers and booleans, not strings.
  t.equal(config.filter.maxResults, 1000)
  t.equal(config.bulk.maxOperations, 0)
  t.equal(config.patch.supported, true)
})

t.test('a trailing slash on the base URL does not double up in locations', async t => {
  t.equal(serviceProviderConfig(`${BASE}/`).meta.location, `${BASE}/ServiceProviderConfig`)
  t.equal(resourceTypes(`${BASE}//`)[0].meta.location, `${BASE}/ResourceTypes/User`)
  t.equal(schemas(`${BASE}/`)[0].meta.location, `${BASE}/Schemas/${USER_SCHEMA}`)
})

t.test('resourceTypes', async t => {
  const types = resourceTypes(BASE)
  t.equal(types.length, 2)
  t.same(types[0], {
    schemas: [RESOURCE_TYPE_SCHEMA],
    id: 'User',
    name: 'User',
    endpoint: '/Users',
    description: 'User Account',
    schema: USER_SCHEMA,
    schemaExtensions: [{ schema: ENTERPRISE_USER_SCHEMA, required: false }],
    meta: { resourceType: 'ResourceType', location: `${BASE}/ResourceTypes/User` }
  })
  t.same(types[1], {
    schemas: [RESOURCE_TYPE_SCHEMA],
    id: 'Group',
    name: 'Group',
    endpoint: '/Groups',
    description: 'Group',
    schema: GROUP_SCHEMA,
    meta: { resourceType: 'ResourceType', location: `${BASE}/ResourceTypes/Group` }
  })
  // Every schema a resource type names is served by /Schemas.
  const served = schemas(BASE).map(s => s.id)
  for (const rt of types) {
    t.ok(served.includes(rt.schema), `${rt.schema} served`)
    for (const ext of rt.schemaExtensions ?? []) t.ok(served.includes(ext.schema), `${ext.schema} served`)
  }
})

t.test('resourceType lookup', async t => {
  t.equal(resourceType(BASE, 'User')?.endpoint, '/Users')
  t.equal(resourceType(BASE, 'Group')?.endpoint, '/Groups')
  t.equal(resourceType(BASE, 'user'), undefined, 'ids are caseExact')
  t.equal(resourceType(BASE, 'Device'), undefined)
  t.equal(resourceType(BASE, ''), undefined)
})

t.test('schemas: shapes', async t => {
  const list = schemas(BASE)
  t.same(list.map(s => s.id), [USER_SCHEMA, GROUP_SCHEMA, ENTERPRISE_USER_SCHEMA])
  t.same(list.map(s => s.name), ['User', 'Group', 'EnterpriseUser'])
  for (const s of list) {
    t.same(s.schemas, [SCHEMA_SCHEMA])
    t.type(s.description, 'string')
    t.ok(s.attributes.length > 0)
    t.same(s.meta, { resourceType: 'Schema', location: `${BASE}/Schemas/${s.id}` })
    // id, externalId and meta are common attributes, not part of any schema (RFC 7643 §3).
    for (const common of ['id', 'externalId', 'meta']) {
      t.notOk(s.attributes.some(a => a.name === common), `${s.name} does not list ${common}`)
    }
  }
  t.same(userSchema().attributes.map(a => a.name), [
    'userName', 'name', 'displayName', 'nickName', 'profileUrl', 'title', 'userType',
    'preferredLanguage', 'locale', 'timezone', 'active', 'password', 'emails', 'phoneNumbers',
    'ims', 'photos', 'addresses', 'groups', 'entitlements', 'roles', 'x509Certificates'
  ])
  t.same(schema(BASE, GROUP_SCHEMA)?.attributes.map(a => a.name), ['displayName', 'members'])
  t.same(schema(BASE, ENTERPRISE_USER_SCHEMA)?.attributes.map(a => a.name),
    ['employeeNumber', 'costCenter', 'organization', 'division', 'department', 'manager'])
})

t.test('schemas: every attribute definition has valid characteristics', async t => {
  const problems: string[] = []
  let checked = 0
  const expect = (ok: boolean, what: string): void => { if (!ok) problems.push(what) }
  const oneOf = (values: readonly string[], value: unknown): boolean => typeof value === 'string' && values.includes(value)

  function check (attribute: AttributeDefinition, where: string, depth: number): void {
    const path = `${where}.${attribute.name}`
    checked++
    expect(typeof attribute.name === 'string' && attribute.name.length > 0, `${path}: name`)
    expect(oneOf(ATTRIBUTE_TYPES, attribute.type), `${path}: type ${attribute.type}`)
    expect(typeof attribute.multiValued === 'boolean', `${path}: multiValued`)
    expect(typeof attribute.description === 'string' && attribute.description.length > 0, `${path}: description`)
    expect(typeof attribute.required === 'boolean', `${path}: required`)
    expect(typeof attribute.caseExact === 'boolean', `${path}: caseExact`)
    expect(oneOf(MUTABILITIES, attribute.mutability), `${path}: mutability ${attribute.mutability}`)
    expect(oneOf(RETURNED, attribute.returned), `${path}: returned ${attribute.returned}`)
    expect(oneOf(UNIQUENESSES, attribute.uniqueness), `${path}: uniqueness ${attribute.uniqueness}`)
    if (attribute.canonicalValues !== undefined) {
      expect(attribute.canonicalValues.every(v => typeof v === 'string'), `${path}: canonicalValues`)
    }
    // referenceTypes belong to, and are needed by, reference attributes only.
    expect((attribute.type === 'reference') === (attribute.referenceTypes !== undefined && attribute.referenceTypes.length > 0),
      `${path}: referenceTypes`)
    if (attribute.type === 'complex') {
      // RFC 7643 §2.3.8: a complex attribute has sub-attributes, and they are not complex.
      expect((attribute.subAttributes?.length ?? 0) > 0, `${path}: subAttributes`)
      expect(depth === 0, `${path}: complex below the top level`)
      for (const sub of attribute.subAttributes ?? []) check(sub, path, depth + 1)
    } else {
      expect(attribute.subAttributes === undefined, `${path}: subAttributes on a ${attribute.type}`)
    }
  }

  for (const s of schemas(BASE)) {
    const names = s.attributes.map(a => a.name)
    expect(new Set(names).size === names.length, `${s.name}: duplicate attribute names`)
    for (const a of s.attributes) check(a, s.name, 0)
  }
  t.same(problems, [])
  // User 21 + 45 sub-attributes, Group 2 + 3, EnterpriseUser 6 + 3 (RFC 7643 §8.7.1).
  t.equal(checked, 80)
})

t.test('schemas: characteristics the server relies on', async t => {
  const user = userSchema().attributes
  const userName = find(user, 'userName')
  t.equal(userName.type, 'string')
  t.equal(userName.required, true)
  t.equal(userName.caseExact, false)
  t.equal(userName.uniqueness, 'server')

  const password = find(user, 'password')
  t.equal(password.returned, 'never')
  t.equal(password.mutability, 'writeOnly')

  t.equal(find(user, 'active').type, 'boolean')
  t.equal(find(user, 'groups').mutability, 'readOnly')
  t.equal(find(user, 'emails').multiValued, true)
  t.same(find(find(user, 'emails').subAttributes, 'type').canonicalValues, ['work', 'home', 'other'])
  t.same(find(find(user, 'groups').subAttributes, '$ref').referenceTypes, ['User', 'Group'])
  t.equal(find(find(user, 'x509Certificates').subAttributes, 'value').type, 'binary')
  t.same(find(user, 'profileUrl').referenceTypes, ['external'])

  const group = schema(BASE, GROUP_SCHEMA)?.attributes
  t.equal(find(group, 'displayName').required, true)
  const members = find(group, 'members')
  t.equal(members.multiValued, true)
  t.same(members.subAttributes?.map(a => a.name), ['value', '$ref', 'type'])
  t.equal(find(members.subAttributes, 'value').mutability, 'immutable')

  const manager = find(schema(BASE, ENTERPRISE_USER_SCHEMA)?.attributes, 'manager')
  t.equal(manager.type, 'complex')
  t.equal(manager.multiValued, false)
  t.same(find(manager.subAttributes, '$ref').referenceTypes, ['User'])
  t.equal(find(manager.subAttributes, 'displayName').mutability, 'readOnly')
})

t.test('schema lookup', async t => {
  t.equal(schema(BASE, USER_SCHEMA)?.name, 'User')
  t.equal(schema(BASE, GROUP_SCHEMA)?.name, 'Group')
  t.equal(schema(BASE, ENTERPRISE_USER_SCHEMA)?.name, 'EnterpriseUser')
  t.equal(schema(BASE, 'urn:ietf:params:scim:schemas:core:2.0:Device'), undefined)
  t.equal(schema(BASE, 'User'), undefined, 'looked up by URN, not name')
  t.equal(schema(BASE, ''), undefined)
})

t.test('each call returns fresh documents', async t => {
  const first = schemas(BASE)
  first[0].attributes[0].required = false
  first[0].attributes.length = 0
  t.equal(find(userSchema().attributes, 'userName').required, true)
  const config = serviceProviderConfig(BASE)
  config.patch.supported = false
  t.equal(serviceProviderConfig(BASE).patch.supported, true)
})

t.test('the documents survive JSON', async t => {
  for (const doc of [serviceProviderConfig(BASE), ...resourceTypes(BASE), ...schemas(BASE)]) {
    t.same(JSON.parse(JSON.stringify(doc)), doc)
  }
})

t.test('listResponse', async t => {
  const page = listResponse([{ id: 'a' }, { id: 'b' }], 42, 11)
  t.same(page, {
    schemas: [LIST_RESPONSE_SCHEMA],
    totalResults: 42,
    startIndex: 11,
    itemsPerPage: 2,
    Resources: [{ id: 'a' }, { id: 'b' }]
  })
  t.equal(typeof page.totalResults, 'number')
  t.equal(typeof page.startIndex, 'number')
  t.equal(typeof page.itemsPerPage, 'number')

  t.same(listResponse(['x', 'y', 'z']), {
    schemas: [LIST_RESPONSE_SCHEMA],
    totalResults: 3,
    startIndex: 1,
    itemsPerPage: 3,
    Resources: ['x', 'y', 'z']
  }, 'defaults: total = page size, startIndex 1')

  t.same(listResponse([], 0), {
    schemas: [LIST_RESPONSE_SCHEMA],
    totalResults: 0,
    startIndex: 1,
    itemsPerPage: 0,
    Resources: []
  }, 'empty result (Okta lookup miss)')

  t.same(listResponse([], 5, 10), {
    schemas: [LIST_RESPONSE_SCHEMA],
    totalResults: 5,
    startIndex: 10,
    itemsPerPage: 0,
    Resources: []
  }, 'a page past the end')
})
