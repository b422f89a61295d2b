import t from 'tap'
import {
  FilterError,
  equalityLookup,
  isCaseExact,
  matches,
  parseFilter,
  parsePath,
  stringifyFilter
} from '../../src/scim/filter.js'
import type { Filter } from '../../src/scim/filter.js'

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'

// The subtest type, as tap hands it to a callback.
type Asserts = Parameters<Parameters<typeof t.test>[0]>[0]

function throwsFilterError (t: Asserts, fn: () => unknown, pattern?: RegExp): void {
  try {
    fn()
    t.fail('expected a FilterError')
  } catch (err) {
    t.ok(err instanceof FilterError, `FilterError, got ${String(err)}`)
    if (pattern !== undefined) t.match((err as Error).message, pattern)
  }
}

const user = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE],
  id: 'User-ID-1',
  externalId: 'Ext-1',
  userName: 'Jane@Acme.com',
  displayName: 'Jane Doe',
  active: true,
  title: 'Engineer',
  userType: 'Employee',
  loginCount: 7,
  nickName: '',
  name: { givenName: 'Jane', familyName: 'Employee' },
  emails: [
    { value: 'jane@example.com', type: 'work', primary: true },
    { value: 'jane@home.org', type: 'home' }
  ],
  phoneNumbers: [],
  x509Certificates: null,
  tags: ['red', 'Blue'],
  groups: [{ value: 'Group-A', display: 'Sales' }],
  meta: { resourceType: 'User', lastModified: '2011-05-13T04:42:34Z', version: 'W/"abc"' },
  [ENTERPRISE]: { employeeNumber: '42', department: 'R&D', manager: { value: 'mgr-1', displayName: 'Boss' } }
}

const group = {
  id: 'g1',
  displayName: 'Sales',
  members: [{ value: 'u-ABC', display: 'a' }, { value: 'u2' }]
}

t.test('parse: comparison operators and values', async (t) => {
  const cases: Array<[string, Filter]> = [
    ['userName eq "bjensen"', { op: 'eq', path: { attribute: 'userName' }, value: 'bjensen' }],
    ['userName EQ "x"', { op: 'eq', path: { attribute: 'userName' }, value: 'x' }],
    ['title ne "a"', { op: 'ne', path: { attribute: 'title' }, value: 'a' }],
    ['name.familyName co "O\'Malley"', { op: 'co', path: { attribute: 'name', subAttribute: 'familyName' }, value: 'O\'Malley' }],
    ['userName Sw "J"', { op: 'sw', path: { attribute: 'userName' }, value: 'J' }],
    ['userName ew "x"', { op: 'ew', path: { attribute: 'userName' }, value: 'x' }],
    ['loginCount gt 5', { op: 'gt', path: { attribute: 'loginCount' }, value: 5 }],
    ['loginCount ge -1.5e2', { op: 'ge', path: { attribute: 'loginCount' }, value: -150 }],
    ['loginCount lt 0', { op: 'lt', path: { attribute: 'loginCount' }, value: 0 }],
    ['meta.lastModified le "2011-05-13T04:42:34Z"', { op: 'le', path: { attribute: 'meta', subAttribute: 'lastModified' }, value: '2011-05-13T04:42:34Z' }],
    ['active eq true', { op: 'eq', path: { attribute: 'active' }, value: true }],
    ['active eq False', { op: 'eq', path: { attribute: 'active' }, value: false }],
    ['nickName eq null', { op: 'eq', path: { attribute: 'nickName' }, value: null }],
    ['title pr', { op: 'pr', path: { attribute: 'title' } }],
    ['title PR', { op: 'pr', path: { attribute: 'title' } }],
    ['members.$ref pr', { op: 'pr', path: { attribute: 'members', subAttribute: '$ref' } }],
    ['x-y_z eq 1', { op: 'eq', path: { attribute: 'x-y_z' }, value: 1 }],
    ['  userName   eq   "x"  ', { op: 'eq', path: { attribute: 'userName' }, value: 'x' }],
    ['userName eq ""', { op: 'eq', path: { attribute: 'userName' }, value: '' }]
  ]
  for (const [text, expected] of cases) t.same(parseFilter(text), expected, text)
})

