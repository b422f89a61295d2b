// fast-check arbitraries for SCIM requests: what the fuzzer sends to the Users and Groups endpoints.
//
// A generated request is a *recipe* (GenRequest), not the bytes: small, JSON-serialisable, and shrunk
// by fast-check field by field. The bytes are made from it only when it is sent (harness.ts), so that
//  - a body nested 4,000 levels deep is `{ t: 'deep', depth: 4000 }` and shrinks as an integer (to the
//    smallest depth that still fails) instead of as a 4,000-level tree;
//  - a huge array is `{ t: 'huge', length }` and shrinks the same way;
//  - ids and member values refer to the model of created resources by index (`{{user:3}}`: the fourth
//    user alive at that moment, modulo how many there are), so a request still hits a real resource
//    after shrinking removed others before it.
// Objects whose keys matter (duplicates, `__proto__`, URN-qualified names) are `{ $o: [[key, value]] }`
// so that no JavaScript object semantics touch them before they are serialised.
import fc from 'fast-check'

export const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User'
export const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group'
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'
export const SEARCH = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest'
const ADSCIM = 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group'

// ---- the recipe types --------------------------------------------------------------------------------

/** A JSON value as it will be written: `$o` an object with its entries in order, `$n` a number literal. */
export type J = null | boolean | number | string | J[] | { $o: Array<[string, J]> } | { $n: string }

/** How a body is made. */
export type Body =
  | { t: 'json', v: J }
  | { t: 'deep', depth: number, shape: 'array' | 'object' | 'mixed', inside: 'root' | 'attribute' | 'patch' | 'search' }
  | { t: 'huge', length: number, item: J, inside: 'root' | 'attribute' | 'members' | 'operations' | 'patch' | 'search' }
  | { t: 'raw', text: string }

export const ROUTES = [
  'GET /Users', 'POST /Users', 'GET /Groups', 'POST /Groups',
  'GET /Users/:id', 'PUT /Users/:id', 'PATCH /Users/:id', 'DELETE /Users/:id',
  'GET /Groups/:id', 'PUT /Groups/:id', 'PATCH /Groups/:id', 'DELETE /Groups/:id',
  'POST /Users/.search', 'POST /Groups/.search'
] as const
export type Route = typeof ROUTES[number] | 'other'

export const DIRECTORY_TYPES = ['generic-scim-v2', 'okta-scim-v2', 'azure-scim-v2', 'onelogin-scim-v2', 'jumpcloud-scim-v2'] as const
export type FuzzDirectoryType = typeof DIRECTORY_TYPES[number]

export interface GenRequest {
  route: Route
  method: string
  /** After the directory's base path, URL-encoded as sent; may hold {{user:N}} / {{group:N}} placeholders. */
  path: string
  /** The Content-Type header, or null for none (a body is then sent without one). */
  contentType: string | null
  auth: 'ok' | 'none' | 'wrong' | 'scheme'
  body?: Body
  /** Sent concurrently with the request before it: as generated, or as a copy of that one (a race on the same resource). */
  together?: 'with-previous' | 'copy-of-previous'
}

export interface GenRun {
  directoryType: FuzzDirectoryType
  /** null: a request that shrinking took out (generation never makes one). */
  requests: Array<GenRequest | null>
}

const o = (...entries: Array<[string, J] | undefined | null>): J => ({ $o: entries.filter((e): e is [string, J] => e != null) })
/** An entry only when `value` is not undefined (for optional attributes). */
const opt = (key: string, value: J | undefined): [string, J] | undefined => value === undefined ? undefined : [key, value]
const maybe = <T>(arb: fc.Arbitrary<T>, freq = 2) => fc.option(arb, { freq, nil: undefined })

// ---- strings -----------------------------------------------------------------------------------------

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c))

/** Strings an endpoint should survive: NUL, lone surrogates, folding corner cases, long, injection-shaped. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom('', ' ', '\u0000', 'a\u0000b', '\uD800', '\uDFFF', 'x\uD83D', '\uD83D\uDE00', 'ß', 'SS', 'İstanbul',
      'ﬁ', 'Σίσυφος', 'e\u0301', '\u202Eabc', '\uFEFF', 'null', 'true', '0', '-1', "' OR '1'='1", '"; DROP TABLE jackson_store; --',
      '%00', '\\', '"', '\n\r\t', '<script>alert(1)</script>', '../../etc/passwd', '$' + '{jndi:ldap://x}', 'NaN', 'Infinity', '__proto__',
      'constructor', 'prototype', 'toString', '\u0000'.repeat(3), 'a'.repeat(300))
  },
  { weight: 2, arbitrary: fc.string({ maxLength: 24 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
  { weight: 1, arbitrary: fc.tuple(fc.string({ maxLength: 8 }), loneSurrogate, fc.string({ maxLength: 8 })).map(([a, s, b]) => a + s + b) },
  { weight: 1, arbitrary: fc.tuple(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 })).map(([a, b]) => `${a}\u0000${b}`) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 70_000 }).map((n) => 'x'.repeat(n)) }
)

/** A string that is usually ordinary and now and then nasty. */
const text = (ordinary: fc.Arbitrary<string>) => fc.oneof({ weight: 6, arbitrary: ordinary }, { weight: 1, arbitrary: nastyString })

