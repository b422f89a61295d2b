// Per-provider request builders: what each identity provider sends for each step of the sequence
// (paths with its filter encoding, bodies, PATCH forms, User-Agent). Each follows:
// - okta: test/fixtures/idp/okta-user-lifecycle.json and okta-group-push.json (Okta's SCIM 2.0
//   Protocol Reference): lookup with %20 encoding and startIndex=1&count=100, full create body,
//   profile updates as GET then full PUT, deactivation as a path-less replace {active: false}, group
//   push with members in the POST, the name PATCH with each membership update, remove by
//   members[value eq "…"] plus add in one PATCH, or a replace of the full list. Okta never DELETEs users.
// - entra: test/fixtures/idp/entra-user-lifecycle-aadoptscim062020.json (Tenant URL with the flag),
//   entra-user-lifecycle-default.json (without) and entra-group-membership.json: lookup with '+'
//   encoding, create with the enterprise extension, groups created empty (legacy ADSCIM schema) then
//   members added with {$ref: null, value}; PATCH ops capitalised with "False" as a string without the
//   flag, lowercase with real booleans and path-less dotted keys with it; removal by value array
//   without the flag, by members[value eq "…"] with it; DELETE after deactivation.
// - onelogin: test/fixtures/idp/onelogin-single-email.json for the create body (emails as a single
//   object, name.formatted, no displayName); everything else the generic RFC 7644 form.
// - jumpcloud: no fixture; /work/shared/notes/idp-traffic.md says only that JumpCloud removes members
//   with a value array (Entra's default shape, lowercase op); everything else the generic RFC 7644 form.
// The generic RFC 7644 form: filters with %20 encoding, PATCH replace with paths (3.5.2.3), add of a
// members value array and remove by members[value eq "…"] (3.5.2.2), DELETE (3.6).
// Providers whose User-Agent is not documented (all but Okta) send one naming the simulator.

export const PROVIDERS = ['okta', 'entra', 'onelogin', 'jumpcloud'] as const
export type Provider = typeof PROVIDERS[number]

/** The directory type a provider's directory is created with (`npm run directory -- create --type …`). */
export const DIRECTORY_TYPES: Record<Provider, string> = {
  okta: 'okta-scim-v2',
  entra: 'azure-scim-v2',
  onelogin: 'onelogin-scim-v2',
  jumpcloud: 'jumpcloud-scim-v2'
}

export type Json = Record<string, any>

/** A user as the provider knows it (its directory's profile). */
export interface Person {
  n: number
  userName: string
  givenName: string
  familyName: string
  displayName: string
  email: string
  externalId: string
  locale: string
  password: string
}

/** A user as a group member: its SCIM id, and the name the provider shows for it. */
export interface Member { id: string, display: string }

export interface MembershipChange {
  /** 0 for the first group, 1 for the second. */
  index: number
  groupId: string
  displayName: string
  add: Member[]
  remove: Member[]
  /** The members after the change. */
  full: Member[]
}

export interface ProfileUpdate {
  /** Okta reads the user and PUTs the retrieved object back with the changes; the others PATCH. */
  method: 'PUT' | 'PATCH'
  readFirst: boolean
  body: (person: Person, current: Json | undefined) => Json
}

export interface Dialect {
  provider: Provider
  label: string
  userAgent: string
  lookupUser: (userName: string) => string
  lookupGroup: (displayName: string) => string
  createUser: (person: Person) => Json
  /** Whether the group POST carries its members (else they are added with addMembers right after). */
  membersInCreate: boolean
  createGroup: (displayName: string, externalId: string, members: Member[]) => Json
  addMembers: (members: Member[]) => Json
  changeMembers: (change: MembershipChange) => Json[]
  update: ProfileUpdate
  updateLabel: string
  deactivate: () => Json
  deactivateLabel: string
  /** null: the provider deletes users; else why this one does not. */
  noDelete: string | null
}

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User'
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group'
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
const ADSCIM_GROUP = 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group'
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'

const patch = (...operations: Json[]): Json => ({ schemas: [PATCH_OP], Operations: operations })
const quoted = (value: string) => `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`
const memberFilter = (id: string) => `members[value eq ${quoted(id)}]`
const simulatorAgent = (provider: Provider) => `fastify-directory-sync-idp-simulator (${provider})`

