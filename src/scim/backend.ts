// What the SCIM operations need from below: the resource store, a way to write one directory's
// resources (serialised with that directory's other writes, and mirrored into jackson's store), and a
// way to publish the changes made. The engine provides it; the operations know nothing of databases.
import type { Member, ResourceStore, StoredResource } from '../store/types.js'
import type { Directory, EventCallback } from '../types.js'

export type Change =
  | { event: 'user.created' | 'user.updated' | 'user.deleted', user: StoredResource }
  | { event: 'group.created' | 'group.updated' | 'group.deleted', group: StoredResource }
  | { event: 'group.user_added' | 'group.user_removed', group: StoredResource, user: StoredResource }

/** jackson's copy of the directory's users, groups and memberships, kept equal to the store's. */
export interface Mirror {
  putUser(user: StoredResource, isNew: boolean): Promise<void>
  deleteUser(id: string): Promise<void>
  putGroup(group: StoredResource, isNew: boolean): Promise<void>
  deleteGroup(id: string): Promise<void>
  addMembers(groupId: string, userIds: string[]): Promise<void>
  removeMembers(groupId: string, userIds: string[]): Promise<void>
}

export interface ScimBackend {
  store: ResourceStore
  /** Runs one write of `directory`: one at a time per directory in this process, with jackson's mirror at hand. */
  write<T>(directory: Directory, fn: (mirror: Mirror) => Promise<T>): Promise<T>
  /** Hands the changes of one request to the event handlers, in order. */
  publish(directory: Directory, changes: Change[], callback?: EventCallback): Promise<void>
}

export type { Member, StoredResource }