const givenNames = ['Priya', 'Mateo', 'Hana', 'Kwame', 'Olu', 'Inês', 'Grace', 'Tomás', 'Mei Lin', 'Σοφία', 'Straße']
const familyNames = ['Raman', 'Lindqvist', 'Sato', 'Mensah', 'Adebayo', 'Duarte', 'Okafor', 'Herrera', 'Chua']
const domains = ['example.com', 'example.org', 'example.net']

/** userNames that collide now and then (409) and differ only in case or Unicode form now and then. */
export const userNameArb: fc.Arbitrary<string> = text(fc.oneof(
  fc.tuple(fc.constantFrom(...givenNames), fc.constantFrom(...familyNames), fc.nat(30), fc.constantFrom(...domains))
    .map(([g, f, n, d]) => `${g}.${f}${n === 0 ? '' : n}@${d}`.toLowerCase().replace(/ /g, '')),
  fc.constantFrom('priya.raman@example.com', 'PRIYA.RAMAN@EXAMPLE.COM', 'olu.adebayo@example.net', 'strasse@example.com', 'STRASSE@example.com',
    'straße@example.com', 'é@example.com', 'e\u0301@example.com', 'ﬁ@example.com', 'FI@example.com')
))

const groupNames = ['Field Engineering', 'Finance Approvers', 'field engineering', 'FIELD ENGINEERING', 'Finance Approvers EMEA', 'Everyone', 'Straße', 'STRASSE']
export const displayNameArb: fc.Arbitrary<string> = text(fc.oneof(fc.constantFrom(...groupNames), fc.string({ minLength: 1, maxLength: 12 })))

// ---- any JSON, hostile keys included --------------------------------------------------------------------

const hostileKeys = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '', '\u0000', 'a\u0000', '\uD800', '$ref',
  'value', 'id', 'meta', 'schemas', 'userName', 'USERNAME', 'displayName', 'members', 'emails', 'active', 'name', 'name.givenName',
  `${CORE_USER}:userName`, `${CORE_USER}:name.givenName`, `${CORE_USER}:__proto__`, CORE_USER, ENTERPRISE, `${ENTERPRISE}:manager`,
  `${ENTERPRISE}:__proto__`, `${CORE_GROUP}:displayName`, 'urn:x:y', 'urn:', ':']
const keyArb = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...hostileKeys) }, { weight: 1, arbitrary: fc.string({ maxLength: 10 }) })

const numberLiterals = ['1e300', '1e400', '-1e400', '-0', '9223372036854775807', '-9223372036854775808', '1e-400', '0.1e1', '123456789012345678901234567890', '1.5']
export const numberArb: fc.Arbitrary<J> = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(...numberLiterals).map((n): J => ({ $n: n }))
)

const scalarArb: fc.Arbitrary<J> = fc.oneof(fc.constant(null), fc.boolean(), numberArb, nastyString)

export const anyJson: fc.Arbitrary<J> = fc.letrec<{ value: J, object: J, array: J }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true, maxDepth: 5 }, scalarArb, tie('object'), tie('array')),
  object: fc.array(fc.tuple(keyArb, tie('value')), { maxLength: 5 }).map((entries): J => ({ $o: entries })),
  array: fc.array(tie('value'), { maxLength: 5 })
})).value

/** A value of the wrong type for most attributes. */
const wrongType: fc.Arbitrary<J> = fc.oneof(scalarArb, anyJson, fc.constant([] as J), fc.constant(o()))

// ---- SCIM resources shaped like the providers' fixtures (test/fixtures/idp) ---------------------------

/** A user or group reference into the model: {{user:N}} is the N-th user alive (modulo their number). */
export const userRef = fc.nat(9).map((n) => `{{user:${n}}}`)
export const groupRef = fc.nat(9).map((n) => `{{group:${n}}}`)

const email = fc.record({
  primary: fc.oneof(fc.boolean(), fc.constantFrom('True', 'False', 'yes')),
  value: userNameArb,
  type: fc.constantFrom('work', 'home', 'other', 'Work')
}).map((e): J => o(['primary', e.primary], ['value', e.value], ['type', e.type]))

const enterprise = fc.record({
  employeeNumber: maybe(text(fc.nat(99999).map(String))),
  department: maybe(text(fc.constantFrom('Finance', 'Engineering', 'Sales'))),
  costCenter: maybe(fc.constantFrom('4130', 'CC-1')),
  manager: maybe(fc.oneof(userRef, userRef.map((ref): J => o(['value', ref])), fc.constant(o(['value', null])), wrongType))
}).map((e): J => o(opt('employeeNumber', e.employeeNumber), opt('department', e.department), opt('costCenter', e.costCenter), opt('manager', e.manager)))

const userSchemas = fc.oneof(
  { weight: 6, arbitrary: fc.constant([CORE_USER] as J) },
  { weight: 3, arbitrary: fc.constant([CORE_USER, ENTERPRISE] as J) },
  { weight: 1, arbitrary: wrongType }
)

