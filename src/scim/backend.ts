// What the SCIM operations need from below: the resource store, a way to write one directory's
// resources (serialised with that directory's other writes; the changes it reports are then mirrored
// into jackson's store), and a way to publish those changes. The engine provides it; the operations
// know nothing of databases or of jackson.
import type { Member, ResourceStore, StoredResource, WriteOptions } from '../store/types.js'
import type { Directory, EventCallback, ScimEvent } from '../types.js'

export type Change =
  | { event: 'user.created' | 'user.deleted', user: StoredResource }
  /** `before`: the user as it was, for the event's `previous`. */
  | { event: 'user.updated', user: StoredResource, before: StoredResource }
  | { event: 'group.created' | 'group.deleted', group: StoredResource }
  | { event: 'group.updated', group: StoredResource, before: StoredResource }
  | { event: 'group.user_added' | 'group.user_removed', group: StoredResource, user: StoredResource }

export interface ScimBackend {
  store: ResourceStore
  /**
   * Runs one write of `directory`, one at a time per directory, on `store` (where the database has
   * transactions, one transaction). `fn` answers the changes it stored (every effective change, and
   * nothing else): their events are recorded with them, and jackson's copy is told. `single`: fn reads
   * with get() and writes at most one insert() or replace(), and may run again (WriteOptions).
   */
  write<T extends { changes: Change[] }>(directory: Directory, fn: (store: ResourceStore) => Promise<T>, options?: WriteOptions): Promise<T & { events: ScimEvent[] }>
  /** Delivers a write's events to the handlers (within the response budget), and to a per-request callback if any. */
  deliver(directory: Directory, events: ScimEvent[], callback?: EventCallback): Promise<void>
}

export type { Member, StoredResource }
