// The resource store on PostgreSQL, MySQL/MariaDB and sqlite: two tables beside jackson's, created and
// changed by versioned migrations (sql-migrations.ts), which every open applies first. Uniqueness is a
// constraint, so it holds across processes; a replace names the version it read, so two processes
// cannot overwrite each other's change unseen.
import { createHash } from 'node:crypto'
import { plainCodec, type Codec } from './codec.js'
import {
  chunked, insertIgnore, openSqlClient, placeholders, type Executor, type Query, type SqlClient, type SqlConnection
} from './sql-client.js'
import { SqlAdminStore } from './sql-admin.js'
import { SqlEventQueue, countDeprovisions, lockAndRecordEvents, lockDirectory, markCoalesced, readState, recordEvents, writeState } from './sql-events.js'
import {
  UniquenessError, type ListWindow, type Lookup, type Member, type Page, type ResourceKeys, type ResourceStore, type ResourceType, type Storage, type StoredResource, type WriteScope
} from './types.js'
import type { MigrationLogger } from './migrations.js'
import { migrateSql } from './sql-migrations.js'
import { ensureEncryption } from './encryption.js'
import { sqlEncryptionTarget } from './sql-encryption.js'
import { sqlJacksonTables } from './sql-jackson.js'
import { singleWrite } from './sql-single-write.js'

const RESOURCES = 'dsync_scim_resources'
const MEMBERS = 'dsync_scim_members'
// A scan reads this many rows at a time: on sqlite each read is synchronous, so this bounds how long one
// directory's scan holds the event loop between the yields of the caller (scim/query.ts).
const SCAN_BATCH = 200
const KEY_LENGTH = 200

// Indexed columns hold at most KEY_LENGTH characters; a longer key is stored as its digest (callers
// re-check every candidate against the full resource, so a digest is as good as the value). The
// migrations write keys in this form too.
export function indexable (value: string): string
export function indexable (value: string | null): string | null
export function indexable (value: string | null): string | null {
  if (value === null || value.length <= KEY_LENGTH) return value
  return 'sha256:' + createHash('sha256').update(value).digest('hex')
}

/** name_key, external_id and display_key of `keys`: digests under a key (codec.ts), bounded in length. */
export function storedKeys (keys: ResourceKeys, codec: Codec): [string, string | null, string | null] {
  const stored = (value: string | null) => value === null ? null : indexable(codec.digest(value))
  return [indexable(codec.digest(keys.name)), stored(keys.externalId), stored(keys.displayName)]
}

interface Row {
  directory_id: string
  resource_type: ResourceType
  id: string
  name_key: string
  external_id: string | null
  display_key: string | null
  original_keys: string
  body: string
  created: string
  last_modified: string
  version: number | string
}

const COLUMNS = 'directory_id, resource_type, id, name_key, external_id, display_key, original_keys, body, created, last_modified, version'

function fromRow (row: Row, codec: Codec): StoredResource {
  // The key columns may hold digests; the keys as given are kept beside them. They are opened on first
  // use: a read answers from the body alone and a write computes new keys from its new body, and under
  // db.encryptionKey each opening is a cipher of its own (some 10 µs of OpenSSL set-up).
  let keys: ResourceKeys | undefined
  return {
    directoryId: row.directory_id,
    type: row.resource_type,
    id: row.id,
    get keys () { return (keys ??= JSON.parse(codec.open(row.original_keys)) as ResourceKeys) },
    set keys (value) { keys = value },
    body: JSON.parse(codec.open(row.body)),
    created: row.created,
    lastModified: row.last_modified,
    version: Number(row.version)
  }
}

const LOOKUP_COLUMN: Record<Lookup['key'], string> = { id: 'id', name: 'name_key', externalId: 'external_id', displayName: 'display_key' }

function outsideOf (client: SqlClient): Executor {
  return { dialect: client.dialect, query: client.query, transaction: (fn) => client.transaction(fn), isUniqueViolation: client.isUniqueViolation, inTransaction: false }
}

function inside (client: SqlClient, query: Query): Executor {
  return { dialect: client.dialect, query, transaction: (fn) => fn(query), isUniqueViolation: client.isUniqueViolation, inTransaction: true }
}