/** A User body as Okta, Entra, OneLogin or JumpCloud send one, sometimes with attributes they should not. */
export const userBody: fc.Arbitrary<J> = fc.record({
  schemas: maybe(userSchemas, 10),
  externalId: maybe(text(fc.stringMatching(/^[a-z0-9-]{1,12}$/))),
  userName: maybe(userNameArb, 15),
  name: maybe(fc.record({
    givenName: text(fc.constantFrom(...givenNames)),
    familyName: text(fc.constantFrom(...familyNames)),
    formatted: maybe(fc.string({ maxLength: 20 })),
    middleName: maybe(fc.constantFrom('Lakshmi', null as unknown as string))
  }).map((n): J => o(['givenName', n.givenName], ['familyName', n.familyName], opt('formatted', n.formatted), opt('middleName', n.middleName))), 5),
  displayName: maybe(text(fc.constantFrom('Priya Raman', 'Mateo Lindqvist', 'Inês Duarte'))),
  emails: maybe(fc.oneof({ weight: 4, arbitrary: fc.array(email, { maxLength: 3 }) }, { weight: 1, arbitrary: email }), 5),
  active: maybe(fc.oneof(fc.boolean(), fc.constantFrom('True', 'False', 'true', 'yes', 1, null))),
  locale: maybe(fc.constantFrom('en-US', 'pt-PT', 'xx')),
  password: maybe(fc.constantFrom('t1meMa$heen', '')),
  groups: maybe(fc.oneof(fc.constant([] as J), fc.array(groupRef.map((ref): J => o(['value', ref])), { maxLength: 2 }))),
  phoneNumbers: maybe(fc.array(fc.record({ value: fc.constantFrom('+44 113 496 0712', '555-0100'), type: fc.constantFrom('work', 'mobile') })
    .map((p): J => o(['value', p.value], ['type', p.type])), { maxLength: 2 })),
  addresses: maybe(fc.array(fc.record({ formatted: fc.string({ maxLength: 30 }), type: fc.constantFrom('work', 'home'), country: fc.constantFrom('GB', null as unknown as string) })
    .map((a): J => o(['formatted', a.formatted], ['type', a.type], ['country', a.country])), { maxLength: 2 })),
  enterprise: maybe(enterprise),
  id: maybe(fc.oneof(userRef, fc.uuid())),
  meta: maybe(fc.constant(o(['resourceType', 'User'])))
}, { requiredKeys: [] }).map((u): J => o(
  opt('schemas', u.schemas), opt('externalId', u.externalId), opt('userName', u.userName), opt('name', u.name),
  opt('displayName', u.displayName), opt('emails', u.emails), opt('active', u.active), opt('locale', u.locale),
  opt('password', u.password), opt('groups', u.groups), opt('phoneNumbers', u.phoneNumbers), opt('addresses', u.addresses),
  opt(ENTERPRISE, u.enterprise), opt('id', u.id), opt('meta', u.meta)
))

const member = fc.record({
  value: fc.oneof({ weight: 6, arbitrary: userRef }, { weight: 1, arbitrary: groupRef }, { weight: 1, arbitrary: fc.uuid() }, { weight: 1, arbitrary: wrongType }),
  display: maybe(userNameArb),
  $ref: maybe(fc.constantFrom(null, 'https://example.com/Users/x')),
  type: maybe(fc.constantFrom('User', 'Group'))
}, { requiredKeys: ['value'] }).map((m): J => o(['value', m.value], opt('display', m.display), opt('$ref', m.$ref as J | undefined), opt('type', m.type)))

/** A Group body as the providers send one. */
export const groupBody: fc.Arbitrary<J> = fc.record({
  schemas: maybe(fc.oneof(fc.constant([CORE_GROUP] as J), fc.constant([CORE_GROUP, ADSCIM] as J), wrongType), 10),
  externalId: maybe(fc.oneof(fc.uuid(), nastyString)),
  displayName: maybe(displayNameArb, 15),
  members: maybe(fc.array(member, { maxLength: 4 })),
  id: maybe(groupRef),
  meta: maybe(fc.constant(o(['resourceType', 'Group'])))
}, { requiredKeys: [] }).map((g): J => o(
  opt('schemas', g.schemas), opt('externalId', g.externalId), opt('displayName', g.displayName), opt('members', g.members),
  opt('id', g.id), opt('meta', g.meta)
))

/** Extra entries appended to a body: wrong types, prototype keys, URN-qualified names, repeated keys. */
const mutations = fc.array(fc.tuple(keyArb, wrongType), { maxLength: 3 })
const mutated = (body: fc.Arbitrary<J>) => fc.tuple(body, fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 2, arbitrary: mutations }))
  .map(([b, extra]): J => extra.length === 0 ? b : { $o: [...(b as { $o: Array<[string, J]> }).$o, ...extra] })

// ---- filters (RFC 7644 §3.4.2.2) ---------------------------------------------------------------------------

// What an index answers (the lookups providers make) comes up as often as all the rest.
const indexedAttributes = ['userName', 'UserName', 'displayName', 'externalId', 'id', 'emails', 'emails.value', `${CORE_USER}:userName`, `${CORE_GROUP}:displayName`]
const otherAttributes = ['emails.type', 'emails.primary', 'name.givenName', 'name.familyName', 'active', 'title', 'meta.lastModified', 'meta.created',
  'meta.resourceType', 'members', 'members.value', 'members.display', 'groups.value', `${CORE_USER}:name.givenName`, `${ENTERPRISE}:department`,
  `${ENTERPRISE}:manager.value`, 'x', '$ref', 'a.b', 'emails.value.x', '1abc', '__proto__', 'constructor']