t.test('parse: string escapes', async (t) => {
  const cases: Array<[string, string]> = [
    ['a eq "a\\"b"', 'a"b'],
    ['a eq "back\\\\slash"', 'back\\slash'],
    ['a eq "tab\\there"', 'tab\there'],
    ['a eq "\\u00e9t\\u00E9"', 'été'],
    ['a eq "slash\\/ok"', 'slash/ok'],
    ['a eq "paren ) and [ ] inside"', 'paren ) and [ ] inside'],
    ['a eq "and or not"', 'and or not']
  ]
  for (const [text, value] of cases) {
    const f = parseFilter(text)
    t.equal(f.op === 'eq' && f.value, value, text)
  }
})

t.test('parse: bare words are strings', async (t) => {
  const cases: Array<[string, unknown]> = [
    ['name.familyName eq Employee', 'Employee'],
    ['userName eq jane@acme.com', 'jane@acme.com'],
    ['x eq 12abc', '12abc'],
    ['x eq 007', '007'],
    ['x eq 12', 12],
    ['x eq NULL', null],
    ['x eq TRUE', true]
  ]
  for (const [text, value] of cases) {
    const f = parseFilter(text)
    t.same(f.op === 'eq' ? f.value : undefined, value, text)
  }
  t.same(parseFilter('(a eq b)'), { op: 'eq', path: { attribute: 'a' }, value: 'b' })
  t.same(parseFilter('x[a eq b]'), {
    op: 'valuePath', path: { attribute: 'x' }, filter: { op: 'eq', path: { attribute: 'a' }, value: 'b' }
  })
})

t.test('parse: precedence and grouping', async (t) => {
  const a: Filter = { op: 'pr', path: { attribute: 'a' } }
  const b: Filter = { op: 'pr', path: { attribute: 'b' } }
  const c: Filter = { op: 'pr', path: { attribute: 'c' } }
  const cases: Array<[string, Filter]> = [
    ['a pr or b pr and c pr', { op: 'or', left: a, right: { op: 'and', left: b, right: c } }],
    ['a pr and b pr or c pr', { op: 'or', left: { op: 'and', left: a, right: b }, right: c }],
    ['(a pr or b pr) and c pr', { op: 'and', left: { op: 'or', left: a, right: b }, right: c }],
    ['a pr and b pr and c pr', { op: 'and', left: { op: 'and', left: a, right: b }, right: c }],
    ['a pr or b pr or c pr', { op: 'or', left: { op: 'or', left: a, right: b }, right: c }],
    ['not (a pr) and b pr', { op: 'and', left: { op: 'not', filter: a }, right: b }],
    ['not(a pr or b pr)', { op: 'not', filter: { op: 'or', left: a, right: b } }],
    ['NOT (a pr) OR b pr', { op: 'or', left: { op: 'not', filter: a }, right: b }],
    ['a pr AND b pr', { op: 'and', left: a, right: b }],
    ['((a pr))', a],
    ['a pr and(b pr)', { op: 'and', left: a, right: b }],
    ['not (not (a pr))', { op: 'not', filter: { op: 'not', filter: a } }]
  ]
  for (const [text, expected] of cases) t.same(parseFilter(text), expected, text)
})

t.test('parse: attribute names that start like keywords', async (t) => {
  t.same(parseFilter('notes pr'), { op: 'pr', path: { attribute: 'notes' } })
  t.same(parseFilter('order eq 1 and andrew pr'), {
    op: 'and',
    left: { op: 'eq', path: { attribute: 'order' }, value: 1 },
    right: { op: 'pr', path: { attribute: 'andrew' } }
  })
  t.same(parseFilter('prefix pr'), { op: 'pr', path: { attribute: 'prefix' } })
})

