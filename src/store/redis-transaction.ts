// Storage.atomically on Redis: one write of a directory (its resource changes and the events recorded
// for them) as one optimistic transaction, so that a crash or a lost connection keeps all of it or none.
//
// Redis has no transaction that reads and writes: a MULTI only queues commands, and runs them whole at
// EXEC. So a write runs `fn` against a scope whose reads go to Redis and whose changes are not made but
// queued, each answering what it WILL do, predicted from the reads plus what this write has already
// queued (an overlay). The queued commands are the store's own scripts (redis.ts) and the queue's
// (redis-events.ts), so a right prediction is the result the scripts give. Before `fn`, the scope's
// connection WATCHes the directory's write version (dsync:scim:<dir>:wv, bumped by every change of its
// resources: redis.ts) and its queue head and state; at the end it sends MULTI, the queued commands,
// INCR of the write version, EXEC. If anything watched changed in between, EXEC runs nothing (node-redis
// throws WatchError) and `fn` runs again from scratch, on fresh reads: a prediction is only ever
// applied to the state it was made from.
//
// WATCH belongs to a connection, so each write takes one of a few connections of its own (opened
// lazily, closed with the storage); the store's and the queue's other commands share the main one.
// The scripts go as EVAL with their source inside the MULTI: EVALSHA of a script the server does not
// know would fail that one command and not the others.
//
// list() and scan() of a scope read Redis as it is (they do not see the write's own queued changes);
// the other reads do.
import { loadRedis } from './drivers.js'
import { plainCodec, type Codec } from './codec.js'
import { reportingUnavailable } from './outage.js'
import { RedisAdminStore } from './redis-admin.js'
import {
  RedisStore, addMembersCalls, connectRedis, deleteCall, evalCommand, insertCall, nameForm, openRedisClient, prefixOf, removeMembersCalls, replaceCall,
  type Client, type RedisStoreOptions, type ScriptCall
} from './redis.js'
import { QueueWrite, RedisEventQueue } from './redis-events.js'
import {
  UniquenessError, type ListWindow, type Member, type Page, type ResourceStore, type ResourceType, type Storage, type StoredResource, type WriteScope
} from './types.js'

// How many times a write runs `fn` before it gives up on a directory other writes keep changing.
const ATTEMPTS = 50
// Connections for writes (the engine runs 4 write lanes); a write waits for one beyond that.
const CONNECTIONS = 4
// User ids per HMGET when predicting member changes.
const READ_BATCH = 1000

export async function openRedisStorage (url: string, { log, codec = plainCodec }: RedisStoreOptions = {}): Promise<Storage> {
  const client = await openRedisClient(url, { log, codec })
  const connections = new Connections(url, CONNECTIONS)
  // A lost connection answers 503 (outage.ts), not 500: the store, the queue and the writes alike.
  const resources = reportingUnavailable(new RedisStore(client, codec))
  const storage: Storage = {
    resources,
    events: reportingUnavailable(new RedisEventQueue(client, codec)),
    admin: reportingUnavailable(new RedisAdminStore(client)),
    concurrentWrites: false,
    atomically: (directoryId, fn) => atomically(connections, codec, directoryId, fn),
    close: async () => {
      await connections.close()
      await resources.close()
    }
  }
  return reportingUnavailable(storage)
}