const attrPath = fc.oneof(fc.constantFrom(...indexedAttributes), fc.constantFrom(...otherAttributes))
const compareOp = fc.oneof(fc.constantFrom('eq', 'EQ', 'Eq'), fc.constantFrom('ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le', 'eQ'))
const compareValue = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom('"priya.raman@example.com"', '"PRIYA.RAMAN@EXAMPLE.COM"', '"Field Engineering"', '"{{user:0}}"', '"{{group:0}}"',
      '"work"', 'true', 'false', 'null', '1', '1.5', '-0', '1e308', '1e309', '"2024-01-01T00:00:00Z"', 'Employee', '""', '"\\u0000"', '"\\ud800"',
      '"a\\"b"', '"\\x"', '"straße@example.com"')
  },
  // Escapes that decode to a NUL or a lone surrogate only once the filter is parsed.
  { weight: 1, arbitrary: fc.constantFrom('"\\u0000"', '"priya\\u0000@example.com"', '"\\uD800"', '"\\uDFFFx"', '"\\u0000\\u0000"') },
  { weight: 2, arbitrary: nastyString.map((s) => JSON.stringify(s)) },
  { weight: 1, arbitrary: nastyString }
)

/** Filters in the grammar, and shapes just outside it. */
const grammarFilter: fc.Arbitrary<string> = fc.letrec<{ expr: string, atom: string }>((tie) => ({
  expr: fc.oneof({ depthSize: 'small', withCrossShrink: true, maxDepth: 6 },
    { weight: 4, arbitrary: tie('atom') },
    fc.tuple(tie('expr'), fc.constantFrom('and', 'or', 'AND', 'Or'), tie('expr')).map(([l, op, r]) => `${l} ${op} ${r}`),
    tie('expr').map((e) => `not (${e})`),
    tie('expr').map((e) => `(${e})`),
    fc.tuple(fc.constantFrom('emails', 'members', 'addresses', 'phoneNumbers', 'groups', 'x', `${ENTERPRISE}:manager`), tie('expr'), maybe(fc.constantFrom('.value', '.type', '.x', '.')))
      .map(([a, e, sub]) => `${a}[${e}]${sub ?? ''}`)),
  atom: fc.oneof(
    { weight: 5, arbitrary: fc.tuple(attrPath, compareOp, compareValue).map(([a, op, v]) => `${a} ${op} ${v}`) },
    { weight: 1, arbitrary: attrPath.map((a) => `${a} pr`) }
  )
})).expr

const filterTokens = ['(', ')', '[', ']', 'and', 'or', 'not', 'eq', 'pr', 'co', '"', '"x"', 'userName', 'emails', ' ', '.', ':', '\\', '\u0000',
  'true', 'null', '1e999', 'urn:', ',', '\t', '\uD800', 'value', '$ref']

export const filterArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: grammarFilter },
  { weight: 1, arbitrary: fc.array(fc.constantFrom(...filterTokens), { maxLength: 12 }).map((tokens) => tokens.join(' ')) },
  { weight: 1, arbitrary: fc.array(fc.constantFrom(...filterTokens), { maxLength: 12 }).map((tokens) => tokens.join('')) },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
  // Deep: parentheses, not(…) or value paths, up to a few thousand levels.
  {
    weight: 1,
    arbitrary: fc.tuple(fc.integer({ min: 1, max: 5000 }), fc.constantFrom('paren', 'not', 'valuePath'))
      .map(([n, how]) => how === 'paren'
        ? '('.repeat(n) + 'userName pr' + ')'.repeat(n)
        : how === 'not'
          ? 'not ('.repeat(n) + 'userName pr' + ')'.repeat(n)
          : 'emails['.repeat(n) + 'value pr' + ']'.repeat(n))
  },
  // Long: many terms, or one very long value.
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1, max: 3000 }), fc.constantFrom(' or ', ' and ')).map(([n, op]) => Array(n).fill('userName eq "a"').join(op)) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 20_000 }).map((n) => `userName eq "${'a'.repeat(n)}"`) }
)

// ---- query strings ---------------------------------------------------------------------------------------

const integerText = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom('1', '0', '-5', '1e300', 'Infinity', '-Infinity', 'NaN', '9223372036854775807', '-9223372036854775808',
      '99999999999999999999999', 'abc', '', '1.5', ' 2', '+3', '0x10', '2147483648', '9007199254740993', '١', '1,2', 'null', '[]')
  },
  { weight: 2, arbitrary: fc.integer({ min: -10, max: 300 }).map(String) },
  { weight: 1, arbitrary: fc.maxSafeNat().map(String) },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }) }
)

const attributeNames = ['userName', 'name.givenName', 'emails', 'emails.value', 'members', 'displayName', 'id', 'schemas', 'meta', 'meta.location',
  'groups', 'active', `${CORE_USER}:userName`, `${CORE_USER}:name.familyName`, ENTERPRISE, `${ENTERPRISE}:manager`, `${CORE_GROUP}:members`,
  'emails[type eq "work"]', '__proto__', 'constructor', 'toString', 'x', 'a..b', '', ' ', '%', 'urn:x:y:z']
