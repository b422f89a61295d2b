// Replays every identity-provider fixture (test/fixtures/idp/*.json, format in its README.md) end to end
// over real HTTP, on a sqlite file and on PostgreSQL: one app per engine listening on 127.0.0.1, one
// directory per fixture of the fixture's directoryType. Per step it checks the status, the body (partial
// match), the headers, and the events emitted during the step; after every change it reads the touched
// resources back over SCIM and through jackson's controller and checks that both agree with each other
// and with what the events carried; after the last step it checks what the fixture left behind.
import { readdirSync, readFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import type { DbOptions, Directory, DirectorySyncEvent, DirectoryType } from '../../src/index.js'
import { buildApp, externalUrl, sqliteFile } from '../helpers/app.js'
import { allUsers } from '../helpers/directory.js'
import { LIST_SCHEMA, SCIM, type Json } from '../helpers/scim.js'
import { withService } from '../helpers/services.js'

interface Step {
  name: string
  source?: string
  note?: string
  request: { method: string, path: string, headers?: Record<string, string>, body?: unknown }
  expect: { status: number, body?: unknown, event?: string | string[] | null }
  capture?: Record<string, string>
}

interface Fixture {
  file: string
  provider: string
  scenario: string
  directoryType: DirectoryType
  steps: Step[]
}

const fixtureFolder = fileURLToPath(new URL('../fixtures/idp/', import.meta.url))

const fixtures: Fixture[] = readdirSync(fixtureFolder).filter((f) => f.endsWith('.json')).sort().map((file) => ({
  file, ...JSON.parse(readFileSync(join(fixtureFolder, file), 'utf8'))
}))

// ---- fixture plumbing -------------------------------------------------------------------------------

/** `{{name}}` placeholders replaced in every string of `value`; an unknown placeholder is an error. */
function substitute<T> (value: T, vars: Record<string, string>): T {
  if (typeof value === 'string') {
    return value.replace(/\{\{(\w+)\}\}/g, (_whole, name: string) => {
      if (!(name in vars)) throw new Error(`placeholder {{${name}}} was never captured`)
      return vars[name]
    }) as T
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, vars)) as T
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, vars)])) as T
  }
  return value
}

/**
 * The README's partial match: every expected key present with a matching value (objects recursively);
 * an expected array matches when each of its elements matches some element of the actual array, in any
 * order; anything else is compared exactly. Answers what does not match (empty when all does).
 */
function mismatches (actual: unknown, expected: unknown, at = 'body'): string[] {
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return [`${at}: expected an array, got ${JSON.stringify(actual)}`]
    return expected.flatMap((e, i) => actual.some((a) => mismatches(a, e).length === 0)
      ? []
      : [`${at}[${i}]: no element matches ${JSON.stringify(e)} in ${JSON.stringify(actual)}`])
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return [`${at}: expected an object, got ${JSON.stringify(actual)}`]
    return Object.entries(expected).flatMap(([k, v]) => k in actual
      ? mismatches((actual as Json)[k], v, `${at}.${k}`)
      : [`${at}.${k}: missing`])
  }
  return Object.is(actual, expected) ? [] : [`${at}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`]
}

const expectedEvents = (event: Step['expect']['event']): string[] => event === undefined || event === null ? [] : typeof event === 'string' ? [event] : event

const omit = (object: Json, ...keys: string[]): Json => Object.fromEntries(Object.entries(object).filter(([k]) => !keys.includes(k)))
const sorted = (values: Iterable<string>) => [...values].sort()

/** A single resource path of the fixture (/Users/{id} or /Groups/{id}, query ignored). */
function resourceOf (path: string): { kind: 'User' | 'Group', id: string } | undefined {
  const match = /^\/(Users|Groups)\/([^/?]+)(\?|$)/i.exec(path)
  if (!match) return undefined
  return { kind: match[1].toLowerCase() === 'users' ? 'User' : 'Group', id: decodeURIComponent(match[2]) }
}

function collectionOf (path: string): 'User' | 'Group' | undefined {
  const match = /^\/(Users|Groups)\/?(\?|$)/i.exec(path)
  return match ? (match[1].toLowerCase() === 'users' ? 'User' : 'Group') : undefined
}

// ---- one replay -------------------------------------------------------------------------------------

interface Answer { status: number, headers: Headers, text: string, body: Json | undefined }