t.test('parse: value paths', async (t) => {
  t.same(parseFilter('emails[type eq "work" and value co "@x.com"]'), {
    op: 'valuePath',
    path: { attribute: 'emails' },
    filter: {
      op: 'and',
      left: { op: 'eq', path: { attribute: 'type' }, value: 'work' },
      right: { op: 'co', path: { attribute: 'value' }, value: '@x.com' }
    }
  })
  t.same(parseFilter('members[value eq "abc"]'), {
    op: 'valuePath', path: { attribute: 'members' }, filter: { op: 'eq', path: { attribute: 'value' }, value: 'abc' }
  })
  t.same(parseFilter('userType eq "E" and emails[type eq "work" or not (primary eq false)]').op, 'and')
  t.same(parseFilter('emails[ type eq "work" ] or x pr').op, 'or')
})

t.test('parse: URN attribute paths', async (t) => {
  t.same(parseFilter(`${ENTERPRISE}:employeeNumber eq "42"`), {
    op: 'eq', path: { uri: ENTERPRISE, attribute: 'employeeNumber' }, value: '42'
  })
  t.same(parseFilter(`${ENTERPRISE}:manager.value eq "m"`), {
    op: 'eq', path: { uri: ENTERPRISE, attribute: 'manager', subAttribute: 'value' }, value: 'm'
  })
  t.same(parseFilter('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "j"'), {
    op: 'eq', path: { uri: 'urn:ietf:params:scim:schemas:core:2.0:User', attribute: 'userName' }, value: 'j'
  })
  t.same(parseFilter('urn:ietf:params:scim:schemas:core:2.0:User:name.familyName pr'), {
    op: 'pr', path: { uri: 'urn:ietf:params:scim:schemas:core:2.0:User', attribute: 'name', subAttribute: 'familyName' }
  })
})

t.test('parse: errors are FilterError', async (t) => {
  const cases: Array<[unknown, RegExp?]> = [
    ['', /empty/],
    ['   ', /empty/],
    ['userName', /operator/],
    ['userName eq', /value/],
    ['userName eq ', /value/],
    ['userName xx "a"', /unknown operator "xx"/],
    ['userName equals "a"', /unknown operator/],
    ['userName eq "a" garbage', /unexpected "g"/],
    ['userName eq "a" and', /expected/],
    ['userName eq "a" or or b pr', /unknown operator "b"/],
    ['and b pr', /operator/],
    ['(userName eq "a"', /missing "\)"/],
    ['userName eq "a")', /unexpected "\)"/],
    ['emails[type eq "work"', /missing "\]"/],
    ['emails[type eq "work"]]', /unexpected "\]"/],
    ['emails type eq "work"]', /unknown operator|unexpected/],
    ['emails[type eq "work"].value eq "x"', /unexpected/],
    ['emails[types[a pr]]', /nested/],
    ['name.givenName[a pr]', /top-level/],
    ['userName eq "unterminated', /unterminated/],
    ['userName eq "bad\\q escape"', /invalid string/],
    ['loginCount gt true', /cannot compare/],
    ['loginCount le null', /cannot compare/],
    ['loginCount ge false', /cannot compare/],
    ['a.b.c pr', /invalid attribute path/],
    ['1abc pr', /invalid attribute path/],
    ['na!me pr', /unexpected|operator/],
    [':abc pr', /invalid attribute path/],
    ['urn:foo: pr', /invalid attribute path/],
    ['not a pr', /"not" must be followed by "\("/],
    ['()', /attribute/],
    ['[a pr]', /attribute/],
    ['"userName" eq "x"', /attribute/],
    ['userName eq 1e999', /out of range/],
    ['a pr'.padEnd(4097, ' '), /longer than 4096/],
    [`${'('.repeat(51)}a pr${')'.repeat(51)}`, /deeper than 50/],
    [`${'not ('.repeat(51)}a pr${')'.repeat(51)}`, /deeper than 50/],
    [42, /must be a string/]
  ]
  for (const [text, pattern] of cases) {
    t.test(String(text).slice(0, 60), async (t) => throwsFilterError(t, () => parseFilter(text as string), pattern))
  }
})

t.test('parse: limits are inclusive', async (t) => {
  t.ok(parseFilter(`${'('.repeat(50)}a pr${')'.repeat(50)}`))
  t.ok(parseFilter('a pr'.padEnd(4096, ' ')))
})

