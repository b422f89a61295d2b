// The Group resource. A group's members live in the store's membership table, not in its body: the
// operations diff the member list they are given (or that a PATCH yields) against the stored one, and
// report each added or removed user as its own change.
import { randomUUID } from 'node:crypto'
import type { Member, ResourceKeys, ResourceStore, StoredResource } from '../store/types.js'
import type { Change } from './backend.js'
import { checkSize, exact, filterBudget, now, notFound, patchOperations, requireObject, rewrite, unique, validator, type Outcome, type ScimContext } from './context.js'
import { normaliseBody } from './dialects.js'
import { ScimProblem } from './errors.js'
import { applyPatch, PatchError } from './patch.js'
import { present } from './resources.js'
import { PatchOp, ScimGroup } from './schemas.js'
import { foldKey } from '../keys.js'
import { yieldToOthers } from './fairness.js'
import { memberDelta, memberOf, type MemberDelta } from './member-patch.js'

type Json = Record<string, unknown>

const validGroup = validator(ScimGroup, 'Group')
const validPatch = validator(PatchOp, 'PatchOp')

export function groupKeys (body: Json): ResourceKeys {
  return { name: foldKey(body.displayName as string), externalId: exact(body.externalId), displayName: null }
}

export function presentGroup (context: ScimContext, group: StoredResource, members?: Member[]): Json {
  if (members === undefined) return present('Group', context.baseUrl, group)
  // Built field by field (no spread): a group may have tens of thousands of members.
  const users = `${context.baseUrl}/Users/`
  const withRefs = members.map((m): Json => {
    const $ref = users + encodeURIComponent(m.value)
    // Members are users (a group's members are checked to be users of the directory), so type is "User".
    return m.display === undefined ? { value: m.value, $ref, type: 'User' } : { value: m.value, display: m.display, $ref, type: 'User' }
  })
  return present('Group', context.baseUrl, group, { members: withRefs })
}

/** Splits a group document into its body and its (deduplicated) member list. */
function splitGroup (given: unknown): { body: Json, members: Member[] } {
  const document = normaliseBody('Group', requireObject(given, 'Group'))
  validGroup(document)
  const { members: list = [], ...body } = document as Json & { members?: unknown[] }
  const members = new Map<string, Member>()
  for (const item of list as unknown[]) {
    // The document is valid (validGroup): only a missing or empty value is left to refuse.
    const member = memberOf(item)
    if (member === undefined) throw new ScimProblem(400, 'Group: every member needs a "value" (a user id)', 'invalidValue')
    members.set(member.value, member)
  }
  return { body, members: [...members.values()] }
}

// A group of many members is changed in stages; between them other requests run (fairness.ts).
const LARGE_GROUP = 500
const pause = (members: number): Promise<void> => members > LARGE_GROUP ? yieldToOthers() : Promise.resolve()

/** The users `members` name, read in batches (in a write, share-locked: getMany); 400 where one is not a user of the directory. */
async function requireUsers (context: ScimContext, store: ResourceStore, members: Member[]): Promise<Map<string, StoredResource>> {
  if (members.length === 0) return new Map()
  const known = await store.getMany(context.directory.id, 'User', members.map((m) => m.value))
  const unknown = members.filter((m) => !known.has(m.value)).map((m) => m.value)
  if (unknown.length > 0) throw new ScimProblem(400, `Group members must be users of this directory; unknown: ${unknown.slice(0, 10).join(', ')}`, 'invalidValue')
  return known
}

/** Applies a new member list: its difference from the current one (storeMembers). */
function applyMembers (context: ScimContext, store: ResourceStore, group: StoredResource, current: Member[], next: Member[]): Promise<Change[]> {
  const had = new Set(current.map((m) => m.value))
  const keeps = new Set(next.map((m) => m.value))
  return storeMembers(context, store, group, next.filter((m) => !had.has(m.value)), current.filter((m) => !keeps.has(m.value)).map((m) => m.value))
}

/**
 * Adds and removes members (checking the added are users of the directory), and answers a change for
 * each one actually added or removed: one already a member, or not one, is no change.
 */
async function storeMembers (context: ScimContext, store: ResourceStore, group: StoredResource, adding: Member[], removing: string[]): Promise<Change[]> {
  const directoryId = context.directory.id
  const users = await requireUsers(context, store, adding)
  const added = await store.addMembers(directoryId, group.id, adding)
  const removed = await store.removeMembers(directoryId, group.id, removing)
  // The users of the events, read in batches (a change of thousands of members is not thousands of reads).
  if (removed.length > 0) for (const [id, user] of await store.getMany(directoryId, 'User', removed)) users.set(id, user)
  const changes: Change[] = []
  for (const [event, ids] of [['group.user_added', added], ['group.user_removed', removed]] as const) {
    for (const userId of ids) {
      const user = users.get(userId)
      if (user !== undefined) changes.push({ event, group, user })
    }
  }
  return changes
}

