import t from 'tap'
import { PatchError, applyPatch } from '../../src/scim/patch.js'
import type { PatchErrorType, PatchOperation } from '../../src/scim/patch.js'

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User'

type Json = Record<string, unknown>

function user (): Json {
  return {
    schemas: [CORE_USER],
    id: 'u1',
    userName: 'jane@acme.com',
    displayName: 'Jane',
    active: true,
    name: { givenName: 'J', familyName: 'Doe' },
    emails: [
      { value: 'jane@acme.com', type: 'work', primary: true },
      { value: 'jane@home.org', type: 'home' }
    ],
    meta: { resourceType: 'User', version: 'W/"1"' }
  }
}

function group (): Json {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
    id: 'g1',
    displayName: 'Sales',
    members: [{ value: 'u1', display: 'one' }, { value: 'u2', display: 'two' }]
  }
}

// The subtest type, as tap hands it to a callback.
type Asserts = Parameters<Parameters<typeof t.test>[0]>[0]

function throwsPatchError (t: Asserts, fn: () => unknown, scimType: PatchErrorType): void {
  try {
    fn()
    t.fail(`expected PatchError ${scimType}`)
  } catch (err) {
    t.ok(err instanceof PatchError, `PatchError, got ${String(err)}`)
    t.equal((err as PatchError).scimType, scimType)
  }
}

function patch (resource: Json, ...ops: PatchOperation[]): Json {
  return applyPatch(resource, ops)
}

t.test('op names are case-insensitive; unknown ops are invalidSyntax', async (t) => {
  for (const op of ['add', 'Add', 'ADD', 'replace', 'Replace', 'remove', 'Remove']) {
    const value = op.toLowerCase() === 'remove' ? undefined : 'X'
    t.ok(patch(user(), { op, path: 'title', value }), op)
  }
  throwsPatchError(t, () => patch(user(), { op: 'update', path: 'title', value: 'x' }), 'invalidSyntax')
  throwsPatchError(t, () => patch(user(), { op: 'copy', path: 'title' }), 'invalidSyntax')
  throwsPatchError(t, () => patch(user(), { op: 42 as unknown as string, path: 'title' }), 'invalidSyntax')
  throwsPatchError(t, () => patch(user(), null as unknown as PatchOperation), 'invalidSyntax')
  throwsPatchError(t, () => applyPatch(user(), 'nope' as unknown as PatchOperation[]), 'invalidSyntax')
})

t.test('paths: invalid → invalidPath', async (t) => {
  for (const path of ['emails[type eq "work"', 'name.givenName.x', '1abc', 'emails[type zz "x"].value', 'a b']) {
    throwsPatchError(t, () => patch(user(), { op: 'replace', path, value: 'x' }), 'invalidPath')
  }
  throwsPatchError(t, () => patch(user(), { op: 'replace', path: 5 as unknown as string, value: 'x' }), 'invalidPath')
  throwsPatchError(t, () => patch(user(), { op: 'add', value: { 'bad key!': 1 } }), 'invalidPath')
})

t.test('add/replace without path need an object value', async (t) => {
  for (const value of ['x', 1, null, [], undefined]) {
    throwsPatchError(t, () => patch(user(), { op: 'add', value }), 'invalidValue')
    throwsPatchError(t, () => patch(user(), { op: 'replace', value }), 'invalidValue')
  }
  throwsPatchError(t, () => patch(user(), { op: 'add', path: 'title' }), 'invalidValue')
  throwsPatchError(t, () => patch(user(), { op: 'replace', path: 'title' }), 'invalidValue')
})

t.test('remove without path → noTarget', async (t) => {
  throwsPatchError(t, () => patch(user(), { op: 'remove' }), 'noTarget')
  throwsPatchError(t, () => patch(user(), { op: 'Remove', path: '' }), 'noTarget')
  throwsPatchError(t, () => patch(user(), { op: 'remove', value: { title: 'x' } }), 'noTarget')
})