t.test('parse: error messages say where', async (t) => {
  throwsFilterError(t, () => parseFilter('userName eq "a" foo'), /position 17/)
  throwsFilterError(t, () => parseFilter('(a pr'), /end of input/)
})

t.test('parsePath', async (t) => {
  const cases: Array<[string, unknown]> = [
    ['active', { attr: { attribute: 'active' } }],
    ['name.givenName', { attr: { attribute: 'name', subAttribute: 'givenName' } }],
    ['emails[type eq "work"].value', {
      attr: { attribute: 'emails' },
      valueFilter: { op: 'eq', path: { attribute: 'type' }, value: 'work' },
      subAttribute: 'value'
    }],
    ['members[value eq "2819c223"]', {
      attr: { attribute: 'members' },
      valueFilter: { op: 'eq', path: { attribute: 'value' }, value: '2819c223' }
    }],
    ['addresses[type eq "work"].formatted', {
      attr: { attribute: 'addresses' },
      valueFilter: { op: 'eq', path: { attribute: 'type' }, value: 'work' },
      subAttribute: 'formatted'
    }],
    [`${ENTERPRISE}:employeeNumber`, { attr: { uri: ENTERPRISE, attribute: 'employeeNumber' } }],
    [`${ENTERPRISE}:manager.value`, { attr: { uri: ENTERPRISE, attribute: 'manager', subAttribute: 'value' } }],
    [`${ENTERPRISE}:manager`, { attr: { uri: ENTERPRISE, attribute: 'manager' } }],
    ['emails[type eq "work" and primary eq true].display', {
      attr: { attribute: 'emails' },
      valueFilter: {
        op: 'and',
        left: { op: 'eq', path: { attribute: 'type' }, value: 'work' },
        right: { op: 'eq', path: { attribute: 'primary' }, value: true }
      },
      subAttribute: 'display'
    }],
    [' active ', { attr: { attribute: 'active' } }]
  ]
  for (const [text, expected] of cases) t.same(parsePath(text), expected, text)

  const bad = [
    '', 'name.givenName.x', 'emails[type eq "work"', 'emails[type eq "work"].', 'emails[type eq "work"].a.b',
    'emails[type eq "work"]x', 'active eq true', 'name.givenName[type eq "x"]', '1abc', 'emails[]',
    'emails[type zz "work"]', 'a b'
  ]
  for (const text of bad) t.test(`bad path ${text}`, async (t) => throwsFilterError(t, () => parsePath(text)))
})

t.test('matches: operators', async (t) => {
  const cases: Array<[string, boolean]> = [
    ['userName eq "jane@acme.com"', true],
    ['userName eq "JANE@ACME.COM"', true],
    ['userName eq "jane"', false],
    ['userName ne "jane"', true],
    ['userName ne "jane@acme.com"', false],
    ['userName co "ACME"', true],
    ['userName co "zzz"', false],
    ['userName sw "jane@"', true],
    ['userName sw "acme"', false],
    ['userName ew ".COM"', true],
    ['userName ew "jane"', false],
    ['loginCount gt 6', true],
    ['loginCount gt 7', false],
    ['loginCount ge 7', true],
    ['loginCount lt 8', true],
    ['loginCount lt 7', false],
    ['loginCount le 7', true],
    ['loginCount eq 7', true],
    ['loginCount eq "7"', false],
    ['loginCount gt "6"', false],
    ['loginCount co "7"', false],
    ['active eq true', true],
    ['active eq false', false],
    ['active ne false', true],
    ['active eq "true"', false],
    ['active co "t"', false],
    ['title gt "A"', true],
    ['title lt "a"', false],
    ['title gt "engineer"', false],
    ['title ge "ENGINEER"', true],
    ['meta.lastModified gt "2011-05-13T04:42:34Z"', false],
    ['meta.lastModified ge "2011-05-13T04:42:34Z"', true],
    ['meta.lastModified gt "2011-05-12T00:00:00Z"', true],
    ['meta.lastModified lt "2012-01-01T00:00:00Z"', true],
    ['missing eq "x"', false],
    ['missing ne "x"', true],
    ['missing gt 1', false],
    ['missing co "x"', false],
    ['missing eq null', true],
    ['title eq null', false],
    ['title ne null', true],
    ['nickName eq null', true],
    ['name.familyName eq Employee', true],
    ['name.givenName eq "jane"', true],
    ['name.middleName pr', false],
    ['name.missing eq "x"', false]
  ]
  for (const [text, expected] of cases) t.equal(matches(user, parseFilter(text)), expected, text)
})