export async function createGroup (context: ScimContext, given: unknown): Promise<Outcome> {
  const { body, members } = splitGroup(given)
  checkSize(context, 'Group', body)
  const time = now()
  const group: StoredResource = {
    directoryId: context.directory.id, type: 'Group', id: randomUUID(), keys: groupKeys(body), body, created: time, lastModified: time, version: 1
  }
  const { events } = await context.backend.write(context.directory, async (store) => {
    await requireUsers(context, store, members) // before the group exists, so that a bad member leaves nothing behind
    await unique(() => store.insert(group))
    return { changes: [{ event: 'group.created', group } as Change, ...await applyMembers(context, store, group, [], members)] }
  })
  const presented = presentGroup(context, group, await context.backend.store.members(context.directory.id, group.id))
  return {
    status: 201,
    body: presented,
    location: (presented.meta as Json).location as string,
    events
  }
}

/** PUT and PATCH: compute the new body and member list from the current ones, then store the difference. */
async function changeGroup (
  context: ScimContext, id: string, status: number,
  compute: (current: StoredResource, members: Member[]) => Promise<{ body: Json, members: Member[] }> | { body: Json, members: Member[] }
): Promise<Outcome> {
  const directoryId = context.directory.id
  const { group, events } = await context.backend.write(context.directory, async (store) => {
    let next: Member[] = []
    let current: Member[] = []
    const { before, after, changed } = await rewrite(context, store, 'Group', id, async (stored) => {
      current = await store.members(directoryId, id)
      await pause(current.length)
      const computed = await compute(stored, current)
      await pause(computed.members.length)
      next = computed.members
      return computed.body
    }, groupKeys)
    const changes: Change[] = changed ? [{ event: 'group.updated', group: after, before }] : []
    changes.push(...await applyMembers(context, store, after, current, next))
    return { group: after, changes }
  })
  return answerChange(context, status, group, events)
}

/** A PATCH that only adds and removes members by id (member-patch.ts): the group's member list is not read. */
async function changeMembers (context: ScimContext, id: string, status: number, delta: MemberDelta): Promise<Outcome> {
  await pause(delta.add.length + delta.remove.length)
  const { group, events } = await context.backend.write(context.directory, async (store) => {
    const group = await store.get(context.directory.id, 'Group', id)
    if (group === null) throw notFound('Group', id)
    return { group, changes: await storeMembers(context, store, group, delta.add, delta.remove) }
  })
  return answerChange(context, status, group, events)
}

async function answerChange (context: ScimContext, status: number, group: StoredResource, events: Outcome['events']): Promise<Outcome> {
  if (status === 204) return { status, events }
  return { status, body: presentGroup(context, group, await context.backend.store.members(context.directory.id, group.id)), events }
}

export function replaceGroup (context: ScimContext, id: string, given: unknown): Promise<Outcome> {
  const replacement = splitGroup(given)
  return changeGroup(context, id, 200, () => replacement)
}

export function patchGroup (context: ScimContext, id: string, given: unknown, status: 200 | 204): Promise<Outcome> {
  const patch = requireObject(given, 'PatchOp')
  validPatch(patch)
  const operations = patchOperations(context, patch)
  const delta = memberDelta(operations)
  if (delta !== undefined) return changeMembers(context, id, status, delta)
  return changeGroup(context, id, status, async (stored, members) => {
    let patched: Json
    try {
      // With its id: Okta's rename echoes it in a path-less value; splitGroup drops it again.
      patched = applyPatch({ ...stored.body, id: stored.id, members }, operations as [], {
        booleanAttributes: [], readOnly: ['id', 'meta'], filterBudget: filterBudget(context)
      })
    } catch (err) {
      if (err instanceof PatchError) throw new ScimProblem(400, err.message, err.scimType)
      throw err
    }
    await pause(members.length)
    return splitGroup(patched)
  })
}

export async function deleteGroup (context: ScimContext, id: string): Promise<Outcome> {
  const { events } = await context.backend.write(context.directory, async (store) => {
    const group = await store.get(context.directory.id, 'Group', id)
    if (group === null || await store.delete(context.directory.id, 'Group', id) === null) throw notFound('Group', id)
    return { changes: [{ event: 'group.deleted', group }] as Change[] }
  })
  return { status: 204, events }
}