t.test('input is never mutated', async (t) => {
  const input = user()
  const snapshot = structuredClone(input)
  const value = [{ value: 'new@x.com', type: 'other' }]
  const out = patch(input,
    { op: 'replace', value: { displayName: 'New', name: { givenName: 'Q' } } },
    { op: 'add', path: 'emails', value },
    { op: 'replace', path: 'emails[type eq "work"].value', value: 'w@x.com' },
    { op: 'remove', path: 'emails[type eq "home"]' },
    { op: 'remove', path: 'name.familyName' },
    { op: 'add', path: `${ENTERPRISE}:employeeNumber`, value: '1' }
  )
  t.same(input, snapshot)
  t.not(out, input)
  t.not(out.name, input.name)
  // the result does not share structure with the request either
  ;(out.emails as Json[])[1].value = 'changed'
  t.equal(value[0].value, 'new@x.com')
  const failing = user()
  throwsPatchError(t, () => patch(failing, { op: 'replace', path: 'title', value: 'x' }, { op: 'bogus' }), 'invalidSyntax')
  t.same(failing, user())
})

t.test('add without path merges keys', async (t) => {
  const out = patch(user(), {
    op: 'add',
    value: {
      title: 'Boss',
      'name.middleName': 'M',
      name: { honorificPrefix: 'Dr' },
      emails: [{ value: 'jane@acme.com', type: 'work', primary: true }, { value: 'x@x.com', type: 'other' }],
      [`${ENTERPRISE}:employeeNumber`]: '42'
    }
  })
  t.equal(out.title, 'Boss')
  t.same(out.name, { givenName: 'J', familyName: 'Doe', middleName: 'M', honorificPrefix: 'Dr' })
  t.same(out.emails, [
    { value: 'jane@acme.com', type: 'work', primary: true },
    { value: 'jane@home.org', type: 'home' },
    { value: 'x@x.com', type: 'other' }
  ], 'appended without duplicating the identical element')
  t.same(out[ENTERPRISE], { employeeNumber: '42' })
  t.same(out.schemas, [CORE_USER, ENTERPRISE], 'extension registered in schemas')
})

t.test('add without path: extension object and core URN keys', async (t) => {
  const out = patch(user(), {
    op: 'add',
    value: {
      [ENTERPRISE]: { employeeNumber: '7', manager: { value: 'm1' } },
      [CORE_USER]: { nickName: 'JJ' }
    }
  })
  t.same(out[ENTERPRISE], { employeeNumber: '7', manager: { value: 'm1' } })
  t.equal(out.nickName, 'JJ')
  t.notOk(Object.hasOwn(out, CORE_USER))

  // An existing extension object is merged into, its key case kept.
  const existing = { ...user(), [ENTERPRISE.toLowerCase()]: { department: 'R&D' } }
  const out2 = patch(existing, { op: 'add', value: { [ENTERPRISE]: { costCenter: 'C1' } } })
  t.same(out2[ENTERPRISE.toLowerCase()], { department: 'R&D', costCenter: 'C1' })
  t.notOk(Object.hasOwn(out2, ENTERPRISE))

  // An attribute URN key whose value is an object is an attribute, not an extension.
  const out3 = patch(user(), { op: 'add', value: { [`${ENTERPRISE}:manager`]: { value: 'm2' } } })
  t.same(out3[ENTERPRISE], { manager: { value: 'm2' } })
})

t.test('replace without path replaces the named attributes', async (t) => {
  const out = patch(user(), {
    op: 'replace',
    value: {
      displayName: 'New',
      emails: [{ value: 'only@x.com' }],
      name: { givenName: 'Q' }
    }
  })
  t.equal(out.displayName, 'New')
  t.same(out.emails, [{ value: 'only@x.com' }], 'multi-valued replaced wholesale')
  t.same(out.name, { givenName: 'Q', familyName: 'Doe' }, 'complex merged, unspecified sub-attributes kept')
  t.equal(out.userName, 'jane@acme.com', 'other attributes untouched')
})