t.test('matches: pr', async (t) => {
  const cases: Array<[string, boolean]> = [
    ['title pr', true],
    ['missing pr', false],
    ['nickName pr', false],
    ['phoneNumbers pr', false],
    ['x509Certificates pr', false],
    ['emails pr', true],
    ['emails.value pr', true],
    ['emails.display pr', false],
    ['name pr', true],
    ['active pr', true],
    ['loginCount pr', true]
  ]
  for (const [text, expected] of cases) t.equal(matches(user, parseFilter(text)), expected, text)
  t.equal(matches({ a: {} }, parseFilter('a pr')), false, 'empty object')
  t.equal(matches({ a: { b: null } }, parseFilter('a pr')), false, 'object of nulls')
  t.equal(matches({ a: false }, parseFilter('a pr')), true, 'false is present')
  t.equal(matches({ a: 0 }, parseFilter('a pr')), true, '0 is present')
})

t.test('matches: logical operators', async (t) => {
  const cases: Array<[string, boolean]> = [
    ['title pr and userType eq "Employee"', true],
    ['title pr and userType eq "Contractor"', false],
    ['title eq "x" or userType eq "Employee"', true],
    ['title eq "x" or userType eq "x"', false],
    ['not (title eq "x")', true],
    ['not (title pr)', false],
    ['title eq "x" and userType eq "x" or active eq true', true],
    ['title eq "x" and (userType eq "x" or active eq true)', false],
    ['not (title eq "x") and not (userType eq "x")', true]
  ]
  for (const [text, expected] of cases) t.equal(matches(user, parseFilter(text)), expected, text)
})

t.test('matches: attribute names are case-insensitive', async (t) => {
  t.ok(matches(user, parseFilter('USERNAME eq "jane@acme.com"')))
  t.ok(matches(user, parseFilter('NAME.GIVENNAME eq "Jane"')))
  t.ok(matches(user, parseFilter('Emails[TYPE eq "work"]')))
  t.ok(matches(user, parseFilter('EMAILS.VALUE co "home"')))
})

t.test('matches: caseExact attributes', async (t) => {
  const cases: Array<[string, boolean]> = [
    ['id eq "User-ID-1"', true],
    ['id eq "user-id-1"', false],
    ['externalId eq "Ext-1"', true],
    ['externalId eq "ext-1"', false],
    ['externalId sw "ext"', false],
    ['meta.version eq "W/\\"abc\\""', true],
    ['meta.version eq "w/\\"ABC\\""', false],
    ['meta.resourceType eq "user"', true],
    ['groups.value eq "Group-A"', true],
    ['groups.value eq "group-a"', false],
    ['groups[value eq "group-a"]', false],
    ['groups.display eq "sales"', true],
    ['urn:ietf:params:scim:schemas:core:2.0:User:id eq "user-id-1"', false]
  ]
  for (const [text, expected] of cases) t.equal(matches(user, parseFilter(text)), expected, text)
  t.ok(matches(group, parseFilter('members[value eq "u-ABC"]')))
  t.notOk(matches(group, parseFilter('members[value eq "u-abc"]')))
  t.notOk(matches(group, parseFilter('members.value eq "u-abc"')))
  t.ok(matches(group, parseFilter('members[display eq "A"]')))

  const exact: Array<[Parameters<typeof isCaseExact>[0], boolean]> = [
    [{ attribute: 'id' }, true],
    [{ attribute: 'ID' }, true],
    [{ attribute: 'externalId' }, true],
    [{ attribute: 'meta', subAttribute: 'version' }, true],
    [{ attribute: 'members', subAttribute: 'value' }, true],
    [{ attribute: 'groups', subAttribute: 'Value' }, true],
    [{ attribute: 'members', subAttribute: 'display' }, false],
    [{ attribute: 'userName' }, false],
    [{ attribute: 'emails', subAttribute: 'value' }, false],
    [{ attribute: 'constructor' }, false],
    [{ attribute: 'constructor', subAttribute: 'value' }, false],
    [{ uri: 'urn:ietf:params:scim:schemas:core:2.0:User', attribute: 'id' }, true],
    [{ uri: ENTERPRISE, attribute: 'id' }, false]
  ]
  for (const [path, expected] of exact) t.equal(isCaseExact(path), expected, JSON.stringify(path))
})