async function atomically<T> (connections: Connections, codec: Codec, directoryId: string, fn: (scope: WriteScope) => Promise<T>): Promise<T> {
  const version = prefixOf(directoryId) + 'wv'
  const client = await connections.acquire()
  try {
    for (let attempt = 1; ; attempt++) {
      await client.watch([version, ...QueueWrite.watched(directoryId)])
      const commands: string[][] = []
      const resources = new ScopeStore(client, directoryId, codec, commands)
      const queue = new QueueWrite(client, directoryId, codec, commands)
      const result = await fn({
        resources,
        record: (events) => queue.record(events),
        head: () => queue.head(),
        deprovisions: (afterSeq, since, kind) => queue.deprovisions(afterSeq, since, kind),
        state: () => queue.state(),
        trip: (heldFrom, at) => queue.trip(heldFrom, at),
        release: (through, coalesced) => queue.release(through, coalesced),
        markDeleted: (seq, at, webhook) => queue.markDeleted(seq, at, webhook)
      })
      if (commands.length === 0) return result // it only read
      const multi = client.multi()
      for (const command of commands) multi.addCommand(command)
      multi.addCommand(['INCR', version])
      try {
        await multi.exec()
        return result
      } catch (err) {
        if (!(err instanceof (await loadRedis()).WatchError)) throw err
      }
      if (attempt === ATTEMPTS) throw new Error(`directory ${directoryId} was changed by other writes during each of ${ATTEMPTS} attempts of this one`)
      // Apart in time from the write that won, which may be another process's retrying too.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(attempt, 10) * 5))
    }
  } finally {
    await client.unwatch().catch(() => {}) // after EXEC there is nothing to unwatch; after a throw there is
    connections.release(client)
  }
}

/** A few connections of their own for the writes (WATCH holds for its connection's next EXEC). */
class Connections {
  private readonly idle: Client[] = []
  private readonly all = new Set<Client>()
  private readonly waiting: Array<{ resolve: (client: Client) => void, reject: (err: unknown) => void }> = []
  private opening = 0
  private closed = false

  constructor (private readonly url: string, private readonly max: number) {}

  async acquire (): Promise<Client> {
    // The message outage.ts counts as unavailable: a write after close answers 503, as on SQL.
    if (this.closed) throw new Error('The client is closed')
    const idle = this.idle.pop()
    if (idle !== undefined) return idle
    if (this.all.size + this.opening >= this.max) return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }))
    this.opening++
    try {
      // The same options as the store's client (redis.ts): a command fails at once while the
      // connection is down, which is retried in the background.
      const client = await connectRedis(this.url)
      this.all.add(client)
      return client
    } catch (err) {
      // A write waiting for this connection tries to open one itself.
      const next = this.waiting.shift()
      if (next !== undefined) this.acquire().then(next.resolve, next.reject)
      throw err
    } finally {
      this.opening--
    }
  }

  release (client: Client): void {
    const next = this.waiting.shift()
    if (next !== undefined) next.resolve(client)
    else this.idle.push(client)
  }

  async close (): Promise<void> {
    this.closed = true
    for (const { reject } of this.waiting.splice(0)) reject(new Error('The client is closed'))
    await Promise.all([...this.all].map(async (client) => {
      if (client.isReady) await client.quit().catch(() => client.disconnect())
      else if (client.isOpen) await client.disconnect()
    }))
    this.all.clear()
    this.idle.length = 0
  }
}

/** What this write has made of a resource: it, as it will be stored, or null (deleted). */
type Slot = { type: ResourceType, version: number, name: string, resource: StoredResource } | null

/** What this write has made of a group's members: cleared (the group deleted), then each user added (its Member) or removed (null). */
interface Membership { cleared: boolean, changes: Map<string, Member | null> }

/**
 * The scope's ResourceStore: reads through the store's read code, changes queued (as the store's
 * scripts) with their results predicted. Changes of another directory are refused: only this one is watched.
 */
class ScopeStore implements ResourceStore {
  private readonly reader: RedisStore
  private readonly prefix: string
  private readonly slots = new Map<string, Slot>()
  private readonly names = new Map<string, string | null>()
  private readonly memberships = new Map<string, Membership>()

  constructor (private readonly client: Client, private readonly directoryId: string, private readonly codec: Codec, private readonly commands: string[][]) {
    this.reader = new RedisStore(client, codec)
    this.prefix = prefixOf(directoryId)
  }

  // Reads

