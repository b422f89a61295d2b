// jackson's copy of a directory's users, groups and memberships, and jackson's shapes for them. The
// plugin's store answers the wire and the controller; jackson's store is kept equal to it (from the
// event queue) so that jackson's own APIs, on the same database, see every change; and events carry
// jackson's shapes exactly.
import type { Change, StoredResource } from '../scim/backend.js'
import type { ResourceStore } from '../store/types.js'
import { previousValues, STANDARD_USER_FIELDS } from '../events/previous.js'
import type { Directory, DirectorySyncEvent, Group, Result, ScimEvent } from '../types.js'
import { extractStandardUserAttributes, transformEventPayload, type JacksonDirectorySync, type JacksonUser } from './jackson.js'

/** A stored SCIM User as jackson records it: its standard fields plus the SCIM resource as `raw`. */
export function jacksonUser (user: StoredResource): JacksonUser {
  const raw = { ...user.body, id: user.id }
  return { ...extractStandardUserAttributes(raw), id: user.id, directoryId: user.directoryId, raw }
}

export function jacksonGroup (group: StoredResource): Group {
  return { id: group.id, name: group.body.displayName as string, raw: { ...group.body, id: group.id } }
}

/** The event jackson would have sent for a change; an update also says what it changed (`previous`). */
export function jacksonEvent (directory: Directory, change: Change): DirectorySyncEvent {
  const event = transformEventPayload(change.event, {
    directory,
    user: 'user' in change ? jacksonUser(change.user) : undefined,
    group: 'group' in change ? jacksonGroup(change.group) : undefined
  })
  if (change.event === 'user.updated') {
    const [before, after] = [jacksonUser(change.before), jacksonUser(change.user)]
    const previous = { ...previousValues(before.raw, after.raw), ...previousValues(before, after, STANDARD_USER_FIELDS) }
    return { ...event, previous } as DirectorySyncEvent
  }
  if (change.event === 'group.updated') {
    const [before, after] = [jacksonGroup(change.before), jacksonGroup(change.group)]
    return { ...event, previous: { ...previousValues(before.raw, after.raw), ...previousValues(before, after, ['name']) } } as DirectorySyncEvent
  }
  return event
}

function check<T> (what: string, result: Result<T>): void {
  // A record already gone from jackson's store is what a delete wanted.
  if (result.error !== null && result.error.code !== 404) throw new Error(`jackson could not ${what}: ${result.error.message}`)
}

/**
 * Rebuilds jackson's copy of one directory from the plugin's store (the caller holds the directory's
 * lane, so no event of it is mirrored meanwhile; events still queued are applied on top afterwards,
 * and each of them is idempotent).
 */
export async function resyncDirectory (set: JacksonDirectorySync, directory: Directory, store: ResourceStore): Promise<ResyncReport> {
  const users = set.users.setTenantAndProduct(directory.tenant, directory.product)
  const groups = set.groups.setTenantAndProduct(directory.tenant, directory.product)
  await groups.deleteAll(directory.id)
  await users.deleteAll(directory.id)
  const report: ResyncReport = { users: 0, groups: 0, memberships: 0, failed: [] }
  // A record jackson's store refuses (too large for its column, say) is reported, and the rest goes on.
  const copy = async (id: string, fn: () => Promise<void>) => {
    try {
      await fn()
      return true
    } catch (err) {
      report.failed.push({ id, error: (err as Error).message })
      return false
    }
  }
  for await (const user of store.scan(directory.id, 'User')) {
    if (await copy(user.id, async () => check('store a user', await users.create({ ...jacksonUser(user), directoryId: directory.id })))) report.users++
  }
  for await (const group of store.scan(directory.id, 'Group')) {
    const { id, name, raw } = jacksonGroup(group)
    if (!await copy(id, async () => check('store a group', await groups.create({ directoryId: directory.id, id, name, raw })))) continue
    report.groups++
    for (const member of await store.members(directory.id, group.id)) {
      await groups.addUserToGroup(group.id, member.value)
      report.memberships++
    }
  }
  return report
}

/** What resync copied, and the records jackson's store refused. */
export interface ResyncReport { users: number, groups: number, memberships: number, failed: Array<{ id: string, error: string }> }

/** The key of jackson's copy among the event handlers. */
export const JACKSON_HANDLER = 'jackson'

/**
 * Tells jackson's store about one change the plugin's store has made, from its event, on one confined
 * set of jackson's objects (the caller holds its lane). Events arrive in order and at least once, and
 * each step here is idempotent (a put by id, a delete that may find nothing), so replaying them keeps
 * the two stores equal.
 */
export async function mirrorEvent (set: JacksonDirectorySync, event: ScimEvent): Promise<void> {
  const users = set.users.setTenantAndProduct(event.tenant, event.product)
  const groups = set.groups.setTenantAndProduct(event.tenant, event.product)
  const directoryId = event.directory_id
  switch (event.event) {
    case 'user.created': check('store a user', await users.create({ ...event.data, directoryId })); break
    case 'user.updated': check('store a user', await users.update(event.data.id, { ...event.data, directoryId })); break
    case 'user.deleted': check('delete a user', await users.delete(event.data.id)); break
    case 'group.created': {
      const { id, name, raw } = event.data
      check('store a group', await groups.create({ directoryId, id, name, raw }))
      break
    }
    case 'group.updated': check('store a group', await groups.update(event.data.id, { name: event.data.name, raw: event.data.raw })); break
    case 'group.deleted': check('delete a group', await groups.delete(event.data.id)); break
    case 'group.user_added': await groups.addUserToGroup(event.data.group.id, event.data.id); break
    case 'group.user_removed': await groups.removeUserFromGroup(event.data.group.id, event.data.id); break
  }
}