const attributeList = fc.oneof(
  { weight: 4, arbitrary: fc.array(fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...attributeNames) }, { weight: 1, arbitrary: nastyString }), { minLength: 1, maxLength: 5 }).map((a) => a.join(',')) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 3000 }).map((n) => Array.from({ length: n }, (_, i) => `a${i}`).join(',')) }
)

type Param = [string, string]
const paramArb: fc.Arbitrary<Param> = fc.oneof(
  { weight: 4, arbitrary: filterArb.map((f): Param => ['filter', f]) },
  { weight: 3, arbitrary: integerText.map((v): Param => ['startIndex', v]) },
  { weight: 3, arbitrary: integerText.map((v): Param => ['count', v]) },
  { weight: 2, arbitrary: attributeList.map((v): Param => ['attributes', v]) },
  { weight: 2, arbitrary: attributeList.map((v): Param => ['excludedAttributes', v]) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('sortBy', 'sortOrder'), fc.constantFrom('userName', 'descending', 'x')) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('__proto__', 'constructor', 'count[]', 'filter[0]', 'x', ''), fc.string({ maxLength: 6 })) }
)

/** How a query parameter value is written: encoded properly, or with raw and broken percent-escapes. */
const encoding = fc.oneof({ weight: 8, arbitrary: fc.constant('encoded' as const) }, { weight: 1, arbitrary: fc.constant('plus' as const) },
  { weight: 1, arbitrary: fc.constantFrom('%zz', '%', '%00', '%C0%AF', '%E2%82', '%uD800') })

/** encodeURIComponent, except that a lone surrogate is written as the three bytes a sloppy UTF-8 encoder makes of it. */
export function encode (text: string): string {
  return text.split(/([\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF])/).map((part) => {
    if (part.length !== 1 || part.charCodeAt(0) < 0xd800 || part.charCodeAt(0) > 0xdfff) return encodeURIComponent(part)
    const c = part.charCodeAt(0)
    return [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)].map((b) => '%' + b.toString(16).toUpperCase()).join('')
  }).join('')
}

function encodeParam ([name, value]: Param, how: string): string {
  const enc = how === 'plus' ? encode(value).replace(/%20/g, '+') : encode(value)
  // A broken escape goes in the middle of the value (or is the value).
  const broken = how === 'encoded' || how === 'plus' ? enc : enc.slice(0, enc.length >> 1) + how + enc.slice(enc.length >> 1)
  return `${encode(name)}=${broken}`
}

export const queryArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: fc.constant('') },
  {
    weight: 5,
    arbitrary: fc.array(fc.tuple(paramArb, encoding), { minLength: 1, maxLength: 4 })
      .map((params) => '?' + params.map(([p, how]) => encodeParam(p, how)).join('&'))
  }
)

/** Provider-style lookups, which should reach the list operation. */
const lookupQuery = fc.oneof(
  fc.constantFrom('?filter=userName%20eq%20%22priya.raman%40example.com%22&startIndex=1&count=100',
    '?filter=userName+eq+%22mateo.lindqvist%40example.org%22', '?excludedAttributes=members&filter=displayName+eq+%22Finance+Approvers%22',
    '?filter=displayName%20eq%20%22Field%20Engineering%22&startIndex=1&count=100', '?count=1', '?startIndex=2&count=2', '?attributes=userName,emails'),
  filterArb.map((f) => `?filter=${encode(f)}`),
  // An index lookup (what providers send) with an odd value.
  fc.tuple(fc.constantFrom(...indexedAttributes), compareValue, fc.constantFrom('', '&startIndex=1&count=100', '&excludedAttributes=members'))
    .map(([attribute, value, more]) => `?filter=${encode(`${attribute} eq ${value}`)}${more}`)
)

// ---- ids ------------------------------------------------------------------------------------------------

const oddIds = ['%00', 'a%00b', '%2F', '..', '%2e%2e', '.search', 'Users', '%ZZ', '%', '%E2%82', '%C0%AF', '%F0%9F%98%80', '%ED%A0%80', 'null',
  'undefined', '__proto__', 'constructor', 'prototype', '%20', 'a;b', '%3F', '%23', 'x'.repeat(99), 'x'.repeat(101), 'x'.repeat(5000), '-1', '0',
  '00000000-0000-0000-0000-000000000000', '%27%20OR%20%271%27%3D%271', '*', '%2A', '~', '!']

/** About half hit a resource of the right kind; the rest miss: other kind, random, malformed. */
const idArb = (kind: 'user' | 'group') => fc.oneof(
  { weight: 10, arbitrary: kind === 'user' ? userRef : groupRef },
  { weight: 2, arbitrary: kind === 'user' ? groupRef : userRef },
  { weight: 2, arbitrary: fc.uuid() },
  { weight: 4, arbitrary: fc.constantFrom(...oddIds) },
  { weight: 2, arbitrary: nastyString.map((s) => encode(s) || 'x') }
)

// ---- PATCH ------------------------------------------------------------------------------------------------

