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

export interface ListWindow {
  lookup?: Lookup
  offset: number
  limit: number
  /** false: the caller does not need `total` (a later slice of a page), which may then be answered as -1. */
  total?: boolean
}

export interface Page<T> {
  total: number
  items: T[]
}

export interface ResourceStore {
  get(directoryId: string, type: ResourceType, id: string): Promise<StoredResource | null>
  /**
   * The resources of `ids` that exist with this type, by id: a few batched reads, not one per id. In a
   * write on SQL they are share-locked to the commit: users about to become members cannot be deleted meanwhile.
   */
  getMany(directoryId: string, type: ResourceType, ids: string[]): Promise<Map<string, StoredResource>>
  /** Resources in creation order; `total` counts every match, `items` the requested window. */
  list(directoryId: string, type: ResourceType, window: ListWindow): Promise<Page<StoredResource>>
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

/** One recorded event: the payload handlers receive, and its place in its directory's order. */
export interface RecordedEvent {
  /** The directory's own sequence: events of a directory are numbered in the order they were stored. */
  seq: number
  id: string
  directoryId: string
  payload: Record<string, unknown>
  /** Milliseconds since the epoch. */
  createdAt: number
  /** Reduced away when the deprovisioning guard was released with `coalesce`: delivered to nobody, not listed. */
  coalesced?: boolean
}

/** An event to record. */
export interface NewEvent {
  id: string
  payload: Record<string, unknown>
  createdAt: number
  /** What the deprovisioning guard counts (events/guard.ts): 1 a user deactivated, 2 a user deleted; 0 or absent otherwise. */
  deprovision?: 0 | 1 | 2
}

/** Where a directory stands beyond its events: the deprovisioning guard, and its deletion. */
export interface DirectoryState {
  /** The seq of the first event the tripped guard holds back; null while the guard is not tripped. */
  heldFrom: number | null
  /** When the guard tripped (ms); null while it is not tripped. */
  trippedAt: number | null
  /** The guard's last release covered the events up to this seq: they count no more (0: never released). */
  releasedThrough: number
  /**
   * Set when the directory was deleted: the seq of its deletion event, when (ms), and its webhook as it
   * was (so that the webhook is told of its own directory's deletion); null otherwise.
   */
  deleted: { seq: number, at: number, webhook: { endpoint: string, secret: string } | null } | null
}

export const NO_STATE: DirectoryState = Object.freeze({ heldFrom: null, trippedAt: null, releasedThrough: 0, deleted: null })

/** Where one handler stands in one directory's events. */
export interface Cursor {
  lastSeq: number
  attempts: number
  nextAttemptAt: number
  lastError: string | null
}

export interface FailedDelivery {
  event: RecordedEvent
  handler: string
  attempts: number
  error: string
  failedAt: number
}

/**
 * The durable event queue: events are recorded in the same transaction as the change they describe,
 * and every handler keeps a cursor per directory, claimed with a lease so that one instance at a time
 * delivers a directory's events to a handler, in order.
 */
export interface EventQueue {
  /** Notes a handler; the first time, it starts with the events recorded from now on. */
  registerHandler(handler: string, now: number): Promise<void>
  /** Directories with events past the handler's cursor. */
  pendingDirectories(handler: string): Promise<string[]>
  /** Claims the (directory, handler) cursor until `now + leaseMs`; null when another owner holds it. */
  claim(directoryId: string, handler: string, owner: string, now: number, leaseMs: number): Promise<Cursor | null>
  /** The events after `afterSeq`, in order (coalesced ones included, marked). */
  next(directoryId: string, afterSeq: number, limit: number): Promise<RecordedEvent[]>
  /** Where a handler's cursor stands (an unknown cursor stands at 0), whoever holds it. */
  position(directoryId: string, handler: string): Promise<{ lastSeq: number, attempts: number }>
  /** Extends the claim; false when `owner` no longer holds it. */
  renew(directoryId: string, handler: string, owner: string, now: number, leaseMs: number): Promise<boolean>
  /**
   * Moves the cursor (held by `owner`) past `seq`: delivered, or given up on (then `failed` is recorded
   * too). False when `owner` no longer holds it, and then nothing is written.
   */
  advance(directoryId: string, handler: string, owner: string, seq: number, failed?: { attempts: number, error: string, now: number }): Promise<boolean>
  /** Records a failed attempt and when to try again. */
  retryLater(directoryId: string, handler: string, owner: string, attempts: number, nextAttemptAt: number, error: string): Promise<void>
  release(directoryId: string, handler: string, owner: string): Promise<void>
  /**
   * The stream across directories (events.list): gives positions to the events committed without one,
   * and answers the highest position given.
   */
  head(): Promise<number>
  /** The events after stream position `after`, in stream order, at most `limit`, of one directory if given. */
  read(after: number, limit: number, directoryId?: string): Promise<Array<{ position: number, event: RecordedEvent }>>
  /** The highest stream position removed by retention (0: none). */
  trimmedTo(): Promise<number>
  /**
   * Removes the events recorded before `cutoff` (ms) that no kept failure needs, and the failures
   * recorded before `failedCutoff`; answers how many events were removed.
   */
  trim(cutoff: number, failedCutoff: number): Promise<number>
  /** Every handler ever registered on this database (by any instance). */
  handlers(): Promise<string[]>
  /** How many deliveries of the directory's events are kept as failed, per handler. */
  failureCounts(directoryId: string): Promise<Map<string, number>>
  /** The number of the directory's last recorded event (0: none). */
  directoryHead(directoryId: string): Promise<number>
  failures(handler?: string): Promise<FailedDelivery[]>
  removeFailure(eventId: string, handler: string): Promise<void>
  event(eventId: string): Promise<RecordedEvent | null>
  /** The directory's guard and deletion state (NO_STATE when none was stored). */
  directoryState(directoryId: string): Promise<DirectoryState>
  /** The directories whose guard is tripped, with the seq of the first event held (directoryState's heldFrom). */
  heldDirectories(): Promise<Map<string, number>>
  /** The directories recorded as deleted and not yet purged, with the seq of their deletion event. */
  deletedDirectories(): Promise<Array<{ directoryId: string, seq: number }>>
  /** Removes everything the queue keeps of a directory: its events, cursors, failures, numbering and state. */
  purgeDirectory(directoryId: string): Promise<void>
}

/** What one write may do atomically: change resources, and record the events of those changes. */
export interface WriteScope {
  resources: ResourceStore
  /** Records the events of this write's directory in order, numbered after its last one. */
  record(events: NewEvent[]): Promise<RecordedEvent[]>
  /** The number of the directory's last recorded event, this write's included (on SQL this locks the directory's numbering to the commit). */
  head(): Promise<number>
  /**
   * How many of the directory's events with seq > `afterSeq` and createdAt >= `since` are deprovisions
   * (NewEvent.deprovision > 0; of that value only, when `kind` is given).
   */
  deprovisions(afterSeq: number, since: number, kind?: 1 | 2): Promise<number>
  /** The directory's state as this write sees it. */
  state(): Promise<DirectoryState>
  /** Trips the guard: events from `heldFrom` on are held. */
  trip(heldFrom: number, at: number): Promise<void>
  /** Releases the guard: nothing is held, the events up to `through` count no more, and those of `coalesced` (seqs) are marked coalesced. */
  release(through: number, coalesced: number[]): Promise<void>
  /** Records the directory's deletion (its event's seq) and the webhook it had. */
  markDeleted(seq: number, at: number, webhook: { endpoint: string, secret: string } | null): Promise<void>
}

export interface WriteOptions {
  /**
   * `fn` reads with resources.get() and writes at most one resources.insert() or .replace(), and of the
   * scope uses nothing else but record(). Where the storage can, it then runs without a transaction:
   * on PostgreSQL the write and its events are one statement, and a replace whose version another write
   * changed meanwhile runs `fn` again (fn must be safe to run again, as on Redis).
   */
  single?: boolean
}

/** The store of an engine: resources, the event queue, and atomic writes across both. */
export interface Storage {
  resources: ResourceStore
  events: EventQueue
  admin: AdminStore
  /**
   * Runs `fn` as one transaction where the database has them (SQL): its resource changes and recorded
   * events are stored together or not at all, and the directory's events are numbered in commit
   * order across processes. On Redis it is one MULTI/EXEC, watched so that another write of the
   * directory in between runs `fn` again (fn must be safe to run again). On mem it runs `fn` as is.
   */
  atomically<T>(directoryId: string, fn: (scope: WriteScope) => Promise<T>, options?: WriteOptions): Promise<T>
  /**
   * Whether writes of one directory may run at once (PostgreSQL, MySQL: row locks order writes of one
   * resource, and the event numbering follows commit order). Elsewhere they must run one at a time.
   */
  readonly concurrentWrites: boolean
  /**
   * Writes rows of jackson's own tables (jackson_store, jackson_index) directly, a batch in one
   * transaction (SQL storages only; engine/jackson-rows.ts computes them): jackson's copy without a
   * typeorm transaction per change.
   */
  readonly jacksonTables?: JacksonTables
  close(): Promise<void>
}

/**
 * One change to jackson's key-value tables, as its SQL engine makes it (dist/db/sql/sql.js): `put`
 * writes a record (value, iv, tag as jackson's DB encoded it) and adds the index entries it does not
 * have yet (jackson never removes one on a put); `delete` removes a record and its index entries;
 * `deleteIndexed` removes every record an index entry points to (a group's memberships).
 */
export type JacksonRowOp =
  | { op: 'put', key: string, namespace: string, value: string, iv: string | null, tag: string | null, indexes: string[] }
  /** `indexes`: every index entry the record has, where they are known (a membership's): deleted by their exact keys, without a look-up by the record's. */
  | { op: 'delete', key: string, indexes?: string[] }
  | { op: 'deleteIndexed', index: string }

export interface JacksonTables {
  /** Applies the changes in order, all or none. */
  apply(ops: JacksonRowOp[]): Promise<void>
}

/** A setup link for a customer's IT admin (admin/setup-links.ts): only the digest of its token is stored. */
export interface SetupLinkRecord {
  id: string
  /** SHA-256 of the link's token, hex. */
  tokenDigest: string
  tenant: string
  product: string
  /** ms since the epoch. */
  createdAt: number
  expiresAt: number
  revokedAt: number | null
  /** The directory the IT admin created through the link (null until a provider is picked). */
  directoryId: string | null
  /** When that directory answered its first SCIM request (ms; null until then): its provider is fixed from then on. */
  firstRequestAt: number | null
}

/** A rotated SCIM token that is still accepted until `until` (ms): the digest of the old token. */
export interface TokenGrace {
  tokenDigest: string
  until: number
}

/** What the admin routes keep beside directories: setup links and rotated tokens' grace periods. */
export interface AdminStore {
  createLink(link: SetupLinkRecord): Promise<void>
  linkById(id: string): Promise<SetupLinkRecord | null>
  linkByDigest(tokenDigest: string): Promise<SetupLinkRecord | null>
  /** The links of a tenant and product (of every one without them), newest first. */
  links(filter?: { tenant: string, product: string }): Promise<SetupLinkRecord[]>
  updateLink(id: string, changes: Partial<Pick<SetupLinkRecord, 'revokedAt' | 'directoryId'>>): Promise<void>
  /** Sets the link's directory if it has none yet; false when another process set one first. */
  claimLinkDirectory(id: string, directoryId: string): Promise<boolean>
  /** Notes a directory's first SCIM request (seen by some process) on the link it was created through, if any and not noted yet. */
  markFirstRequest(directoryId: string, at: number): Promise<void>
  /** Keeps an old token accepted until `grace.until` (null: no grace, removes any). */
  setGrace(directoryId: string, grace: TokenGrace | null): Promise<void>
  grace(directoryId: string): Promise<TokenGrace | null>
}