  async get (directoryId: string, type: ResourceType, id: string): Promise<StoredResource | null> {
    const slot = this.slotOf(directoryId, id)
    if (slot === undefined) return this.reader.get(directoryId, type, id)
    return slot !== null && slot.type === type ? slot.resource : null
  }

  async getMany (directoryId: string, type: ResourceType, ids: string[]): Promise<Map<string, StoredResource>> {
    const rest = ids.filter((id) => this.slotOf(directoryId, id) === undefined)
    const found = rest.length === 0 ? new Map<string, StoredResource>() : await this.reader.getMany(directoryId, type, rest)
    for (const id of ids) {
      const slot = this.slotOf(directoryId, id)
      if (slot !== undefined && slot !== null && slot.type === type) found.set(id, slot.resource)
    }
    return found
  }

  list (directoryId: string, type: ResourceType, window: ListWindow): Promise<Page<StoredResource>> {
    return this.reader.list(directoryId, type, window)
  }

  scan (directoryId: string, type: ResourceType): AsyncIterable<StoredResource> {
    return this.reader.scan(directoryId, type)
  }

  async members (directoryId: string, groupId: string): Promise<Member[]> {
    const membership = directoryId === this.directoryId ? this.memberships.get(groupId) : undefined
    if (membership === undefined) return this.reader.members(directoryId, groupId)
    const members = new Map((membership.cleared ? [] : await this.reader.members(directoryId, groupId)).map((m) => [m.value, m]))
    for (const [userId, member] of membership.changes) {
      if (member === null) members.delete(userId)
      else members.set(userId, member)
    }
    return [...members.keys()].sort().map((userId) => members.get(userId)!)
  }

  // Changes: each checked as its script will check it (redis.ts), queued, and answered.

  async insert (resource: StoredResource): Promise<void> {
    this.own(resource.directoryId)
    const name = nameForm(resource, this.codec)
    // INSERT: 0 when the id exists (of any type) or the name is held.
    if (await this.current(resource.id) !== null || await this.holder(resource.type, name) !== null) throw new UniquenessError(resource.type, resource.keys.name)
    this.queue(insertCall(resource, this.codec))
    this.slots.set(resource.id, { type: resource.type, version: resource.version, name, resource })
    this.names.set(`${resource.type}:${name}`, resource.id)
  }

  async replace (resource: StoredResource): Promise<boolean> {
    this.own(resource.directoryId)
    const { type, id } = resource
    const current = await this.current(id)
    if (current === null || current.type !== type || current.version !== resource.version - 1) return false
    const name = nameForm(resource, this.codec)
    if (name !== current.name) {
      const holder = await this.holder(type, name)
      if (holder !== null && holder !== id) throw new UniquenessError(type, resource.keys.name)
      const releases = await this.holder(type, current.name) === id
      this.names.set(`${type}:${name}`, id)
      if (releases) this.names.set(`${type}:${current.name}`, null)
    }
    this.queue(replaceCall(resource, this.codec))
    this.slots.set(id, { type, version: resource.version, name, resource })
    return true
  }

  async delete (directoryId: string, type: ResourceType, id: string): Promise<string[] | null> {
    this.own(directoryId)
    const current = await this.current(id)
    if (current === null || current.type !== type) return null
    const groups = type === 'Group' ? [] : await this.groupsOf(id)
    this.queue(deleteCall(directoryId, type, id))
    if (await this.holder(type, current.name) === id) this.names.set(`${type}:${current.name}`, null)
    this.slots.set(id, null)
    if (type === 'Group') this.memberships.set(id, { cleared: true, changes: new Map() })
    for (const groupId of groups) this.membership(groupId).changes.set(id, null)
    return groups.sort()
  }