t.test('read-only attributes', async (t) => {
  const same = patch(group(), { op: 'replace', value: { id: 'g1', displayName: 'new' } })
  t.equal(same.id, 'g1')
  t.equal(same.displayName, 'new')
  throwsPatchError(t, () => patch(group(), { op: 'replace', value: { id: 'g2', displayName: 'new' } }), 'mutability')
  throwsPatchError(t, () => patch(group(), { op: 'replace', path: 'id', value: 'other' }), 'mutability')
  throwsPatchError(t, () => patch(group(), { op: 'remove', path: 'id' }), 'mutability')
  throwsPatchError(t, () => patch(user(), { op: 'replace', path: 'meta.version', value: 'W/"2"' }), 'mutability')
  throwsPatchError(t, () => patch(user(), { op: 'add', value: { meta: { resourceType: 'Group' } } }), 'mutability')
  t.same(patch(user(), { op: 'replace', path: 'meta.version', value: 'W/"1"' }), user())
  t.same(patch(user(), { op: 'replace', value: { ID: 'u1' } }), user(), 'case-insensitive name')
  throwsPatchError(t, () => patch(user(), { op: 'replace', value: { [`${CORE_USER}:id`]: 'zz' } }), 'mutability')

  const custom = applyPatch(user(), [{ op: 'replace', path: 'id', value: 'changed' }], { readOnly: ['userName'] })
  t.equal(custom.id, 'changed', 'custom list replaces the default')
  throwsPatchError(t, () => applyPatch(user(), [{ op: 'replace', path: 'USERNAME', value: 'x' }], { readOnly: ['userName'] }), 'mutability')
})

t.test('add/replace with a simple path', async (t) => {
  t.equal(patch(user(), { op: 'add', path: 'title', value: 'CTO' }).title, 'CTO')
  t.equal(patch(user(), { op: 'replace', path: 'displayName', value: 'D' }).displayName, 'D')
  const out = patch(user(), { op: 'replace', path: 'displayname', value: 'D' })
  t.equal(out.displayName, 'D', 'existing key matched case-insensitively')
  t.notOk(Object.hasOwn(out, 'displayname'))
  t.equal(patch(user(), { op: 'add', path: 'nickName', value: 'n' }).nickName, 'n', 'new key keeps given case')
  t.equal(patch(user(), { op: 'replace', path: 'urn:ietf:params:scim:schemas:core:2.0:User:displayName', value: 'C' }).displayName, 'C')
  t.notOk(Object.hasOwn(patch(user(), { op: 'replace', path: 'displayName', value: null }), 'displayName'), 'null unassigns')
})

t.test('sub-attribute paths', async (t) => {
  t.same(patch(user(), { op: 'replace', path: 'name.givenName', value: 'Jane' }).name, { givenName: 'Jane', familyName: 'Doe' })
  t.same(patch({ id: 'u1' }, { op: 'add', path: 'name.givenName', value: 'Jane' }).name, { givenName: 'Jane' }, 'creates name')
  t.same(patch(user(), { op: 'replace', path: 'NAME.GIVENNAME', value: 'Z' }).name, { givenName: 'Z', familyName: 'Doe' })
  t.same(patch(user(), { op: 'add', path: 'name', value: { formatted: 'Ms J Doe' } }).name,
    { givenName: 'J', familyName: 'Doe', formatted: 'Ms J Doe' })
  t.same(patch(user(), { op: 'replace', path: 'name', value: { givenName: 'A', familyName: null } }).name, { givenName: 'A' })
  throwsPatchError(t, () => patch(user(), { op: 'add', path: 'userName.x', value: 'y' }), 'invalidPath')
  const emails = patch(user(), { op: 'replace', path: 'emails.display', value: 'd' }).emails as Json[]
  t.ok(emails.every((e) => e.display === 'd'), 'sub-attribute of every element')
  throwsPatchError(t, () => patch({ emails: [] }, { op: 'replace', path: 'emails.value', value: 'x' }), 'noTarget')
})

