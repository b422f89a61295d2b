// jackson's copy of a directory's users, groups and memberships. The plugin's store answers the wire;
// jackson's store is kept equal to it so that jackson's own APIs (and this plugin's controller, which
// reads through them) see every change, and so that events carry jackson's shapes exactly.
import type { Change, StoredResource } from '../scim/backend.js'
import type { Directory, DirectorySyncEvent, Group, Result } from '../types.js'
import { extractStandardUserAttributes, transformEventPayload, type JacksonDirectorySync, type JacksonUser } from './jackson.js'

/** A stored SCIM User as jackson records it: its standard fields plus the SCIM resource as `raw`. */
export function jacksonUser (user: StoredResource): JacksonUser {
  const raw = { ...user.body, id: user.id }
  return { ...extractStandardUserAttributes(raw), id: user.id, directoryId: user.directoryId, raw }
}

export function jacksonGroup (group: StoredResource): Group {
  return { id: group.id, name: group.body.displayName as string, raw: { ...group.body, id: group.id } }
}

/** The event jackson would have sent for a change. */
export function jacksonEvent (directory: Directory, change: Change): DirectorySyncEvent {
  return transformEventPayload(change.event, {
    directory,
    user: 'user' in change ? jacksonUser(change.user) : undefined,
    group: 'group' in change ? jacksonGroup(change.group) : undefined
  })
}

function check<T> (what: string, result: Result<T>): void {
  // A record already gone from jackson's store is what a delete wanted.
  if (result.error !== null && result.error.code !== 404) throw new Error(`jackson could not ${what}: ${result.error.message}`)
}

/**
 * Tells jackson's store about the changes the plugin's store has made, on one confined set of jackson's
 * objects (the caller holds its lane). The changes are the effective ones, in order, so replaying them
 * keeps the two stores equal.
 */
export async function mirrorChanges (set: JacksonDirectorySync, directory: Directory, changes: Change[]): Promise<void> {
  const users = set.users.setTenantAndProduct(directory.tenant, directory.product)
  const groups = set.groups.setTenantAndProduct(directory.tenant, directory.product)
  for (const change of changes) {
    switch (change.event) {
      case 'user.created': check('store a user', await users.create(jacksonUser(change.user))); break
      case 'user.updated': check('store a user', await users.update(change.user.id, jacksonUser(change.user))); break
      case 'user.deleted': check('delete a user', await users.delete(change.user.id)); break
      case 'group.created': {
        const { id, name, raw } = jacksonGroup(change.group)
        check('store a group', await groups.create({ directoryId: directory.id, id, name, raw }))
        break
      }
      case 'group.updated': {
        const { id, name, raw } = jacksonGroup(change.group)
        check('store a group', await groups.update(id, { name, raw }))
        break
      }
      case 'group.deleted': check('delete a group', await groups.delete(change.group.id)); break
      case 'group.user_added': await groups.addUserToGroup(change.group.id, change.user.id); break
      case 'group.user_removed': await groups.removeUserFromGroup(change.group.id, change.user.id); break
    }
  }
}