export const PATCH_OPS = ['add', 'replace', 'remove'] as const
const opName = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom('add', 'replace', 'remove', 'Add', 'Replace', 'Remove', 'ADD', 'REPLACE', 'REMOVE') },
  { weight: 1, arbitrary: fc.constantFrom('move', 'copy', 'test', '', 'delete', 'addd') as fc.Arbitrary<J> },
  { weight: 1, arbitrary: wrongType }
)

const userPaths = ['active', 'displayName', 'nickName', 'title', 'userName', 'externalId', 'name', 'name.givenName', 'name.familyName', 'emails',
  'emails[type eq "work"].value', 'emails[type eq "work"]', 'emails[value co "@"].primary', 'emails[primary eq true].value',
  'phoneNumbers[type eq "work"].value', 'addresses[type eq "work"].formatted', 'addresses[type eq "work" and primary eq true].locality',
  `${ENTERPRISE}:manager`, `${ENTERPRISE}:employeeNumber`, `${ENTERPRISE}:department`, ENTERPRISE, `${CORE_USER}:userName`,
  `${CORE_USER}:name.givenName`, `${CORE_USER}:emails[type eq "work"].value`, 'id', 'meta', 'meta.lastModified', 'groups', 'x509Certificates',
  'roles', 'x', 'a.b.c', '$ref', '__proto__', 'constructor.prototype', 'name.__proto__', 'emails[type eq "work"].__proto__', 'schemas']
const groupPaths = ['members', 'members[value eq "{{user:0}}"]', 'members[value eq "{{user:1}}"]', 'members[value eq "{{user:0}}"].display',
  'members[display co "a"]', 'displayName', 'externalId', `${CORE_GROUP}:displayName`, `${CORE_GROUP}:members`, 'id', 'meta', 'x', '__proto__']
const patchPath = (kind: 'user' | 'group') => fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...(kind === 'user' ? userPaths : groupPaths)) },
  { weight: 1, arbitrary: filterArb.map((f) => `emails[${f}].value`) },
  { weight: 1, arbitrary: filterArb.map((f) => `members[${f}]`) },
  { weight: 1, arbitrary: nastyString },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '[', 'emails[', 'emails[]', 'emails[type eq "work"', 'emails]', 'members[value eq "x"].value.x') }
)

const patchValue = (kind: 'user' | 'group') => fc.oneof(
  { weight: 3, arbitrary: fc.oneof(userNameArb, fc.boolean(), fc.constantFrom('True', 'False', 'Teo', 'Okafor-Adeyemi') as fc.Arbitrary<J>) },
  { weight: kind === 'group' ? 4 : 1, arbitrary: fc.array(member, { maxLength: 3 }) },
  { weight: 1, arbitrary: userRef },
  {
    weight: 2,
    arbitrary: fc.record({
      key: fc.constantFrom('active', 'displayName', 'name.givenName', 'name.familyName', 'userName', 'id',
    `${ENTERPRISE}:employeeNumber`, `${CORE_USER}:displayName`, ENTERPRISE, CORE_USER, 'emails', 'members', '__proto__', 'constructor'),
      value: fc.oneof(fc.boolean(), userNameArb, anyJson)
    })
      .map(({ key, value }): J => o([key, value]))
  },
  { weight: 1, arbitrary: fc.constant(o(['id', '{{self}}'], ['displayName', 'Field Engineering EMEA'])) },
  { weight: 2, arbitrary: wrongType }
)

const patchOperation = (kind: 'user' | 'group') => fc.record({
  op: opName,
  path: maybe(patchPath(kind), 4),
  value: maybe(patchValue(kind), 6)
}, { requiredKeys: ['op'] }).map((op): J => o(['op', op.op], opt('path', op.path), opt('value', op.value)))

const patchBody = (kind: 'user' | 'group') => fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({ schemas: maybe(fc.constant([PATCH_OP] as J), 8), ops: fc.array(patchOperation(kind), { minLength: 1, maxLength: 4 }) })
      .map(({ schemas, ops }): J => o(opt('schemas', schemas), ['Operations', ops]))
  },
  {
    weight: 1,
    arbitrary: fc.record({ schemas: maybe(fc.constant([PATCH_OP] as J), 8), Operations: maybe(wrongType, 8) })
      .map(({ schemas, Operations }): J => o(opt('schemas', schemas), opt('Operations', Operations)))
  }
)

// ---- search bodies ---------------------------------------------------------------------------------------

const searchValue = <T extends J>(arb: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: arb as fc.Arbitrary<J> }, { weight: 1, arbitrary: wrongType })
const searchBody: fc.Arbitrary<J> = fc.record({
  schemas: maybe(fc.constant([SEARCH] as J), 8),
  filter: maybe(searchValue(filterArb), 3),
  startIndex: maybe(searchValue(fc.oneof(fc.integer({ min: -5, max: 20 }), fc.constantFrom<J>({ $n: '1e300' }, { $n: '9223372036854775807' }, 1.5, -0, '2', 'abc'))), 3),
  count: maybe(searchValue(fc.oneof(fc.integer({ min: -5, max: 200 }), fc.constantFrom<J>({ $n: '1e400' }, { $n: '9223372036854775807' }, '10', 'abc'))), 3),
  attributes: maybe(searchValue(fc.oneof(fc.array(fc.constantFrom(...attributeNames), { maxLength: 4 }) as fc.Arbitrary<J>, attributeList)), 3),
  excludedAttributes: maybe(searchValue(fc.array(fc.constantFrom(...attributeNames), { maxLength: 4 }) as fc.Arbitrary<J>), 3)
}, { requiredKeys: [] }).map((s): J => o(opt('schemas', s.schemas), opt('filter', s.filter), opt('startIndex', s.startIndex), opt('count', s.count),
  opt('attributes', s.attributes), opt('excludedAttributes', s.excludedAttributes)))