  async addMembers (directoryId: string, groupId: string, members: Member[]): Promise<string[]> {
    this.own(directoryId)
    const membership = this.membership(groupId)
    const present = await this.storedMembers(groupId, membership, members.map((m) => m.value))
    const added: string[] = []
    // ADD_MEMBERS: HSETNX, so a user already in the group (or named twice in the call) is added once, with its first display.
    for (const member of members) {
      if (this.isMember(membership, present, member.value)) continue
      added.push(member.value)
      membership.changes.set(member.value, member)
    }
    for (const call of addMembersCalls(directoryId, groupId, members, this.codec)) this.queue(call)
    return added
  }

  async removeMembers (directoryId: string, groupId: string, userIds: string[]): Promise<string[]> {
    this.own(directoryId)
    const membership = this.membership(groupId)
    const present = await this.storedMembers(groupId, membership, userIds)
    const removed: string[] = []
    for (const userId of userIds) {
      if (!this.isMember(membership, present, userId)) continue
      removed.push(userId)
      membership.changes.set(userId, null)
    }
    for (const call of removeMembersCalls(directoryId, groupId, userIds)) this.queue(call)
    return removed
  }

  async dropDirectory (): Promise<void> {
    throw new Error('a directory is not dropped inside a write')
  }

  async close (): Promise<void> {}

  // The overlay

  private own (directoryId: string): void {
    if (directoryId !== this.directoryId) throw new Error('a write changes only the directory it was opened for')
  }

  private queue (call: ScriptCall): void {
    this.commands.push(evalCommand(call))
  }

  /** What this write made of `id` (undefined: nothing, it reads as stored). */
  private slotOf (directoryId: string, id: string): Slot | undefined {
    return directoryId === this.directoryId ? this.slots.get(id) : undefined
  }

  /** The type, version and stored name form of `id` as this write sees it; null when absent. */
  private async current (id: string): Promise<{ type: ResourceType, version: number, name: string } | null> {
    const slot = this.slots.get(id)
    if (slot !== undefined) return slot
    const [type, version, name] = await this.client.hmGet(this.prefix + 'r:' + id, ['type', 'version', 'name'])
    return type === null || type === undefined ? null : { type: type as ResourceType, version: Number(version), name: name ?? '' }
  }

  /** Which id holds a name (its stored form), as this write sees it. */
  private async holder (type: ResourceType, name: string): Promise<string | null> {
    const key = `${type}:${name}`
    if (this.names.has(key)) return this.names.get(key)!
    return await this.client.get(this.prefix + 'name:' + key) ?? null
  }

  private membership (groupId: string): Membership {
    let membership = this.memberships.get(groupId)
    if (membership === undefined) this.memberships.set(groupId, membership = { cleared: false, changes: new Map() })
    return membership
  }

  /** Which of `userIds` are stored members of the group (only those this write has not decided). */
  private async storedMembers (groupId: string, membership: Membership, userIds: string[]): Promise<Set<string>> {
    const present = new Set<string>()
    if (membership.cleared) return present
    const unknown = [...new Set(userIds.filter((userId) => !membership.changes.has(userId)))]
    for (let i = 0; i < unknown.length; i += READ_BATCH) {
      const batch = unknown.slice(i, i + READ_BATCH)
      const values = await this.client.hmGet(this.prefix + 'm:' + groupId, batch)
      batch.forEach((userId, n) => { if (values[n] !== null && values[n] !== undefined) present.add(userId) })
    }
    return present
  }

  private isMember (membership: Membership, present: Set<string>, userId: string): boolean {
    const change = membership.changes.get(userId)
    return change === undefined ? present.has(userId) : change !== null
  }

  /** The groups a user is in, as this write sees them (DELETE answers them). */
  private async groupsOf (userId: string): Promise<string[]> {
    const groups = new Set<string>()
    for (const groupId of await this.client.sMembers(this.prefix + 'g:' + userId)) {
      const membership = this.memberships.get(groupId)
      if (membership === undefined || this.isMember(membership, new Set(membership.cleared ? [] : [userId]), userId)) groups.add(groupId)
    }
    for (const [groupId, membership] of this.memberships) if (membership.changes.get(userId)) groups.add(groupId)
    return [...groups]
  }
}