t.test('multi-valued attributes with a path', async (t) => {
  const added = patch(user(), { op: 'add', path: 'emails', value: [{ value: 'a@x.com', type: 'other' }] })
  t.equal((added.emails as Json[]).length, 3, 'add appends')
  const single = patch(user(), { op: 'add', path: 'emails', value: { value: 'b@x.com' } })
  t.equal((single.emails as Json[]).length, 3, 'add of a single element appends')
  const dup = patch(user(), { op: 'add', path: 'emails', value: [{ value: 'jane@home.org', type: 'home' }] })
  t.equal((dup.emails as Json[]).length, 2, 'identical element not duplicated')
  const replaced = patch(user(), { op: 'replace', path: 'emails', value: [{ value: 'c@x.com' }] })
  t.same(replaced.emails, [{ value: 'c@x.com' }], 'replace swaps the whole list')
  const created = patch({ id: 'u' }, { op: 'add', path: 'emails', value: [{ value: 'n@x.com' }] })
  t.same(created.emails, [{ value: 'n@x.com' }])
  const primary = patch(user(), { op: 'add', path: 'emails', value: [{ value: 'p@x.com', primary: true }] })
  t.same((primary.emails as Json[]).map((e) => e.primary), [false, undefined, true], 'only one primary')
})

t.test('value-path targets', async (t) => {
  const set = patch(user(), { op: 'replace', path: 'emails[type eq "work"].value', value: 'w@x.com' })
  t.same((set.emails as Json[])[0], { value: 'w@x.com', type: 'work', primary: true })
  t.same((set.emails as Json[])[1], { value: 'jane@home.org', type: 'home' })

  const ci = patch(user(), { op: 'replace', path: 'EMAILS[TYPE eq "WORK"].VALUE', value: 'w@x.com' })
  t.same((ci.emails as Json[])[0], { value: 'w@x.com', type: 'work', primary: true }, 'case-insensitive names and values')

  const many = patch({ emails: [{ type: 'work', value: 'a' }, { type: 'work', value: 'b' }] },
    { op: 'replace', path: 'emails[type eq "work"].display', value: 'W' })
  t.same(many.emails, [{ type: 'work', value: 'a', display: 'W' }, { type: 'work', value: 'b', display: 'W' }])

  const createdOnReplace = patch(user(), { op: 'replace', path: 'emails[type eq "other"].value', value: 'o@x.com' })
  t.same((createdOnReplace.emails as Json[])[2], { type: 'other', value: 'o@x.com' })

  const compound = patch({}, { op: 'add', path: 'phoneNumbers[type eq "work" and primary eq true].value', value: '555' })
  t.same(compound.phoneNumbers, [{ type: 'work', primary: true, value: '555' }])

  throwsPatchError(t, () => patch(user(), { op: 'replace', path: 'emails[type co "oth"].value', value: 'x' }), 'noTarget')
  throwsPatchError(t, () => patch(user(), { op: 'replace', path: 'emails[type eq "a" or type eq "b"].value', value: 'x' }), 'noTarget')
  throwsPatchError(t, () => patch(user(), { op: 'replace', path: 'emails[type eq "work"]', value: 'x' }), 'invalidValue')
  throwsPatchError(t, () => patch(user(), { op: 'replace', path: 'userName[type eq "work"]', value: {} }), 'invalidPath')

  const whole = patch(user(), { op: 'replace', path: 'emails[type eq "home"]', value: { value: 'h@x.com', display: 'H' } })
  t.same((whole.emails as Json[])[1], { value: 'h@x.com', type: 'home', display: 'H' })

  const removedSub = patch(user(), { op: 'remove', path: 'emails[type eq "work"].primary' })
  t.same((removedSub.emails as Json[])[0], { value: 'jane@acme.com', type: 'work' })

  const primary = patch(user(), { op: 'replace', path: 'emails[type eq "home"].primary', value: true })
  t.same((primary.emails as Json[]).map((e) => e.primary), [false, true], 'setting primary clears the others')
})