/** Runs one call at a time: on sqlite, the lock every write to the file takes (see serialised()). */
export interface SerialLock { run<T>(fn: () => Promise<T>): Promise<T> }

export interface SqlStorageOptions {
  /** On sqlite, the lock every writer to the file takes (see serialised()). */
  serialLock?: SerialLock
  /** Where the migrations warn (a process warning without it). */
  log?: MigrationLogger
  /** How private values are stored (codec.ts); as given by default. */
  codec?: Codec
}

export async function openSqlStorage (connection: SqlConnection, { serialLock, log, codec = plainCodec }: SqlStorageOptions = {}): Promise<Storage> {
  const client = openSqlClient(connection)
  // On PostgreSQL the queue's cursors live on connections of their own that do not wait for the disk:
  // losing the last cursor moves in a crash only delivers those events again. Events themselves are
  // written with their change, on the main connections, durably.
  const bookkeeping = client.dialect === 'postgres' ? openSqlClient({ ...connection, asyncCommit: true }) : client
  try {
    // The migrations, then the key's check (and the rewrite of data stored before it was set, if need
    // be: encryption.ts). Under the sqlite file's lock, as any write (see serialised()); the
    // migrations take their own lock too.
    const prepare = async () => {
      await migrateSql(client, log)
      await ensureEncryption(sqlEncryptionTarget(client), codec, { log })
    }
    await (serialLock === undefined ? prepare() : serialLock.run(prepare))
  } catch (err) {
    await client.close()
    if (bookkeeping !== client) await bookkeeping.close()
    throw err
  }
  const outside = outsideOf(client)
  const cursors = outsideOf(bookkeeping)
  const resources = new SqlStore(outside, codec)
  return {
    resources,
    admin: new SqlAdminStore(outside),
    events: serialLock === undefined ? new SqlEventQueue(cursors, codec, outside) : serialised(new SqlEventQueue(cursors, codec, outside), serialLock),
    atomically: (directoryId, fn, options) => options?.single === true && client.dialect === 'postgres'
      ? singleWrite(resources, outside, codec, directoryId, fn, transactionally)
      : transactionally(directoryId, fn),
    concurrentWrites: client.dialect !== 'sqlite',
    jacksonTables: sqlJacksonTables(client),
    close: async () => {
      await client.close()
      if (bookkeeping !== client) await bookkeeping.close()
    }
  }

  function transactionally<T> (directoryId: string, fn: (scope: WriteScope) => Promise<T>): Promise<T> {
    return client.transaction(async (query) => {
      const executor = inside(client, query)
      let head: number | undefined
      // The directory's event row is locked last and held to the commit: the directory's events are
      // numbered in commit order, and two writes of one resource (serialised by its row lock, taken
      // when it was read) number their events in the order they changed it. The guard's reads and
      // writes come after it, under the same lock.
      const locked = async () => (head ??= await lockDirectory(executor, directoryId))
      return fn({
        resources: new SqlStore(executor, codec),
        record: async (events) => {
          if (events.length === 0) return []
          if (head === undefined && client.dialect === 'postgres') {
            const recorded = await lockAndRecordEvents(executor, directoryId, events, codec)
            head = recorded[recorded.length - 1].seq
            return recorded
          }
          const recorded = await recordEvents(executor, directoryId, await locked(), events, codec)
          head! += recorded.length
          return recorded
        },
        head: locked,
        deprovisions: async (afterSeq, since, kind) => { await locked(); return countDeprovisions(executor, directoryId, afterSeq, since, kind) },
        state: async () => { await locked(); return readState(executor, directoryId, codec) },
        trip: async (heldFrom, at) => { await locked(); await writeState(executor, directoryId, { held_from: heldFrom, tripped_at: at }) },
        release: async (through, coalesced) => {
          await locked()
          await markCoalesced(executor, directoryId, coalesced)
          await writeState(executor, directoryId, { held_from: null, tripped_at: null, released_through: through })
        },
        markDeleted: async (seq, at, webhook) => {
          await locked()
          await writeState(executor, directoryId, { deleted_seq: seq, deleted_at: at, webhook: webhook === null ? null : codec.seal(JSON.stringify(webhook)) })
        }
      })
    })
  }
}