t.test('matches: multi-valued attributes', async (t) => {
  const cases: Array<[string, boolean]> = [
    ['emails eq "jane@example.com"', true],
    ['emails eq "JANE@HOME.ORG"', true],
    ['emails eq "nobody@x"', false],
    ['emails co "example.com"', true],
    ['emails co "example.org"', false],
    ['emails.value co "home.org"', true],
    ['emails.value ew ".org"', true],
    ['emails.type eq "home"', true],
    ['emails.primary eq true', true],
    ['emails ne "jane@example.com"', false],
    ['emails ne "other@x"', true],
    ['tags eq "blue"', true],
    ['tags co "ed"', true],
    ['tags eq "green"', false],
    ['emails[type eq "work"]', true],
    ['emails[type eq "work" and value co "@example.com"]', true],
    ['emails[type eq "work" and value co "@home.org"]', false],
    ['emails[type eq "home" and primary eq true]', false],
    ['emails[not (type eq "work")]', true],
    ['emails[primary pr]', true],
    ['phoneNumbers[type eq "work"]', false],
    ['missing[type eq "work"]', false],
    ['title[type eq "work"]', false]
  ]
  for (const [text, expected] of cases) t.equal(matches(user, parseFilter(text)), expected, text)
})

t.test('matches: single complex values compare through value', async (t) => {
  t.ok(matches(user, parseFilter(`${ENTERPRISE}:manager eq "MGR-1"`)))
  t.ok(matches(user, parseFilter(`${ENTERPRISE}:manager[displayName eq "boss"]`)))
})

t.test('matches: URN paths', async (t) => {
  const cases: Array<[string, boolean]> = [
    [`${ENTERPRISE}:employeeNumber eq "42"`, true],
    [`${ENTERPRISE}:employeeNumber eq "43"`, false],
    [`${ENTERPRISE.toLowerCase()}:EMPLOYEENUMBER eq "42"`, true],
    [`${ENTERPRISE}:department co "r&d"`, true],
    [`${ENTERPRISE}:manager.value eq "mgr-1"`, true],
    [`${ENTERPRISE}:costCenter pr`, false],
    ['urn:ietf:params:scim:schemas:core:2.0:User:userName eq "jane@acme.com"', true],
    ['urn:ietf:params:scim:schemas:core:2.0:User:name.givenName eq "jane"', true],
    ['urn:example:missing:1.0:Thing:x pr', false]
  ]
  for (const [text, expected] of cases) t.equal(matches(user, parseFilter(text)), expected, text)
  t.ok(matches(group, parseFilter('urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq "sales"')))
  t.notOk(matches({ [ENTERPRISE]: 'not an object' }, parseFilter(`${ENTERPRISE}:x pr`)))
})

t.test('matches: does not read inherited properties', async (t) => {
  t.notOk(matches({}, parseFilter('constructor pr')))
  t.notOk(matches({}, parseFilter('toString pr')))
})