t.test('remove', async (t) => {
  t.notOk(Object.hasOwn(patch(user(), { op: 'remove', path: 'displayName' }), 'displayName'))
  t.notOk(Object.hasOwn(patch(user(), { op: 'remove', path: 'DISPLAYNAME' }), 'displayName'))
  t.same(patch(user(), { op: 'remove', path: 'name.givenName' }).name, { familyName: 'Doe' })
  t.notOk(Object.hasOwn(patch(user(), { op: 'remove', path: 'name.givenName' }, { op: 'remove', path: 'name.familyName' }), 'name'),
    'an emptied complex attribute is unassigned')
  t.same(patch(user(), { op: 'remove', path: 'emails[type eq "home"]' }).emails, [{ value: 'jane@acme.com', type: 'work', primary: true }])
  t.notOk(Object.hasOwn(patch(user(), { op: 'remove', path: 'emails[value ew "@acme.com" or type eq "home"]' }), 'emails'),
    'no values left → unassigned')
  t.notOk(Object.hasOwn(patch(group(), { op: 'remove', path: 'members' }), 'members'), 'remove all members')

  // Idempotent: nothing to remove is not an error.
  t.same(patch(user(), { op: 'remove', path: 'title' }), user())
  t.same(patch(user(), { op: 'remove', path: 'nickName.x' }), user())
  t.same(patch(user(), { op: 'remove', path: 'emails[type eq "other"]' }), user())
  t.same(patch(user(), { op: 'remove', path: 'phoneNumbers[type eq "work"]' }), user())
  t.same(patch(user(), { op: 'remove', path: `${ENTERPRISE}:employeeNumber` }), user())
})

t.test('remove of a whole extension', async (t) => {
  const withExt = { ...user(), schemas: [CORE_USER, ENTERPRISE], [ENTERPRISE]: { employeeNumber: '1' } }
  const out = patch(withExt, { op: 'remove', path: ENTERPRISE })
  t.notOk(Object.hasOwn(out, ENTERPRISE))
  t.same(out.schemas, [CORE_USER])
  const replaced = patch(withExt, { op: 'replace', path: ENTERPRISE, value: { department: 'D' } })
  t.same(replaced[ENTERPRISE], { employeeNumber: '1', department: 'D' })
})

t.test('members by value', async (t) => {
  const out = patch(group(), { op: 'add', path: 'members', value: [{ value: 'u1', display: 'other display' }, { value: 'u3' }] })
  t.same(out.members, [{ value: 'u1', display: 'one' }, { value: 'u2', display: 'two' }, { value: 'u3' }],
    'no second member with the same value')
  const casing = patch(group(), { op: 'add', path: 'members', value: [{ value: 'U1' }] })
  t.equal((casing.members as Json[]).length, 3, 'member ids are case-exact')
  const groups = patch({ groups: [{ value: 'g1' }] }, { op: 'add', path: 'groups', value: [{ value: 'g1', display: 'x' }] })
  t.same(groups.groups, [{ value: 'g1' }])
  const caseExactFilter = patch(group(), { op: 'remove', path: 'members[value eq "U1"]' })
  t.equal((caseExactFilter.members as Json[]).length, 2, 'value filter on members is case-exact')
  const replaceMatched = patch(group(), { op: 'replace', path: 'members[value eq "u2"]', value: { value: 'u9', display: 'nine' } })
  t.same(replaceMatched.members, [{ value: 'u1', display: 'one' }, { value: 'u9', display: 'nine' }])
})