// sqlite allows one writer at a time, and jackson's connection to the file holds its write lock across
// awaits; a write of ours arriving meanwhile would wait (synchronously, blocking the very thread that
// would finish jackson's) and fail as "database is locked". So on sqlite the queue's writes take the
// same lock as every jackson call; writes to resources already run under it (in the directory's lane).
function serialised<T extends object> (target: T, lock: SerialLock): T {
  return new Proxy(target, {
    get (object, property, receiver) {
      const value = Reflect.get(object, property, receiver)
      return typeof value === 'function' ? (...args: unknown[]) => lock.run(() => value.apply(object, args)) : value
    }
  })
}

/** The resource store alone (tests of the store contract). */
export async function openSqlStore (connection: SqlConnection, options: Omit<SqlStorageOptions, 'serialLock'> = {}): Promise<ResourceStore> {
  const storage = await openSqlStorage(connection, options)
  return Object.assign(storage.resources, { close: () => storage.close() })
}

const MEMBER_COLUMNS = ['directory_id', 'group_id', 'user_id', 'display']

export interface Statement { sql: string, params: unknown[] }

export class SqlStore implements ResourceStore {
  constructor (private readonly client: Executor, private readonly codec: Codec) {}

  async get (directoryId: string, type: ResourceType, id: string): Promise<StoredResource | null> {
    // In a write, the row is read to be rewritten: lock it (sqlite's write transaction already excludes others).
    const lock = this.client.inTransaction && this.client.dialect !== 'sqlite' ? ' FOR UPDATE' : ''
    // Exactly the unique key (directory_id, id), so that the plan does not depend on table statistics
    // (without them PostgreSQL was seen scanning the directory by another index); the type is checked here.
    const { rows } = await this.client.query<Row>(
      `SELECT ${COLUMNS} FROM ${RESOURCES} WHERE directory_id = ? AND id = ?${lock}`, [directoryId, id])
    return rows.length === 0 || rows[0].resource_type !== type ? null : fromRow(rows[0], this.codec)
  }

  async getMany (directoryId: string, type: ResourceType, ids: string[]): Promise<Map<string, StoredResource>> {
    const found = new Map<string, StoredResource>()
    for (const batch of chunked(this.client.dialect, [...new Set(ids)], { perRow: 1, fixed: 1 })) {
      const { rows } = await this.client.query<Row>(
        `SELECT ${COLUMNS} FROM ${RESOURCES} WHERE directory_id = ? AND id IN (${placeholders(batch.length)})${this.shareLock()}`, [directoryId, ...batch])
      for (const row of rows) if (row.resource_type === type) found.set(row.id, fromRow(row, this.codec))
    }
    return found
  }

  async list (directoryId: string, type: ResourceType, { lookup, offset, limit, total: wanted = true }: ListWindow): Promise<Page<StoredResource>> {
    let where = 'directory_id = ? AND resource_type = ?'
    const params: unknown[] = [directoryId, type]
    if (lookup) {
      where += ` AND ${LOOKUP_COLUMN[lookup.key]} = ?`
      params.push(lookup.key === 'id' ? lookup.value : indexable(this.codec.digest(lookup.value)))
    }
    const count = async () => Number((await this.client.query<{ total: number | string }>(`SELECT COUNT(*) AS total FROM ${RESOURCES} WHERE ${where}`, params)).rows[0].total)
    if (limit <= 0) return { total: await count(), items: [] }
    const { rows } = await this.client.query<Row>(
      `SELECT ${COLUMNS} FROM ${RESOURCES} WHERE ${where} ORDER BY seq LIMIT ? OFFSET ?`, [...params, limit, offset])
    // A first page that is not full holds every match: no count needed (an index lookup, usually).
    const total = offset === 0 && rows.length < limit ? rows.length : wanted ? await count() : -1
    return { total, items: rows.map((row) => fromRow(row, this.codec)) }
  }

