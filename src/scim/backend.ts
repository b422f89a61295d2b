// What the SCIM operations need from below: the resource store, a way to write one directory's
// resources (serialised with that directory's other writes; the changes it reports are then mirrored
// into jackson's store), and a way to publish those changes. The engine provides it; the operations
// know nothing of databases or of jackson.
import type { Member, ResourceStore, StoredResource } from '../store/types.js'
import type { Directory, EventCallback } from '../types.js'

export type Change =
  | { event: 'user.created' | 'user.updated' | 'user.deleted', user: StoredResource }
  | { event: 'group.created' | 'group.updated' | 'group.deleted', group: StoredResource }
  | { event: 'group.user_added' | 'group.user_removed', group: StoredResource, user: StoredResource }

export interface ScimBackend {
  store: ResourceStore
  /**
   * Runs one write of `directory`, one at a time per directory in this process. `fn` answers the
   * changes it stored (every effective change, and nothing else): they are what jackson's copy and the
   * event handlers are told.
   */
  write<T extends { changes: Change[] }>(directory: Directory, fn: () => Promise<T>): Promise<T>
  /** Hands the changes of one request to the event handlers, in order. */
  publish(directory: Directory, changes: Change[], callback?: EventCallback): Promise<void>
}

export type { Member, StoredResource }