/** What one fixture's replay knows: the app, its directory, the captured values and the resources seen. */
class Replay {
  readonly vars: Record<string, string> = {}
  /** Every user and group id created in this directory, with its kind; `deleted` once a DELETE answered 204. */
  readonly created = new Map<string, 'User' | 'Group'>()
  readonly deleted = new Set<string>()
  /** The latest SCIM representation read of each resource (what the events' `raw` must reflect). */
  readonly seen = new Map<string, Json>()
  /** The member `display` the provider last sent for a user id (returned with the member when given). */
  readonly displays = new Map<string, string>()
  readonly base: string

  constructor (readonly app: FastifyInstance, readonly origin: string, readonly directory: Directory, readonly events: DirectorySyncEvent[]) {
    const endpoint = new URL(directory.scim.endpoint!)
    this.base = endpoint.pathname.replace(/\/+$/, '')
  }

  /** The directory's public SCIM base (what `$ref`, `Location` and `meta.location` start with). */
  get publicBase (): string {
    return externalUrl + this.base
  }

  async send (method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<Answer> {
    const sent: Record<string, string> = { ...headers, Authorization: `Bearer ${this.directory.scim.secret}` }
    if (body !== undefined && !Object.keys(sent).some((h) => h.toLowerCase() === 'content-type')) sent['Content-Type'] = SCIM
    const response = await fetch(this.origin + this.base + path, {
      method, headers: sent, body: body === undefined ? undefined : JSON.stringify(body)
    })
    const text = await response.text()
    let parsed: Json | undefined
    try {
      parsed = text === '' ? undefined : JSON.parse(text)
    } catch {
      parsed = undefined
    }
    return { status: response.status, headers: response.headers, text, body: parsed }
  }

  /**
   * Reads a user over SCIM and through the controller and checks they agree: 404 on both when gone;
   * otherwise jackson's fields derived from the SCIM resource and `raw` equal to it. Remembers it.
   */
  async readUser (t: Test, id: string): Promise<Json | undefined> {
    const http = await this.send('GET', `/Users/${encodeURIComponent(id)}`)
    const stored = await this.app.directorySync.users.get(this.directory.id, id)
    if (http.status === 404) {
      t.equal(stored.error?.code, 404, `user ${id}: gone from jackson's controller too`)
      return undefined
    }
    t.equal(http.status, 200, `user ${id}: GET answers 200`)
    t.notOk(http.body !== undefined && 'password' in http.body, `user ${id}: no password is ever returned (RFC 7643 4.1.1)`)
    if (stored.error) {
      t.fail(`user ${id}: jackson's controller does not know it: ${stored.error.message}`)
      return http.body
    }
    const resource = http.body!
    t.same(stored.data.raw, representation(resource), `user ${id}: the controller's raw is the SCIM resource`)
    t.same(pickStandard(stored.data), standardFields(representation(resource)), `user ${id}: the controller's fields (active, email, names) match the SCIM resource`)
    this.seen.set(id, resource)
    return resource
  }

  /** The same for a group: name, raw, and the member list of jackson's controller against the SCIM members. */
  async readGroup (t: Test, id: string): Promise<Json | undefined> {
    const http = await this.send('GET', `/Groups/${encodeURIComponent(id)}`)
    const stored = await this.app.directorySync.groups.get(this.directory.id, id)
    const members = await this.app.directorySync.groups.members(this.directory.id, id)
    if (http.status === 404) {
      t.equal(stored.error?.code, 404, `group ${id}: gone from jackson's controller too`)
      t.equal(members.error?.code, 404, `group ${id}: jackson's controller lists no members`)
      return undefined
    }
    t.equal(http.status, 200, `group ${id}: GET answers 200`)
    if (stored.error || members.error) {
      t.fail(`group ${id}: jackson's controller does not know it: ${(stored.error ?? members.error)!.message}`)
      return http.body
    }
    const resource = http.body!
    const listed: Json[] = resource.members ?? []
    t.same(stored.data.raw, representation(resource), `group ${id}: the controller's raw is the SCIM resource without members`)
    t.equal(stored.data.name, resource.displayName, `group ${id}: the controller's name is the displayName`)
    t.same(sorted(members.data.map((m) => m.user_id)), sorted(listed.map((m) => m.value)), `group ${id}: jackson's members are the SCIM members`)
    for (const member of listed) {
      t.equal(member.$ref, `${this.publicBase}/Users/${member.value}`, `group ${id}: member ${member.value} has its $ref`)
      t.equal(this.created.get(member.value), 'User', `group ${id}: member ${member.value} is a user created in this directory`)
      if (this.displays.has(member.value)) t.equal(member.display, this.displays.get(member.value), `group ${id}: member ${member.value} keeps the display sent`)
    }
    this.seen.set(id, resource)
    return resource
  }

  read (t: Test, kind: 'User' | 'Group', id: string) {
    return kind === 'User' ? this.readUser(t, id) : this.readGroup(t, id)
  }

  /** jackson's member list of a group (user ids), or of every group when asked which hold a user. */
  async memberIds (groupId: string): Promise<Set<string>> {
    const members = await this.app.directorySync.groups.members(this.directory.id, groupId)
    return new Set(members.error ? [] : members.data.map((m) => m.user_id))
  }

  async groupsOf (userId: string): Promise<string[]> {
    const groups = await this.app.directorySync.groups.list(this.directory.id, { pageOffset: 0, pageLimit: 50 })
    const holding: string[] = []
    for (const group of groups.data ?? []) if ((await this.memberIds(group.id)).has(userId)) holding.push(group.id)
    return holding
  }
}

/** A SCIM resource as stored (the events' and the controller's `raw`): without meta, members, and with its id. */
function representation (resource: Json): Json {
  return omit(resource, 'meta', 'members')
}

/** jackson's user fields for a stored SCIM User, as the brief fixes them. */
function standardFields (raw: Json): Json {
  return {
    id: raw.id,
    first_name: raw.name !== undefined && 'givenName' in raw.name ? raw.name.givenName : '',
    last_name: raw.name !== undefined && 'familyName' in raw.name ? raw.name.familyName : '',
    email: Array.isArray(raw.emails) && raw.emails.length > 0 ? raw.emails[0].value : raw.userName,
    active: 'active' in raw ? raw.active : true
  }
}

const pickStandard = (user: Json): Json => ({ id: user.id, first_name: user.first_name, last_name: user.last_name, email: user.email, active: user.active })

/** An event's user part has exactly jackson's user shape, its fields derived from `raw`. */
function checkUserData (t: Test, data: Json, what: string): void {
  const { raw } = data
  const roles = raw !== undefined && raw.roles ? { roles: raw.roles } : {}
  t.same(omit(data, 'group'), { ...standardFields(raw ?? {}), ...roles, raw }, `${what}: the user data is jackson's shape, read from raw`)
  t.equal(raw?.id, data.id, `${what}: raw carries the id`)
}

function checkGroupData (t: Test, data: Json, what: string): void {
  t.same(Object.keys(data).sort(), ['id', 'name', 'raw'], `${what}: the group data is { id, name, raw }`)
  t.equal(data.raw?.id, data.id, `${what}: raw carries the id`)
  t.equal(data.name, data.raw?.displayName, `${what}: name is the displayName`)
}

/** The members a group request carries: POST/PUT `members`, and PATCH values on the `members` path or in a path-less value. */
function membersSent (body: unknown): Json[] {
  if (body === null || typeof body !== 'object') return []
  const b = body as Json
  const list = (v: unknown): Json[] => Array.isArray(v) ? v.filter((m) => m !== null && typeof m === 'object') : []
  const fromOps = list(b.Operations).flatMap((op) => /^members$/i.test(op.path ?? '')
    ? list(op.value)
    : op.path === undefined && op.value !== null && typeof op.value === 'object' ? list(op.value.members) : [])
  return [...list(b.members), ...fromOps]
}

const userOf = (event: DirectorySyncEvent): Json | undefined => event.event.startsWith('user.') || event.event.startsWith('group.user_') ? event.data as Json : undefined
const groupOf = (event: DirectorySyncEvent): Json | undefined => event.event.startsWith('group.user_') ? (event.data as Json).group : event.event.startsWith('group.') ? event.data as Json : undefined

async function replayStep (t: Test, run: Replay, step: Step): Promise<void> {
  const request = substitute(step.request, run.vars)
  const expect = substitute(step.expect, run.vars)
  const target = resourceOf(request.path)
  const method = request.method.toUpperCase()
  const changing = method !== 'GET'

  // Membership before a change of a group (jackson's view), and the groups a deleted user was in.
  const membersBefore = target?.kind === 'Group' && changing ? await run.memberIds(target.id) : new Set<string>()
  const groupsBefore = target?.kind === 'User' && method === 'DELETE' ? await run.groupsOf(target.id) : []
  const seenBefore = new Map(run.seen)

  if (target?.kind === 'Group' || collectionOf(request.path) === 'Group') {
    for (const member of membersSent(request.body)) if (typeof member.display === 'string') run.displays.set(member.value, member.display)
  }

  const first = run.events.length
  const answer = await run.send(method, request.path, request.headers, request.body)
  const emitted = run.events.slice(first)

  t.equal(answer.status, expect.status, `${method} ${request.path} answers ${expect.status}`, { body: answer.text })
  if (answer.status === 204) {
    t.equal(answer.text, '', '204 has no body')
  } else {
    t.match(answer.headers.get('content-type') ?? '', SCIM, 'content type is application/scim+json')
    t.ok(answer.body !== undefined, 'the body is JSON')
  }
  if (expect.body !== undefined) t.same(mismatches(answer.body, expect.body), [], 'the body matches expect.body')

  const collection = collectionOf(request.path)
  let createdId: string | undefined
  if (answer.status === 201) {
    createdId = answer.body?.id
    t.ok(typeof createdId === 'string' && createdId !== '', 'the created resource has an id')
    const location = `${run.publicBase}/${collection === 'User' ? 'Users' : 'Groups'}/${createdId}`
    t.equal(answer.headers.get('location'), location, 'Location names the new resource')
    t.equal(answer.body?.meta?.location, location, 'meta.location is the Location')
    t.equal(answer.body?.meta?.resourceType, collection, 'meta.resourceType')
    if (collection !== undefined && createdId !== undefined) run.created.set(createdId, collection)
  }
  if (answer.body?.schemas?.[0] === LIST_SCHEMA) {
    const resources: Json[] = answer.body.Resources ?? []
    t.equal(resources.length, Math.min(answer.body.totalResults, 100), 'the page holds the results')
  }
  // RFC 7644 3.4.2.5: an excluded attribute is not returned (not expressible as a partial match).
  if (/[?&]excludedAttributes=members(&|$)/i.test(request.path) && answer.body !== undefined) {
    const resources: Json[] = answer.body.schemas?.[0] === LIST_SCHEMA ? answer.body.Resources ?? [] : [answer.body]
    t.notOk(resources.some((r) => 'members' in r), 'excludedAttributes=members leaves members out')
  }
  // A read of one group naming its members must list exactly those (what the fixture left in the group).
  const expectedMembers = (expect.body as Json | undefined)?.members
  if (method === 'GET' && target?.kind === 'Group' && Array.isArray(expectedMembers) && answer.status === 200) {
    t.equal(answer.body?.members?.length, expectedMembers.length, 'the group has exactly the members expected')
  }
  for (const [placeholder, field] of Object.entries(step.capture ?? {})) {
    const value = answer.body?.[field]
    t.ok(typeof value === 'string' && value !== '', `captured {{${placeholder}}} from ${field}`)
    if (typeof value === 'string') run.vars[placeholder] = value
  }

  // Events: exactly the expected types in order, each for this directory.
  t.same(emitted.map((e) => e.event), expectedEvents(expect.event), 'the events emitted during the step')
  for (const [i, event] of emitted.entries()) {
    const what = `event ${i + 1} (${event.event})`
    t.same({ directory_id: event.directory_id, tenant: event.tenant, product: event.product },
      { directory_id: run.directory.id, tenant: run.directory.tenant, product: run.directory.product }, `${what}: for this directory`)
    const user = userOf(event)
    const group = groupOf(event)
    if (user !== undefined) checkUserData(t, user, what)
    if (group !== undefined) checkGroupData(t, group, what)
    // The resource the request names is the one the event is about.
    const about = target ?? (createdId !== undefined && collection !== undefined ? { kind: collection, id: createdId } : undefined)
    if (about !== undefined) {
      const aboutId = about.kind === 'User' ? user?.id : group?.id
      t.equal(aboutId, about.id, `${what}: about the ${about.kind.toLowerCase()} the request names`)
    }
  }
  if (answer.status === 204 && method === 'DELETE' && target !== undefined) run.deleted.add(target.id)

  // Read every changed resource back (SCIM and controller agree); events carry what is stored.
  if (changing && answer.status < 300) {
    const quiet = run.events.length
    const touched = new Map<string, 'User' | 'Group'>()
    if (target !== undefined) touched.set(target.id, target.kind)
    if (createdId !== undefined && collection !== undefined) touched.set(createdId, collection)
    for (const event of emitted) {
      const group = groupOf(event)
      if (group !== undefined) touched.set(group.id, 'Group')
    }
    for (const [id, kind] of touched) {
      const resource = await run.read(t, kind, id)
      t.equal(resource === undefined, run.deleted.has(id), `${kind.toLowerCase()} ${id} ${run.deleted.has(id) ? 'is gone' : 'is stored'}`)
    }
    if (answer.status === 200 && answer.body !== undefined && target !== undefined) {
      t.same(answer.body, run.seen.get(target.id), 'the response is the stored resource')
    }
    for (const [i, event] of emitted.entries()) {
      const what = `event ${i + 1} (${event.event})`
      const user = userOf(event)
      const group = groupOf(event)
      if (user !== undefined) {
        const known = event.event === 'user.deleted' ? seenBefore.get(user.id) : run.seen.get(user.id) ?? seenBefore.get(user.id)
        t.same(user.raw, known && representation(known), `${what}: raw is the user as stored`)
      }
      if (group !== undefined) {
        const known = event.event === 'group.deleted' ? seenBefore.get(group.id) : run.seen.get(group.id)
        t.same(group.raw, known && representation(known), `${what}: raw is the group as stored`)
      }
    }
    // Membership events are the net change of jackson's member list.
    if (target?.kind === 'Group' || (createdId !== undefined && collection === 'Group')) {
      const groupId = target?.id ?? createdId!
      if (method !== 'DELETE') {
        const after = await run.memberIds(groupId)
        const ids = (type: string) => sorted(emitted.filter((e) => e.event === type).map((e) => (e.data as Json).id))
        t.same(ids('group.user_added'), sorted([...after].filter((id) => !membersBefore.has(id))), 'group.user_added for each member that joined')
        t.same(ids('group.user_removed'), sorted([...membersBefore].filter((id) => !after.has(id))), 'group.user_removed for each member that left')
      }
    }
    if (target?.kind === 'User' && method === 'DELETE') {
      const removed = emitted.filter((e) => e.event === 'group.user_removed').map((e) => (e.data as Json).group.id)
      t.same(sorted(removed), sorted(groupsBefore), 'a deleted user leaves each of its groups with a group.user_removed')
      t.same(await run.groupsOf(target.id), [], 'a deleted user is in no group')
    }
    t.equal(run.events.length, quiet, 'reading back emits no event')
  }
}

/** What the fixture leaves behind: every resource it created is stored, or gone when it deleted it. */
async function checkFinalState (t: Test, run: Replay): Promise<void> {
  const alive = (kind: 'User' | 'Group') => sorted([...run.created].filter(([id, k]) => k === kind && !run.deleted.has(id)).map(([id]) => id))
  for (const [id, kind] of run.created) {
    const resource = await run.read(t, kind, id)
    t.equal(resource === undefined, run.deleted.has(id), `${kind.toLowerCase()} ${id} ${run.deleted.has(id) ? 'is gone (404 over SCIM and in the controller)' : 'is stored'}`)
  }
  t.same(sorted((await allUsers(run.app, run.directory.id)).map((u) => u.id)), alive('User'), 'the controller lists exactly the users left')
  const groups = await run.app.directorySync.groups.list(run.directory.id, { pageOffset: 0, pageLimit: 50 })
  t.same(sorted((groups.data ?? []).map((g) => g.id)), alive('Group'), 'the controller lists exactly the groups left')
  for (const [collection, kind] of [['Users', 'User'], ['Groups', 'Group']] as const) {
    const list = await run.send('GET', `/${collection}`)
    t.equal(list.body?.totalResults, alive(kind).length, `GET /${collection} counts the ${collection.toLowerCase()} left`)
  }
  const specific = finalChecks[run.directory.name]
  if (specific !== undefined) await specific(t, run)
}

const controllerUser = async (run: Replay, id: string): Promise<Json> => {
  const { data, error } = await run.app.directorySync.users.get(run.directory.id, id)
  if (error) throw new Error(`user ${id}: ${error.message}`)
  return data
}

/** What each fixture implies beyond "created resources are stored, deleted ones are gone". */
const finalChecks: Record<string, (t: Test, run: Replay) => Promise<void>> = {
  'entra-group-membership.json': async (t, run) => {
    for (const name of ['user1Id', 'user2Id']) {
      t.equal((await controllerUser(run, run.vars[name])).active, true, `${name}: deleting the group leaves its former members active`)
    }
  },
  'entra-user-lifecycle-aadoptscim062020.json': async (t, run) => {
    const deleted = run.events.filter((e) => e.directory_id === run.directory.id && e.event === 'user.deleted').map((e) => e.data as Json)
    t.same(deleted.map((data) => ({ id: data.id, active: data.active })), [{ id: run.vars.userId, active: false }], 'user.deleted carried the disabled user')
    const raw = deleted[0]?.raw ?? {}
    t.same(Object.keys(raw).filter((key) => key.startsWith('name.') || key.startsWith('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:')), [],
      'the dotted and URN keys of the path-less replace created no attribute of their own')
    t.same(raw.emails, [{ primary: true, type: 'work', value: 'mateo.lindqvist-berg@example.org' }], 'the work email was replaced in place')
  },
  'entra-user-lifecycle-default.json': async (t, run) => {
    const manager = await controllerUser(run, run.vars.managerId)
    t.same(manager.raw['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'], { employeeNumber: 'E-10033', department: 'Treasury' },
      'the manager is untouched by the changes to the user it manages')
    const deleted = run.events.filter((e) => e.directory_id === run.directory.id && e.event === 'user.deleted')
    t.match(deleted.map((e) => e.data), [{ id: run.vars.userId, active: false, raw: { phoneNumbers: [{ type: 'work', value: '+44 113 496 0712' }] } }],
      'user.deleted carried the disabled user with its last changes')
    const raw = (deleted[0]?.data as Json | undefined)?.raw ?? {}
    t.same(raw.emails, [{ primary: true, type: 'work', value: 'grace.okafor-adeyemi@example.org' }], 'the work email was replaced in place, never duplicated')
    t.same(raw.addresses, [{ type: 'work', formatted: 'Floor 3, 9 Quayside, Newcastle NE1 3DX' }], 'one work address, replaced in place')
    t.same(raw.phoneNumbers, [{ type: 'work', value: '+44 113 496 0712' }], 'one work phone number')
  },
  'okta-group-push.json': async (t, run) => {
    for (const name of ['user1Id', 'user2Id']) {
      t.equal((await controllerUser(run, run.vars[name])).active, true, `${name}: deleting the group leaves its former members active`)
    }
  },
  'okta-user-lifecycle.json': async (t, run) => {
    const user = await controllerUser(run, run.vars.userId)
    t.equal(user.active, true, 'reactivated: active via the controller')
    t.match(user.raw, { name: { middleName: 'Lakshmi' }, displayName: 'Priya L. Raman', externalId: '00u7kq3ZtP2wXnB4h5d7' }, 'the PUT profile is stored')
    t.notOk('password' in user.raw, 'the password Okta sends is not stored')
    t.equal((await allUsers(run.app, run.directory.id)).length, 1, 'the duplicate create left nothing behind')
  },
  'onelogin-single-email.json': async (t, run) => {
    const user = await controllerUser(run, run.vars.userId)
    t.equal(user.email, 'olu.adebayo@example.net', 'the controller reads the email from the normalised array')
    t.same(user.raw.emails, [{ value: 'olu.adebayo@example.net', type: 'work', primary: true }], 'stored as a one-element array')
  }
}

async function replayFixture (t: Test, app: FastifyInstance, origin: string, events: DirectorySyncEvent[], fixture: Fixture): Promise<void> {
  const { data: directory, error } = await app.directorySync.directories.create({
    tenant: `replay-${fixture.file.replace(/\.json$/, '')}`, product: 'fastify-directory-sync', type: fixture.directoryType, name: fixture.file
  })
  if (error) throw new Error(`creating the directory for ${fixture.file}: ${error.message}`)
  t.equal(directory.type, fixture.directoryType, 'the directory has the fixture\'s type')
  const endpoint = new URL(directory.scim.endpoint!)
  t.equal(`${endpoint.origin}${endpoint.pathname.replace(/\/+$/, '')}`, `${externalUrl}/api/scim/v2.0/${directory.id}`, 'the SCIM endpoint is externalUrl + scimPath + directory id')
  const run = new Replay(app, origin, directory, events)
  for (const step of fixture.steps) {
    await t.test(step.name, (t) => replayStep(t, run, step))
  }
  await t.test('final state', (t) => checkFinalState(t, run))
}

async function replayAll (t: Test, db: DbOptions): Promise<void> {
  const events: DirectorySyncEvent[] = []
  const app = await buildApp(t, db, { onScimEvent: (event) => { events.push(event) } })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  for (const fixture of fixtures) {
    await t.test(fixture.file, (t) => replayFixture(t, app, origin, events, fixture))
  }
}

t.ok(fixtures.length > 0, 'there are fixtures to replay')
t.test('sqlite', (t) => replayAll(t, sqliteFile(t)))
t.test('postgres', (t) => withService(t, 'postgres', 'replay', replayAll))