// Okta and generic clients: encodeURIComponent (%20 for spaces, %22, %40). Entra: form encoding
// ('+' for spaces), as its provisioning client's query strings are quoted (SCIMReferenceCode#63).
const percentFilter = (attribute: string, value: string) => `filter=${encodeURIComponent(`${attribute} eq ${quoted(value)}`)}`
const formFilter = (attribute: string, value: string) => new URLSearchParams({ filter: `${attribute} eq ${quoted(value)}` }).toString()

const okta: Dialect = {
  provider: 'okta',
  label: 'Okta',
  userAgent: 'Okta SCIM Client 1.0.0',
  lookupUser: (userName) => `/Users?${percentFilter('userName', userName)}&startIndex=1&count=100`,
  lookupGroup: (displayName) => `/Groups?${percentFilter('displayName', displayName)}&startIndex=1&count=100`,
  createUser: (p) => ({
    schemas: [USER],
    userName: p.userName,
    name: { givenName: p.givenName, familyName: p.familyName },
    emails: [{ primary: true, value: p.email, type: 'work' }],
    displayName: p.displayName,
    locale: p.locale,
    externalId: p.externalId,
    groups: [],
    password: p.password,
    active: true
  }),
  membersInCreate: true,
  createGroup: (displayName, _externalId, members) => ({
    schemas: [GROUP],
    displayName,
    members: members.map((m) => ({ value: m.id, display: m.display }))
  }),
  addMembers: (members) => patch({ op: 'add', path: 'members', value: members.map((m) => ({ value: m.id, display: m.display })) }),
  changeMembers: (c) => {
    // The name PATCH comes with each membership update (Okta reference, "Update a specific Group name").
    const rename = patch({ op: 'replace', value: { id: c.groupId, displayName: c.displayName } })
    if (c.index === 1) {
      return [rename, patch({ op: 'replace', path: 'members', value: c.full.map((m) => ({ value: m.id, display: m.display })) })]
    }
    const ops: Json[] = c.remove.map((m) => ({ op: 'remove', path: memberFilter(m.id) }))
    if (c.add.length > 0) ops.push({ op: 'add', path: 'members', value: c.add.map((m) => ({ value: m.id, display: m.display })) })
    return ops.length > 0 ? [rename, patch(...ops)] : [rename]
  },
  update: {
    method: 'PUT',
    readFirst: true,
    // Okta sends the retrieved object with the changed attributes.
    body: (p, current) => ({
      ...current,
      name: { ...(current?.name ?? {}), givenName: p.givenName, familyName: p.familyName },
      displayName: p.displayName,
      emails: [{ primary: true, value: p.email, type: 'work', display: p.email }],
      active: true
    })
  },
  updateLabel: 'GET then full PUT',
  deactivate: () => patch({ op: 'replace', value: { active: false } }),
  deactivateLabel: 'PATCH replace {active: false}',
  noDelete: 'Okta never DELETEs users: deprovisioning is the active=false PATCH'
}

function entra (flag: boolean): Dialect {
  // Without the flag Entra capitalises ops; with it, it sends them lowercase.
  const op = (name: 'add' | 'replace' | 'remove') => flag ? name : name[0].toUpperCase() + name.slice(1)
  const refMembers = (members: Member[]) => members.map((m) => ({ $ref: null, value: m.id }))
  return {
    provider: 'entra',
    label: flag ? 'Entra ID (aadOptscim062020)' : 'Entra ID (default dialect)',
    userAgent: simulatorAgent('entra'),
    lookupUser: (userName) => `/Users?${formFilter('userName', userName)}`,
    lookupGroup: (displayName) => `/Groups?excludedAttributes=members&${formFilter('displayName', displayName)}`,
    createUser: (p) => ({
      schemas: [USER, ENTERPRISE],
      externalId: p.externalId,
      userName: p.userName,
      active: true,
      displayName: p.displayName,
      emails: [{ primary: true, type: 'work', value: p.email }],
      meta: { resourceType: 'User' },
      name: { formatted: p.displayName, familyName: p.familyName, givenName: p.givenName },
      roles: []
    }),
    membersInCreate: false,
    createGroup: (displayName, externalId) => ({
      schemas: [GROUP, ADSCIM_GROUP],
      externalId,
      displayName,
      meta: { resourceType: 'Group' }
    }),
    addMembers: (members) => patch({ op: op('add'), path: 'members', value: refMembers(members) }),
    changeMembers: (c) => {
      const bodies: Json[] = []
      if (c.remove.length > 0) {
        bodies.push(flag
          ? patch(...c.remove.map((m) => ({ op: 'remove', path: memberFilter(m.id) })))
          : patch({ op: 'Remove', path: 'members', value: c.remove.map((m) => ({ value: m.id })) }))
      }
      if (c.add.length > 0) bodies.push(patch({ op: op('add'), path: 'members', value: refMembers(c.add) }))
      return bodies
    },
    update: {
      method: 'PATCH',
      readFirst: false,
      body: (p) => flag
        // A value-path replace plus a path-less replace with dotted keys ("With feature flag").
        ? patch(
          { op: 'replace', path: 'emails[type eq "work"].value', value: p.email },
          { op: 'replace', value: { displayName: p.displayName, 'name.givenName': p.givenName, 'name.familyName': p.familyName } }
        )
        : patch(
          { op: 'Replace', path: 'displayName', value: p.displayName },
          { op: 'Replace', path: 'emails[type eq "work"].value', value: p.email },
          { op: 'Replace', path: 'name.givenName', value: p.givenName },
          { op: 'Replace', path: 'name.familyName', value: p.familyName }
        )
    },
    updateLabel: flag ? 'PATCH, value-path and dotted-key replace' : 'PATCH Replace with paths',
    deactivate: () => flag
      ? patch({ op: 'replace', path: 'active', value: false })
      : patch({ op: 'Replace', path: 'active', value: 'False' }),
    deactivateLabel: flag ? 'PATCH replace active false' : 'PATCH Replace active "False"',
    noDelete: null
  }
}