// ---- bodies of every kind --------------------------------------------------------------------------------

const rawTexts = ['', ' ', '{', '}', '[', '{"userName":', '{"userName":"a"', 'null', 'true', '0', '"x"', '[]', '{}', 'undefined', 'NaN',
  '{"a":NaN}', '{"a":1,}', "{'userName':'a'}", '\uFEFF{}', '{"userName":"a"} trailing', '{"userName":"a"}{"userName":"b"}', '// c\n{}',
  'userName=a&active=true', '<xml/>', '\u0000', '{"\\u0000":1}', '{"a":"\\ud800"}', '{"a":"\\x"}', '{"__proto__":{"isAdmin":true}}',
  '{"constructor":{"prototype":{"polluted":1}}}']
const rawBody: fc.Arbitrary<Body> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...rawTexts) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) }
).map((text): Body => ({ t: 'raw', text }))

const depth = fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 5000 }))
const deepBody = (inside: Array<'root' | 'attribute' | 'patch' | 'search'>): fc.Arbitrary<Body> =>
  fc.record({ depth, shape: fc.constantFrom('array', 'object', 'mixed'), inside: fc.constantFrom(...inside) })
    .map((d): Body => ({ t: 'deep', ...d } as Body))

// Around the default limits (valuesPerAttribute, operationsPerPatch) and past them.
const hugeLength = fc.oneof(fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 990, max: 1010 }), fc.integer({ min: 9990, max: 10_010 }),
  fc.integer({ min: 49_990, max: 50_010 }), fc.integer({ min: 0, max: 200_000 }))
const hugeBody = (inside: Array<'root' | 'attribute' | 'members' | 'operations' | 'patch' | 'search'>, item: fc.Arbitrary<J>): fc.Arbitrary<Body> =>
  fc.record({ length: hugeLength, item, inside: fc.constantFrom(...inside) }).map((h): Body => ({ t: 'huge', ...h } as Body))

const json = (arb: fc.Arbitrary<J>): fc.Arbitrary<Body> => arb.map((v): Body => ({ t: 'json', v }))

/** A body for a route: mostly its own kind (mutated now and then), else any JSON, deep, huge or not JSON at all. */
function bodyFor (kind: 'user' | 'group', what: 'resource' | 'patch' | 'search'): fc.Arbitrary<Body> {
  const own = what === 'patch' ? patchBody(kind) : what === 'search' ? searchBody : kind === 'user' ? userBody : groupBody
  // The item of a huge array is small, so that 200,000 of them stay a few megabytes.
  const item = fc.oneof(
    fc.constantFrom<J>(1, 'x', null, o()),
    what === 'patch'
      ? fc.constantFrom(o(['op', 'add'], ['path', 'nickName'], ['value', 'x']), o(['op', 'remove'], ['path', 'members[value eq "{{user:0}}"]']),
        o(['op', 'Replace'], ['path', 'active'], ['value', 'False']), o(['op', 'add'], ['path', 'members'], ['value', [o(['value', '{{user:1}}'])]]))
      : kind === 'user'
        ? fc.tuple(fc.nat(99), fc.constantFrom('work', 'home')).map(([n, type]) => o(['value', `u${n}@example.com`], ['type', type]))
        : userRef.map((ref) => o(['value', ref])),
    fc.uuid().map((id) => o(['value', id]))
  )
  return fc.oneof(
    { weight: 16, arbitrary: json(mutated(own)) },
    { weight: 1, arbitrary: json(kind === 'user' ? groupBody : userBody) },
    { weight: 2, arbitrary: json(anyJson) },
    { weight: 2, arbitrary: deepBody(what === 'patch' ? ['root', 'patch'] : what === 'search' ? ['root', 'search'] : ['root', 'attribute']) },
    { weight: 2, arbitrary: hugeBody(what === 'patch' ? ['root', 'operations', 'patch'] : what === 'search' ? ['root', 'search'] : kind === 'group' ? ['root', 'members', 'attribute'] : ['root', 'attribute'], item) },
    { weight: 2, arbitrary: rawBody }
  )
}

const contentType = fc.oneof(
  { weight: 30, arbitrary: fc.constant('application/scim+json') },
  { weight: 5, arbitrary: fc.constant('application/json') },
  {
    weight: 4,
    arbitrary: fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/scim+json; charset=utf-8',
      'application/json; charset=iso-8859-1', 'application/scim+json;charset=utf-16', 'multipart/form-data; boundary=x', '*/*',
      'application/jsonp', 'APPLICATION/SCIM+JSON', 'application/scim+json, application/json', 'application/xml', '') as fc.Arbitrary<string | null>
  },
  { weight: 1, arbitrary: fc.constant(null) }
)
const auth = fc.oneof({ weight: 60, arbitrary: fc.constant('ok' as const) }, { weight: 1, arbitrary: fc.constantFrom('none' as const, 'wrong' as const, 'scheme' as const) })