t.test('booleans', async (t) => {
  for (const [given, want] of [['False', false], ['false', false], ['FALSE', false], ['True', true], ['true', true]] as const) {
    t.equal(patch(user(), { op: 'Replace', path: 'active', value: given }).active, want, given)
  }
  t.equal(patch(user(), { op: 'replace', path: 'ACTIVE', value: 'False' }).active, false, 'name case-insensitive')
  t.equal(patch(user(), { op: 'replace', value: { active: 'False' } }).active, false, 'path-less value')
  t.equal(patch(user(), { op: 'replace', value: { Active: 'false' } }).active, false, 'path-less, key case differs')
  t.equal(patch(user(), { op: 'replace', value: { [`${CORE_USER}:active`]: 'False' } }).active, false, 'URN key')
  t.equal(patch(user(), { op: 'replace', path: 'title', value: 'False' }).title, 'False', 'other attributes untouched')
  t.equal(patch(user(), { op: 'replace', path: 'active', value: 'no' }).active, 'no', 'only true/false strings')

  const opts = { booleanAttributes: ['active', 'primary', 'isAdmin'] }
  const out = applyPatch(user(), [
    { op: 'replace', path: 'emails[type eq "home"].primary', value: 'True' },
    { op: 'add', value: { 'x.isAdmin': 'TRUE', [`${ENTERPRISE}:isAdmin`]: 'false' } }
  ], opts)
  t.same((out.emails as Json[]).map((e) => e.primary), [false, true])
  t.same(out.x, { isAdmin: true }, 'dotted key')
  t.same(out[ENTERPRISE], { isAdmin: false }, 'URN key')
  const nested = applyPatch(user(), [{ op: 'add', path: 'emails', value: [{ value: 'q@x', primary: 'True' }] }], opts)
  t.equal((nested.emails as Json[])[2].primary, true, 'inside element objects')
  t.equal(applyPatch(user(), [{ op: 'replace', path: 'active', value: 'False' }], { booleanAttributes: [] }).active, 'False')
})

t.test('Okta', async (t) => {
  t.test('deactivate: replace {active:false}', async (t) => {
    const out = patch(user(), { op: 'replace', value: { active: false } })
    t.equal(out.active, false)
    t.same({ ...out, active: true }, user())
  })
  t.test('group rename with the id echoed back', async (t) => {
    const out = patch(group(), { op: 'replace', value: { id: 'g1', displayName: 'new' } })
    t.same(out, { ...group(), displayName: 'new' })
  })
  t.test('remove members[value eq "u1"]', async (t) => {
    const out = patch(group(), { op: 'remove', path: 'members[value eq "u1"]' })
    t.same(out.members, [{ value: 'u2', display: 'two' }])
  })
  t.test('add members', async (t) => {
    const out = patch(group(), { op: 'add', path: 'members', value: [{ value: 'u3', display: 'jane@acme.com' }] })
    t.same(out.members, [...(group().members as Json[]), { value: 'u3', display: 'jane@acme.com' }])
    const again = patch(out, { op: 'add', path: 'members', value: [{ value: 'u3', display: 'jane@acme.com' }] })
    t.same(again, out, 'idempotent')
  })
  t.test('replace members with a full list', async (t) => {
    const list = [{ value: 'u7', display: 'seven' }, { value: 'u8', display: 'eight' }]
    t.same(patch(group(), { op: 'replace', path: 'members', value: list }).members, list)
    t.same(patch(group(), { op: 'replace', path: 'members', value: [] }).members, [])
  })
})