  async * scan (directoryId: string, type: ResourceType): AsyncIterable<StoredResource> {
    let after = 0
    for (;;) {
      const { rows } = await this.client.query<Row & { seq: number | string }>(
        `SELECT seq, ${COLUMNS} FROM ${RESOURCES} WHERE directory_id = ? AND resource_type = ? AND seq > ? ORDER BY seq LIMIT ?`,
        [directoryId, type, after, SCAN_BATCH])
      for (const row of rows) yield fromRow(row, this.codec)
      if (rows.length < SCAN_BATCH) return
      after = Number(rows[rows.length - 1].seq)
    }
  }

  async insert (resource: StoredResource): Promise<void> {
    const { sql, params } = this.insertStatement(resource)
    try {
      await this.client.query(sql, params)
    } catch (err) {
      throw this.client.isUniqueViolation(err) ? new UniquenessError(resource.type, resource.keys.name) : err
    }
  }

  async replace (resource: StoredResource): Promise<boolean> {
    const { sql, params } = this.replaceStatement(resource)
    try {
      const { changes } = await this.client.query(sql, params)
      return changes === 1
    } catch (err) {
      throw this.client.isUniqueViolation(err) ? new UniquenessError(resource.type, resource.keys.name) : err
    }
  }

  /** The statement of insert(). */
  insertStatement (resource: StoredResource): Statement {
    return {
      sql: `INSERT INTO ${RESOURCES} (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      params: [
        resource.directoryId, resource.type, resource.id, ...this.keyParams(resource), ...this.sealed(resource),
        resource.created, resource.lastModified, resource.version
      ]
    }
  }

  /** The statement of replace(): it changes the row only where it still has the version before `resource`'s. */
  replaceStatement (resource: StoredResource): Statement {
    return {
      sql: `UPDATE ${RESOURCES} SET name_key = ?, external_id = ?, display_key = ?, original_keys = ?, body = ?, last_modified = ?, version = ?
         WHERE directory_id = ? AND id = ? AND resource_type = ? AND version = ?`,
      params: [
        ...this.keyParams(resource), ...this.sealed(resource), resource.lastModified, resource.version,
        resource.directoryId, resource.id, resource.type, resource.version - 1
      ]
    }
  }

  delete (directoryId: string, type: ResourceType, id: string): Promise<string[] | null> {
    return this.client.transaction(async (query) => {
      const { changes } = await query(`DELETE FROM ${RESOURCES} WHERE directory_id = ? AND id = ? AND resource_type = ?`, [directoryId, id, type])
      if (changes === 0) return null
      if (type === 'Group') {
        await query(`DELETE FROM ${MEMBERS} WHERE directory_id = ? AND group_id = ?`, [directoryId, id])
        return []
      }
      const { rows } = await query<{ group_id: string }>(`SELECT group_id FROM ${MEMBERS} WHERE directory_id = ? AND user_id = ? ORDER BY group_id`, [directoryId, id])
      await query(`DELETE FROM ${MEMBERS} WHERE directory_id = ? AND user_id = ?`, [directoryId, id])
      return rows.map((row) => row.group_id)
    })
  }

  async members (directoryId: string, groupId: string): Promise<Member[]> {
    const { rows } = await this.client.query<{ user_id: string, display: string | null }>(
      `SELECT user_id, display FROM ${MEMBERS} WHERE directory_id = ? AND group_id = ? ORDER BY user_id`, [directoryId, groupId])
    return rows.map((row) => row.display === null ? { value: row.user_id } : { value: row.user_id, display: this.codec.open(row.display) })
  }

  // Multi-row statements, in runs under the dialect's limits (chunked()), in one transaction. PostgreSQL
  // and sqlite answer the rows actually inserted or deleted (RETURNING). MySQL has no RETURNING (MariaDB
  // has, since 10.5): there the members already in the group are read first. In a write that read is
  // exact, because the group's row is locked (get … FOR UPDATE) before its members are read, so no other
  // write changes them meanwhile.
  addMembers (directoryId: string, groupId: string, members: Member[]): Promise<string[]> {
    // The first of a user id counts, as when members are added one by one.
    const firsts = new Map<string, Member>()
    for (const member of members) if (!firsts.has(member.value)) firsts.set(member.value, member)
    const candidates = [...firsts.values()]
    if (candidates.length === 0) return Promise.resolve([])
    const { dialect } = this.client
    return this.client.transaction(async (query) => {
      const added = new Set<string>()
      const present = dialect === 'mysql' ? await this.presentMembers(query, directoryId, groupId, candidates.map((m) => m.value)) : new Set<string>()
      const adding = candidates.filter((m) => !present.has(m.value))
      const stored = adding.map((m) => ({ value: m.value, display: m.display === undefined ? null : this.codec.seal(m.display) }))
      const bytes = (m: { value: string, display: string | null }) => Buffer.byteLength(m.value) + Buffer.byteLength(m.display ?? '') + 100
      for (const run of chunked(dialect, stored, { perRow: MEMBER_COLUMNS.length, bytes })) {
        const sql = insertIgnore(dialect, MEMBERS, MEMBER_COLUMNS, run.length)
        const params = run.flatMap((m) => [directoryId, groupId, m.value, m.display])
        if (dialect === 'mysql') {
          await query(sql, params)
          for (const m of run) added.add(m.value)
        } else {
          const { rows } = await query<{ user_id: string }>(`${sql} RETURNING user_id`, params)
          for (const row of rows) added.add(row.user_id)
        }
      }
      return candidates.filter((m) => added.has(m.value)).map((m) => m.value)
    })
  }

  removeMembers (directoryId: string, groupId: string, userIds: string[]): Promise<string[]> {
    const candidates = [...new Set(userIds)]
    if (candidates.length === 0) return Promise.resolve([])
    const { dialect } = this.client
    return this.client.transaction(async (query) => {
      const removed = new Set<string>()
      const removing = dialect === 'mysql' ? [...await this.presentMembers(query, directoryId, groupId, candidates)] : candidates
      for (const run of chunked(dialect, removing, { perRow: 1, fixed: 2 })) {
        const sql = `DELETE FROM ${MEMBERS} WHERE directory_id = ? AND group_id = ? AND user_id IN (${placeholders(run.length)})`
        if (dialect === 'mysql') {
          await query(sql, [directoryId, groupId, ...run])
          for (const userId of run) removed.add(userId)
        } else {
          const { rows } = await query<{ user_id: string }>(`${sql} RETURNING user_id`, [directoryId, groupId, ...run])
          for (const row of rows) removed.add(row.user_id)
        }
      }
      return candidates.filter((userId) => removed.has(userId))
    })
  }

  /** Which of `userIds` are members of the group. */
  private async presentMembers (query: Query, directoryId: string, groupId: string, userIds: string[]): Promise<Set<string>> {
    const present = new Set<string>()
    for (const run of chunked(this.client.dialect, userIds, { perRow: 1, fixed: 2 })) {
      const { rows } = await query<{ user_id: string }>(
        `SELECT user_id FROM ${MEMBERS} WHERE directory_id = ? AND group_id = ? AND user_id IN (${placeholders(run.length)})`, [directoryId, groupId, ...run])
      for (const row of rows) present.add(row.user_id)
    }
    return present
  }

  dropDirectory (directoryId: string): Promise<void> {
    return this.client.transaction(async (query) => {
      await query(`DELETE FROM ${MEMBERS} WHERE directory_id = ?`, [directoryId])
      await query(`DELETE FROM ${RESOURCES} WHERE directory_id = ?`, [directoryId])
    })
  }

  async close (): Promise<void> {}

  // In a write, the users read by getMany (those about to become members) are share-locked: a concurrent
  // delete of one waits for this write (and then removes the new membership too), or this write waits
  // for it (and finds no user).
  private shareLock (): string {
    if (!this.client.inTransaction || this.client.dialect === 'sqlite') return ''
    return this.client.dialect === 'postgres' ? ' FOR SHARE' : ' LOCK IN SHARE MODE'
  }

  private keyParams (resource: StoredResource): [string, string | null, string | null] {
    return storedKeys(resource.keys, this.codec)
  }

  /** original_keys and body, as stored. */
  private sealed (resource: StoredResource): [string, string] {
    return [this.codec.seal(JSON.stringify(resource.keys)), this.codec.seal(JSON.stringify(resource.body))]
  }
}