// ---- requests ---------------------------------------------------------------------------------------------

const collection = (kind: 'user' | 'group') => kind === 'user' ? 'Users' : 'Groups'

function listRequest (kind: 'user' | 'group'): fc.Arbitrary<GenRequest> {
  const spelling = fc.oneof({ weight: 8, arbitrary: fc.constant(collection(kind)) }, { weight: 1, arbitrary: fc.constantFrom(collection(kind).toLowerCase(), `${collection(kind)}/`) })
  return fc.record({ spelling, query: fc.oneof(queryArb, lookupQuery), auth })
    .map(({ spelling, query, auth }): GenRequest => ({ route: `GET /${collection(kind)}` as Route, method: 'GET', path: `/${spelling}${query}`, contentType: null, auth }))
}

function createRequest (kind: 'user' | 'group'): fc.Arbitrary<GenRequest> {
  return fc.record({ body: bodyFor(kind, 'resource'), contentType, auth })
    .map(({ body, contentType, auth }): GenRequest => ({ route: `POST /${collection(kind)}` as Route, method: 'POST', path: `/${collection(kind)}`, contentType, auth, body }))
}

function searchRequest (kind: 'user' | 'group'): fc.Arbitrary<GenRequest> {
  return fc.record({ body: bodyFor(kind, 'search'), contentType, auth })
    .map(({ body, contentType, auth }): GenRequest => ({ route: `POST /${collection(kind)}/.search` as Route, method: 'POST', path: `/${collection(kind)}/.search`, contentType, auth, body }))
}

function itemRequest (kind: 'user' | 'group', method: 'GET' | 'PUT' | 'PATCH' | 'DELETE'): fc.Arbitrary<GenRequest> {
  // GET and DELETE carry a body now and then too.
  const body = method === 'PUT'
    ? bodyFor(kind, 'resource')
    : method === 'PATCH' ? bodyFor(kind, 'patch') : fc.oneof({ weight: 20, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: rawBody }, { weight: 1, arbitrary: json(anyJson) })
  const query = method === 'GET' ? fc.oneof({ weight: 2, arbitrary: fc.constant('') }, { weight: 1, arbitrary: queryArb }) : fc.oneof({ weight: 8, arbitrary: fc.constant('') }, { weight: 1, arbitrary: queryArb })
  return fc.record({ id: idArb(kind), query, body, contentType, auth })
    .map(({ id, query, body, contentType, auth }): GenRequest => ({
      route: `${method} /${collection(kind)}/:id` as Route,
      method,
      path: `/${collection(kind)}/${id}${query}`,
      contentType: body === undefined ? null : contentType,
      auth,
      ...(body === undefined ? {} : { body })
    }))
}

/** A method a route does not take (405), now and then. */
const wrongMethod: fc.Arbitrary<GenRequest> = fc.record({
  method: fc.constantFrom('PUT', 'PATCH', 'DELETE', 'OPTIONS'),
  path: fc.constantFrom('/Users', '/Groups', '/Users/.search', '/Groups/.search'),
  auth
}).map(({ method, path, auth }): GenRequest => ({ route: 'other', method, path, contentType: null, auth }))

const singleRequest: fc.Arbitrary<GenRequest> = fc.oneof(
  { weight: 5, arbitrary: listRequest('user') },
  { weight: 4, arbitrary: listRequest('group') },
  { weight: 10, arbitrary: createRequest('user') },
  { weight: 6, arbitrary: createRequest('group') },
  { weight: 5, arbitrary: itemRequest('user', 'GET') },
  { weight: 5, arbitrary: itemRequest('user', 'PUT') },
  { weight: 10, arbitrary: itemRequest('user', 'PATCH') },
  { weight: 2, arbitrary: itemRequest('user', 'DELETE') },
  { weight: 4, arbitrary: itemRequest('group', 'GET') },
  { weight: 4, arbitrary: itemRequest('group', 'PUT') },
  { weight: 8, arbitrary: itemRequest('group', 'PATCH') },
  { weight: 2, arbitrary: itemRequest('group', 'DELETE') },
  { weight: 3, arbitrary: searchRequest('user') },
  { weight: 3, arbitrary: searchRequest('group') },
  { weight: 1, arbitrary: wrongMethod }
)

const together = fc.oneof(
  { weight: 30, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constant('with-previous' as const) },
  { weight: 1, arbitrary: fc.constant('copy-of-previous' as const) }
)

/** A request; now and then one sent concurrently with the one before it. */
export const requestArb: fc.Arbitrary<GenRequest> = fc.tuple(singleRequest, together)
  .map(([request, how]) => how === undefined ? request : { ...request, together: how })

/**
 * One run: a directory type and `length` requests sent in order to a fresh directory. Each slot can
 * shrink to null (the request is taken out), which generation never picks, so a run that passes sends
 * exactly `length` requests.
 */
export function runArb (length: number): fc.Arbitrary<GenRun> {
  return fc.record({
    directoryType: fc.constantFrom(...DIRECTORY_TYPES),
    requests: fc.array(fc.option(requestArb, { freq: 1e9 }), { minLength: length, maxLength: length })
  })
}