function generic (provider: 'onelogin' | 'jumpcloud'): Dialect {
  const items = (members: Member[]) => members.map((m) => ({ value: m.id, display: m.display }))
  return {
    provider,
    label: provider === 'onelogin' ? 'OneLogin' : 'JumpCloud',
    userAgent: simulatorAgent(provider),
    lookupUser: (userName) => `/Users?${percentFilter('userName', userName)}`,
    lookupGroup: (displayName) => `/Groups?${percentFilter('displayName', displayName)}`,
    createUser: (p) => provider === 'onelogin'
      // OneLogin's SCIM JSON template, with emails as a single object (onelogin-single-email.json).
      ? {
          schemas: [USER],
          userName: p.userName,
          name: { givenName: p.givenName, familyName: p.familyName, formatted: p.displayName },
          emails: { value: p.email, type: 'work', primary: true }
        }
      : {
          schemas: [USER],
          userName: p.userName,
          externalId: p.externalId,
          name: { givenName: p.givenName, familyName: p.familyName, formatted: p.displayName },
          displayName: p.displayName,
          emails: [{ value: p.email, type: 'work', primary: true }],
          active: true
        },
    membersInCreate: true,
    createGroup: (displayName, _externalId, members) => ({ schemas: [GROUP], displayName, members: items(members) }),
    addMembers: (members) => patch({ op: 'add', path: 'members', value: items(members) }),
    changeMembers: (c) => {
      const ops: Json[] = provider === 'jumpcloud'
        // idp-traffic.md: JumpCloud removes members with a value array.
        ? (c.remove.length > 0 ? [{ op: 'remove', path: 'members', value: c.remove.map((m) => ({ value: m.id })) }] : [])
        : c.remove.map((m) => ({ op: 'remove', path: memberFilter(m.id) }))
      if (c.add.length > 0) ops.push({ op: 'add', path: 'members', value: items(c.add) })
      return ops.length > 0 ? [patch(...ops)] : []
    },
    update: {
      method: 'PATCH',
      readFirst: false,
      body: (p) => patch(
        { op: 'replace', path: 'name.familyName', value: p.familyName },
        { op: 'replace', path: 'displayName', value: p.displayName },
        { op: 'replace', path: 'emails[type eq "work"].value', value: p.email }
      )
    },
    updateLabel: 'PATCH replace with paths',
    deactivate: () => patch({ op: 'replace', path: 'active', value: false }),
    deactivateLabel: 'PATCH replace active false',
    noDelete: null
  }
}

/** The dialect of `provider`; for Entra, which one depends on the flag on its Tenant URL. */
export function dialectFor (provider: Provider, entraFlag: boolean): Dialect {
  if (provider === 'okta') return okta
  if (provider === 'entra') return entra(entraFlag)
  return generic(provider)
}

/** Whether the provider sends DELETE for users (the plan leaves deletions out otherwise). */
export const deletesUsers = (provider: Provider) => dialectFor(provider, true).noDelete === null