t.test('equalityLookup', async (t) => {
  const cases: Array<[string, unknown]> = [
    ['userName eq "jane@acme.com"', { attribute: 'userName', value: 'jane@acme.com' }],
    ['USERNAME EQ "Jane"', { attribute: 'userName', value: 'Jane' }],
    ['externalId eq "abc"', { attribute: 'externalId', value: 'abc' }],
    ['id eq "u1"', { attribute: 'id', value: 'u1' }],
    ['displayName eq "Sales"', { attribute: 'displayName', value: 'Sales' }],
    ['emails eq "a@x"', { attribute: 'emails.value', value: 'a@x' }],
    ['emails.value eq "a@x"', { attribute: 'emails.value', value: 'a@x' }],
    ['emails[value eq "a@x"]', { attribute: 'emails.value', value: 'a@x' }],
    ['emails[type eq "work" and value eq "a@x"]', { attribute: 'emails.value', value: 'a@x' }],
    ['urn:ietf:params:scim:schemas:core:2.0:User:userName eq "j"', { attribute: 'userName', value: 'j' }],
    ['userName eq bare', { attribute: 'userName', value: 'bare' }],
    ['userName eq "x" and active eq true', { attribute: 'userName', value: 'x' }],
    ['active eq true and userName eq "x"', { attribute: 'userName', value: 'x' }],
    ['active eq true and (title pr and externalId eq "e")', { attribute: 'externalId', value: 'e' }],
    ['a pr and b pr and displayName eq "d"', { attribute: 'displayName', value: 'd' }],
    ['userName eq "x" or userName eq "y"', undefined],
    ['not (userName eq "x")', undefined],
    ['(userName eq "x" or a pr) and b pr', undefined],
    ['userName ne "x"', undefined],
    ['userName co "x"', undefined],
    ['userName pr', undefined],
    ['id eq 5', undefined],
    ['userName eq null', undefined],
    ['title eq "x"', undefined],
    ['name.givenName eq "x"', undefined],
    ['userName.x eq "x"', undefined],
    ['emails.type eq "work"', undefined],
    ['emails[type eq "work"]', undefined],
    ['emails[value co "x"]', undefined],
    ['emails[value eq "x" or type eq "w"]', undefined],
    ['phoneNumbers[value eq "x"]', undefined],
    ['members[value eq "x"]', undefined],
    [`${ENTERPRISE}:id eq "x"`, undefined],
    ['constructor eq "x"', undefined],
    ['emails eq "a" and emails[value eq "b"]', { attribute: 'emails.value', value: 'a' }]
  ]
  for (const [text, expected] of cases) t.same(equalityLookup(parseFilter(text)), expected, text)
})

t.test('provider filters round-trip', async (t) => {
  const filters: Array<[string, boolean]> = [
    ['userName eq "jane@acme.com"', true],
    ['externalId eq "abc"', false],
    ['displayName eq "Sales"', false],
    ['emails[type eq "work"]', true],
    ['userName eq "x" and active eq true', false],
    ['members[value eq "id"]', false],
    ['meta.lastModified gt "2011-05-13T04:42:34Z"', false],
    ['title pr and userType eq "Employee"', true],
    ['userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")', true],
    ['userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")', false],
    ['name.familyName eq Employee', true],
    ['a pr or (b pr or c pr)', false],
    ['(a pr and b pr) and c pr', false],
    ['a pr and (b pr and c pr)', false],
    ['emails[type eq "a\\"b" or not (value pr)]', false],
    ['x eq null or y ge -1.5', true]
  ]
  for (const [text, onUser] of filters) {
    const parsed = parseFilter(text)
    t.same(parseFilter(stringifyFilter(parsed)), parsed, `${text} → ${stringifyFilter(parsed)}`)
    t.equal(matches(user, parsed), onUser, `matches ${text}`)
  }
  t.equal(stringifyFilter(parseFilter('a pr or b pr and c pr')), 'a pr or b pr and c pr')
  t.equal(stringifyFilter(parseFilter('(a pr or b pr) and c pr')), '(a pr or b pr) and c pr')
  t.equal(stringifyFilter(parseFilter('userName EQ bob')), 'userName eq "bob"')
})

t.test('provider filters on a group', async (t) => {
  t.ok(matches(group, parseFilter('displayName eq "Sales"')))
  t.ok(matches(group, parseFilter('displayName eq "sales"')))
  t.ok(matches(group, parseFilter('members[value eq "u2"]')))
  t.notOk(matches(group, parseFilter('members[value eq "u3"]')))
  t.ok(matches(group, parseFilter('id eq "g1"')))
})
