// jackson's copy of a directory's users, groups and memberships. The plugin's store answers the wire;
// jackson's store is kept equal to it so that jackson's own APIs (and this plugin's controller, which
// reads through them) see every change, and so that events carry jackson's shapes exactly.
import type { Change, Mirror, StoredResource } from '../scim/backend.js'
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

/** The mirror of `directory` on one confined set of jackson's objects (the caller holds its lane). */
export function mirrorOn (set: JacksonDirectorySync, directory: Directory): Mirror {
  const users = () => set.users.setTenantAndProduct(directory.tenant, directory.product)
  const groups = () => set.groups.setTenantAndProduct(directory.tenant, directory.product)
  return {
    async putUser (user, isNew) {
      const record = jacksonUser(user)
      check('store a user', isNew ? await users().create(record) : await users().update(user.id, record))
    },
    async deleteUser (id) {
      check('delete a user', await users().delete(id))
    },
    async putGroup (group, isNew) {
      const { name, raw } = jacksonGroup(group)
      check('store a group', isNew
        ? await groups().create({ directoryId: directory.id, id: group.id, name, raw })
        : await groups().update(group.id, { name, raw }))
    },
    async deleteGroup (id) {
      check('delete a group', await groups().delete(id))
    },
    async addMembers (groupId, userIds) {
      for (const userId of userIds) await groups().addUserToGroup(groupId, userId)
    },
    async removeMembers (groupId, userIds) {
      for (const userId of userIds) await groups().removeUserFromGroup(groupId, userId)
    }
  }
}