t.test('Entra', async (t) => {
  t.test('Replace active "False"', async (t) => {
    t.equal(patch(user(), { op: 'Replace', path: 'active', value: 'False' }).active, false)
  })
  t.test('Add emails[type eq "work"].value on a user with no emails', async (t) => {
    const out = patch({ id: 'u1', userName: 'j' }, { op: 'Add', path: 'emails[type eq "work"].value', value: 'j@x.com' })
    t.same(out.emails, [{ type: 'work', value: 'j@x.com' }])
    const again = patch(out, { op: 'Add', path: 'emails[type eq "work"].value', value: 'k@x.com' })
    t.same(again.emails, [{ type: 'work', value: 'k@x.com' }], 'second time updates in place')
  })
  t.test('Replace addresses[type eq "work"].formatted', async (t) => {
    const out = patch(user(), { op: 'Replace', path: 'addresses[type eq "work"].formatted', value: '1 Main St' })
    t.same(out.addresses, [{ type: 'work', formatted: '1 Main St' }])
    const withAddr = { ...user(), addresses: [{ type: 'home', formatted: 'x' }, { type: 'work', formatted: 'old', country: 'US' }] }
    const out2 = patch(withAddr, { op: 'Replace', path: 'addresses[type eq "work"].formatted', value: '1 Main St' })
    t.same(out2.addresses, [{ type: 'home', formatted: 'x' }, { type: 'work', formatted: '1 Main St', country: 'US' }])
  })
  t.test('Replace enterprise employeeNumber', async (t) => {
    const out = patch(user(), { op: 'Replace', path: `${ENTERPRISE}:employeeNumber`, value: '42' })
    t.same(out[ENTERPRISE], { employeeNumber: '42' })
    t.same(out.schemas, [CORE_USER, ENTERPRISE])
    const again = patch(out, { op: 'Replace', path: `${ENTERPRISE}:employeeNumber`, value: '43' })
    t.same(again[ENTERPRISE], { employeeNumber: '43' })
    t.same(again.schemas, [CORE_USER, ENTERPRISE], 'schema listed once')
  })
  t.test('Add enterprise manager as a bare id', async (t) => {
    const out = patch(user(), { op: 'Add', path: `${ENTERPRISE}:manager`, value: 'mgr-id' })
    t.same(out[ENTERPRISE], { manager: { value: 'mgr-id' } })
    const changed = patch(out, { op: 'Replace', path: `${ENTERPRISE}:manager`, value: 'mgr-2' })
    t.same(changed[ENTERPRISE], { manager: { value: 'mgr-2' } })
    const viaSub = patch(user(), { op: 'Add', path: `${ENTERPRISE}:manager.value`, value: 'mgr-3' })
    t.same(viaSub[ENTERPRISE], { manager: { value: 'mgr-3' } })
    const removed = patch(out, { op: 'Remove', path: `${ENTERPRISE}:manager`, value: [{ value: 'mgr-id' }] })
    t.same(removed[ENTERPRISE], {})
  })
  t.test('Remove members with a value list', async (t) => {
    const out = patch(group(), { op: 'Remove', path: 'members', value: [{ value: 'u1' }] })
    t.same(out.members, [{ value: 'u2', display: 'two' }])
    const both = patch(group(), { op: 'Remove', path: 'members', value: [{ value: 'u1' }, { value: 'u2' }] })
    t.notOk(Object.hasOwn(both, 'members'))
    const missing = patch(group(), { op: 'Remove', path: 'members', value: [{ value: 'nobody' }] })
    t.same(missing, group(), 'unknown member ignored')
  })
  t.test('aadOptscim062020 path-less replace with dotted and URN keys', async (t) => {
    const out = patch(user(), {
      op: 'replace',
      value: { 'name.givenName': 'Jane', [`${ENTERPRISE}:employeeNumber`]: '42' }
    })
    t.same(out.name, { givenName: 'Jane', familyName: 'Doe' })
    t.same(out[ENTERPRISE], { employeeNumber: '42' })
    t.notOk(Object.hasOwn(out, 'name.givenName'))
  })
  t.test('Add members with $ref null', async (t) => {
    const out = patch(group(), { op: 'Add', path: 'members', value: [{ $ref: null, value: 'u3' }] })
    t.same(out.members, [...(group().members as Json[]), { value: 'u3' }])
  })
})

t.test('JumpCloud member removal', async (t) => {
  const out = patch(group(), { op: 'remove', path: 'members', value: [{ value: 'u2' }] })
  t.same(out.members, [{ value: 'u1', display: 'one' }])
})

t.test('several operations apply in order', async (t) => {
  const out = patch(group(),
    { op: 'remove', path: 'members' },
    { op: 'add', path: 'members', value: [{ value: 'a' }] },
    { op: 'add', path: 'members', value: [{ value: 'b' }] },
    { op: 'replace', path: 'displayName', value: 'X' }
  )
  t.same(out, { ...group(), displayName: 'X', members: [{ value: 'a' }, { value: 'b' }] })
})

t.test('prototype keys stay data', async (t) => {
  const out = patch(user(), { op: 'add', path: 'name', value: JSON.parse('{"__proto__":{"polluted":true}}') })
  t.equal(({} as Json).polluted, undefined)
  t.equal((out.name as Json).polluted, undefined)
})
