// The plugin's own record of SCIM resources, kept beside jackson's store in the same database. jackson's
// key-value store has no unique constraint, keeps stale index entries and cannot count (see
// shared/notes/jackson.md), so the wire-facing state lives here: one row per resource with the columns
// that must be unique or looked up, and one row per group membership. Nothing here knows SCIM: the
// caller computes the keys.

export type ResourceType = 'User' | 'Group'

export interface ResourceKeys {
  /** Unique per directory and type, compared as given: the caller lowercases (userName, a group's displayName). */
  name: string
  externalId: string | null
  /** A lowercased displayName for lookups (users); null where there is none. */
  displayName: string | null
}

export interface StoredResource {
  directoryId: string
  type: ResourceType
  id: string
  keys: ResourceKeys
  /** The resource as the client gave it (minus what is never stored): no meta, no members. */
  body: Record<string, unknown>
  created: string
  lastModified: string
  /** Incremented by every write; a replace names the version it read. */
  version: number
}

export interface Member {
  value: string
  display?: string
}

/** An equality answerable from an index; `name` and `displayName` values are compared lowercased. */
export interface Lookup {
  key: 'id' | 'name' | 'externalId' | 'displayName'
  value: string
}

export interface Page<T> {
  total: number
  items: T[]
}

export interface ResourceStore {
  get(directoryId: string, type: ResourceType, id: string): Promise<StoredResource | null>
  /** Resources in creation order; `total` counts every match, `items` the requested window. */
  list(directoryId: string, type: ResourceType, window: { lookup?: Lookup, offset: number, limit: number }): Promise<Page<StoredResource>>
  /** Every resource of a type in creation order, in batches (for filters no index can answer). */
  scan(directoryId: string, type: ResourceType): AsyncIterable<StoredResource>
  /** Throws UniquenessError when `keys.name` is taken. */
  insert(resource: StoredResource): Promise<void>
  /** Writes `resource` if the stored version is still `resource.version - 1`; false when someone wrote in between. */
  replace(resource: StoredResource): Promise<boolean>
  /** Deletes the resource and its memberships; answers the groups a deleted user was in (null when absent). */
  delete(directoryId: string, type: ResourceType, id: string): Promise<string[] | null>
  members(directoryId: string, groupId: string): Promise<Member[]>
  /** Adds the members not yet in the group; answers the user ids actually added. */
  addMembers(directoryId: string, groupId: string, members: Member[]): Promise<string[]>
  /** Answers the user ids actually removed. */
  removeMembers(directoryId: string, groupId: string, userIds: string[]): Promise<string[]>
  /** Which of `ids` are users of this directory. */
  existingUsers(directoryId: string, ids: string[]): Promise<Set<string>>
  /** Forgets a deleted directory. */
  dropDirectory(directoryId: string): Promise<void>
  close(): Promise<void>
}

export class UniquenessError extends Error {
  constructor (readonly type: ResourceType, readonly name: string) {
    super(`A ${type} with this ${type === 'User' ? 'userName' : 'displayName'} already exists`)
    this.name = 'UniquenessError'
  }
}
