// The resource store on Redis, beside jackson's keys in the same database. Every key of a directory
// starts with `dsync:scim:<directoryId>:`, so that dropping a directory is one SCAN. Each write is one
// Lua script, so it is atomic: the name claim (uniqueness across processes), the version check of a
// replace and the index updates land together or not at all. The scripts build their key names from
// that prefix, which a standalone Redis allows (jackson's redis engine does not speak Redis Cluster).
//
// Keys under the prefix:
//   seq                      INCR counter: the creation order
//   r:<id>                   hash: type, seq, version, name, ext, disp (index forms) and data (the resource as JSON)
//   order:<type>             sorted set of ids scored by seq
//   name:<type>:<name>       string: the id holding that name
//   ext:<type>:<externalId>  sorted set of ids scored by seq
//   disp:<type>:<display>    sorted set of ids scored by seq
//   m:<groupId>              hash: user id → display as JSON (null when none)
//   g:<userId>               set of the group ids the user is in
//   wv                       INCR counter: the directory's write version, bumped by every change, so
//                            that a write scope (redis-transaction.ts) that WATCHes it sees any other
//                            write of the directory between its reads and its EXEC
import { createHash } from 'node:crypto'
import type { createClient } from 'redis'
import { loadRedis } from './drivers.js'
import { plainCodec, type Codec } from './codec.js'
import { reportingUnavailable } from './outage.js'
import {
  UniquenessError, type Lookup, type Member, type Page, type ResourceStore, type ResourceType, type StoredResource
} from './types.js'
import type { MigrationLogger } from './migrations.js'
import { migrateRedis } from './redis-migrations.js'
import { ensureEncryption } from './encryption.js'
import { redisEncryptionTarget } from './redis-encryption.js'

const SCAN_BATCH = 500
const MEMBER_BATCH = 1000
const KEY_LENGTH = 200

export type Client = ReturnType<typeof createClient>

// The form of a key value inside a key name: '' for none, '=' and the value, or for a long value '#'
// and its digest (two distinct values cannot share a form, unlike a digest stored as if it were a value).
// The migrations write keys in this form too.
export function indexable (value: string | null): string {
  if (value === null) return ''
  if (value.length <= KEY_LENGTH) return '=' + value
  return '#' + createHash('sha256').update(value).digest('hex')
}

// encodeURIComponent leaves no ':' in the directory id, so one directory's prefix never starts another's.
export const prefixOf = (directoryId: string) => `dsync:scim:${encodeURIComponent(directoryId)}:`
export const globEscape = (text: string) => text.replace(/[*?[\]\\]/g, '\\$&')

export class Script {
  readonly sha: string
  constructor (readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex')
  }
}

// ARGV: prefix, type, id, name, ext, disp, data, version. Answers 0 when the id or the name is taken.
const INSERT = new Script(`
local p, t, id = ARGV[1], ARGV[2], ARGV[3]
local rkey = p .. 'r:' .. id
if redis.call('EXISTS', rkey) == 1 then return 0 end
if not redis.call('SET', p .. 'name:' .. t .. ':' .. ARGV[4], id, 'NX') then return 0 end
local seq = redis.call('INCR', p .. 'seq')
redis.call('INCR', p .. 'wv')
redis.call('HSET', rkey, 'type', t, 'seq', seq, 'version', ARGV[8], 'name', ARGV[4], 'ext', ARGV[5], 'disp', ARGV[6], 'data', ARGV[7])
redis.call('ZADD', p .. 'order:' .. t, seq, id)
if ARGV[5] ~= '' then redis.call('ZADD', p .. 'ext:' .. t .. ':' .. ARGV[5], seq, id) end
if ARGV[6] ~= '' then redis.call('ZADD', p .. 'disp:' .. t .. ':' .. ARGV[6], seq, id) end
return 1
`)

// ARGV: prefix, type, id, version, name, ext, disp, data. Answers 1 when written, 0 when the stored
// version is not version - 1 (or the resource is gone), -1 when another resource holds the name.
const REPLACE = new Script(`
local p, t, id = ARGV[1], ARGV[2], ARGV[3]
local rkey = p .. 'r:' .. id
local cur = redis.call('HMGET', rkey, 'type', 'version', 'name', 'ext', 'disp', 'seq')
if cur[1] ~= t or tonumber(cur[2]) ~= tonumber(ARGV[4]) - 1 then return 0 end
local name, ext, disp, seq = ARGV[5], ARGV[6], ARGV[7], cur[6]
if name ~= cur[3] then
  local nkey = p .. 'name:' .. t .. ':' .. name
  local holder = redis.call('GET', nkey)
  if holder and holder ~= id then return -1 end
  redis.call('SET', nkey, id)
  local okey = p .. 'name:' .. t .. ':' .. cur[3]
  if redis.call('GET', okey) == id then redis.call('DEL', okey) end
end
if ext ~= cur[4] then
  if cur[4] ~= '' then redis.call('ZREM', p .. 'ext:' .. t .. ':' .. cur[4], id) end
  if ext ~= '' then redis.call('ZADD', p .. 'ext:' .. t .. ':' .. ext, seq, id) end
end
if disp ~= cur[5] then
  if cur[5] ~= '' then redis.call('ZREM', p .. 'disp:' .. t .. ':' .. cur[5], id) end
  if disp ~= '' then redis.call('ZADD', p .. 'disp:' .. t .. ':' .. disp, seq, id) end
end
redis.call('HSET', rkey, 'version', ARGV[4], 'name', name, 'ext', ext, 'disp', disp, 'data', ARGV[8])
redis.call('INCR', p .. 'wv')
return 1
`)

// ARGV: prefix, type, id. Answers nil when absent, else the groups a user was in (none for a group).
const DELETE = new Script(`
local p, t, id = ARGV[1], ARGV[2], ARGV[3]
local rkey = p .. 'r:' .. id
local cur = redis.call('HMGET', rkey, 'type', 'name', 'ext', 'disp')
if cur[1] ~= t then return false end
redis.call('INCR', p .. 'wv')
redis.call('DEL', rkey)
local nkey = p .. 'name:' .. t .. ':' .. cur[2]
if redis.call('GET', nkey) == id then redis.call('DEL', nkey) end
redis.call('ZREM', p .. 'order:' .. t, id)
if cur[3] ~= '' then redis.call('ZREM', p .. 'ext:' .. t .. ':' .. cur[3], id) end
if cur[4] ~= '' then redis.call('ZREM', p .. 'disp:' .. t .. ':' .. cur[4], id) end
if t == 'Group' then
  local mkey = p .. 'm:' .. id
  for _, user in ipairs(redis.call('HKEYS', mkey)) do redis.call('SREM', p .. 'g:' .. user, id) end
  redis.call('DEL', mkey)
  return {}
end
local gkey = p .. 'g:' .. id
local groups = redis.call('SMEMBERS', gkey)
for _, group in ipairs(groups) do redis.call('HDEL', p .. 'm:' .. group, id) end
redis.call('DEL', gkey)
return groups
`)

// ARGV: prefix, group id, then user id and display pairs. Answers the user ids added.
const ADD_MEMBERS = new Script(`
local p, gid = ARGV[1], ARGV[2]
local mkey = p .. 'm:' .. gid
local added = {}
for i = 3, #ARGV, 2 do
  if redis.call('HSETNX', mkey, ARGV[i], ARGV[i + 1]) == 1 then
    redis.call('SADD', p .. 'g:' .. ARGV[i], gid)
    added[#added + 1] = ARGV[i]
  end
end
if #added > 0 then redis.call('INCR', p .. 'wv') end
return added
`)

// ARGV: prefix, group id, then user ids. Answers the user ids removed.
const REMOVE_MEMBERS = new Script(`
local p, gid = ARGV[1], ARGV[2]
local mkey = p .. 'm:' .. gid
local removed = {}
for i = 3, #ARGV do
  if redis.call('HDEL', mkey, ARGV[i]) == 1 then
    redis.call('SREM', p .. 'g:' .. ARGV[i], gid)
    removed[#removed + 1] = ARGV[i]
  end
end
if #removed > 0 then redis.call('INCR', p .. 'wv') end
return removed
`)

// KEYS[1]: a sorted set of ids; ARGV: prefix, offset, limit. Answers the set's size, then the window's resources.
const PAGE = new Script(`
local total = redis.call('ZCARD', KEYS[1])
local offset, limit = tonumber(ARGV[2]), tonumber(ARGV[3])
local out = { total }
if limit > 0 and offset < total then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[1], offset, offset + limit - 1)) do
    local data = redis.call('HGET', ARGV[1] .. 'r:' .. id, 'data')
    if data then out[#out + 1] = data end
  end
end
return out
`)

// KEYS[1]: a sorted set of ids; ARGV: prefix, the score to start after, batch size. Answers how many
// ids the batch had, the last score, then the batch's resources.
const BATCH = new Script(`
local entries = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[2], '+inf', 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[3]))
local out = { #entries / 2, entries[#entries] or ARGV[2] }
for i = 1, #entries, 2 do
  local data = redis.call('HGET', ARGV[1] .. 'r:' .. entries[i], 'data')
  if data then out[#out + 1] = data end
end
return out
`)

/** A lookup key's form in key names: its digest under a key (codec.ts). */
export function storedKey (value: string | null, codec: Codec): string {
  return indexable(value === null ? null : codec.digest(value))
}

export interface RedisStoreOptions {
  /** Where the migrations warn (a process warning without it). */
  log?: MigrationLogger
  /** How private values and key names are stored (codec.ts); as given by default. */
  codec?: Codec
}

/** A connected client of the plugin's (the store's, and the write scopes' own: redis-transaction.ts). */
export async function connectRedis (url: string): Promise<Client> {
  let connected = false
  const { createClient } = await loadRedis()
  const client: Client = createClient({
    url,
    // A request fails while the connection is down rather than waiting for it; the first connection
    // fails at once instead of retrying forever.
    disableOfflineQueue: true,
    socket: { reconnectStrategy: (retries, cause) => connected ? Math.min(retries * 50, 500) : cause }
  })
  client.on('error', () => {}) // a lost connection is retried; the commands it fails report it
  await client.connect()
  connected = true
  return client
}

/** The store's client, once the migrations are applied and the key checked (encryption.ts). */
export async function openRedisClient (url: string, { log, codec = plainCodec }: RedisStoreOptions = {}): Promise<Client> {
  const client = await connectRedis(url)
  try {
    await migrateRedis(client, log)
    await ensureEncryption(redisEncryptionTarget(client), codec, { log })
  } catch (err) {
    await client.quit().catch(() => client.disconnect())
    throw err
  }
  return client
}

export async function openRedisStore (url: string, options: RedisStoreOptions = {}): Promise<ResourceStore> {
  const client = await openRedisClient(url, options)
  // A lost connection answers 503 (outage.ts), not 500.
  return reportingUnavailable(new RedisStore(client, options.codec ?? plainCodec))
}

/** One script run: what RedisStore runs at once, and what a write scope queues in its MULTI (redis-transaction.ts). */
export interface ScriptCall { script: Script, keys: string[], args: string[] }

const keyArgs = (resource: StoredResource, codec: Codec): [string, string, string] =>
  [storedKey(resource.keys.name, codec), storedKey(resource.keys.externalId, codec), storedKey(resource.keys.displayName, codec)]

/** The form of a resource's name in its hash and in its name key. */
export const nameForm = (resource: StoredResource, codec: Codec): string => keyArgs(resource, codec)[0]

/** Answers 1 when inserted, 0 when the id or the name is taken. */
export const insertCall = (resource: StoredResource, codec: Codec): ScriptCall => ({
  script: INSERT,
  keys: [],
  args: [prefixOf(resource.directoryId), resource.type, resource.id, ...keyArgs(resource, codec), codec.seal(JSON.stringify(resource)), String(resource.version)]
})

/** Answers 1 when written, 0 when the stored version is not version - 1, -1 when the name is taken. */
export const replaceCall = (resource: StoredResource, codec: Codec): ScriptCall => ({
  script: REPLACE,
  keys: [],
  args: [prefixOf(resource.directoryId), resource.type, resource.id, String(resource.version), ...keyArgs(resource, codec), codec.seal(JSON.stringify(resource))]
})

/** Answers nil when absent, else the groups a deleted user was in. */
export const deleteCall = (directoryId: string, type: ResourceType, id: string): ScriptCall =>
  ({ script: DELETE, keys: [], args: [prefixOf(directoryId), type, id] })

// In calls of MEMBER_BATCH members, so that a change of thousands of members neither blocks the server
// in one long script nor sends it one huge command (the scripts walk ARGV, which takes any count; an
// unpack() of it would fail past ~8,000).

/** Each answers the user ids it added. */
export function addMembersCalls (directoryId: string, groupId: string, members: Member[], codec: Codec): ScriptCall[] {
  const calls: ScriptCall[] = []
  for (let i = 0; i < members.length; i += MEMBER_BATCH) {
    const pairs = members.slice(i, i + MEMBER_BATCH).flatMap((member) => [member.value, codec.seal(JSON.stringify(member.display ?? null))])
    calls.push({ script: ADD_MEMBERS, keys: [], args: [prefixOf(directoryId), groupId, ...pairs] })
  }
  return calls
}

/** Each answers the user ids it removed. */
export function removeMembersCalls (directoryId: string, groupId: string, userIds: string[]): ScriptCall[] {
  const calls: ScriptCall[] = []
  for (let i = 0; i < userIds.length; i += MEMBER_BATCH) {
    calls.push({ script: REMOVE_MEMBERS, keys: [], args: [prefixOf(directoryId), groupId, ...userIds.slice(i, i + MEMBER_BATCH)] })
  }
  return calls
}

/** The resource store on one client: every change is one script (or a few: members), run at once. */
export class RedisStore implements ResourceStore {
  constructor (private readonly client: Client, private readonly codec: Codec) {}

  private parse (data: string): StoredResource {
    return JSON.parse(this.codec.open(data))
  }

  async get (directoryId: string, type: ResourceType, id: string): Promise<StoredResource | null> {
    const data = await this.client.hGet(prefixOf(directoryId) + 'r:' + id, 'data')
    if (data === undefined || data === null) return null
    const resource = this.parse(data)
    return resource.type === type ? resource : null
  }

  async getMany (directoryId: string, type: ResourceType, ids: string[]): Promise<Map<string, StoredResource>> {
    const prefix = prefixOf(directoryId)
    const unique = [...new Set(ids)]
    const found = new Map<string, StoredResource>()
    for (let i = 0; i < unique.length; i += SCAN_BATCH) {
      const batch = unique.slice(i, i + SCAN_BATCH)
      // Commands issued together go out as one pipeline.
      const data = await Promise.all(batch.map((id) => this.client.hGet(prefix + 'r:' + id, 'data')))
      for (const item of data) {
        if (item === undefined || item === null) continue
        const resource = this.parse(item)
        if (resource.type === type) found.set(resource.id, resource)
      }
    }
    return found
  }

  async list (directoryId: string, type: ResourceType, { lookup, offset, limit }: { lookup?: Lookup, offset: number, limit: number }): Promise<Page<StoredResource>> {
    const prefix = prefixOf(directoryId)
    offset = Math.max(Math.trunc(offset), 0)
    limit = Math.max(Math.trunc(limit), 0)
    if (lookup?.key === 'id' || lookup?.key === 'name') {
      const id = lookup.key === 'id' ? lookup.value : await this.client.get(prefix + `name:${type}:${storedKey(lookup.value, this.codec)}`)
      const found = id === null ? null : await this.get(directoryId, type, id)
      const all = found === null ? [] : [found]
      return { total: all.length, items: all.slice(offset, offset + limit) }
    }
    const set = lookup === undefined
      ? `order:${type}`
      : `${lookup.key === 'externalId' ? 'ext' : 'disp'}:${type}:${storedKey(lookup.value, this.codec)}`
    const [total, ...items] = await this.run(PAGE, [prefix + set], [prefix, String(offset), String(limit)]) as [number, ...string[]]
    return { total: Number(total), items: items.map((data) => this.parse(data)) }
  }

  async * scan (directoryId: string, type: ResourceType): AsyncIterable<StoredResource> {
    const prefix = prefixOf(directoryId)
    let after = '0'
    for (;;) {
      const [count, last, ...items] = await this.run(BATCH, [prefix + `order:${type}`], [prefix, after, String(SCAN_BATCH)]) as [number, string, ...string[]]
      for (const data of items) yield this.parse(data)
      if (Number(count) < SCAN_BATCH) return
      after = last
    }
  }

  async insert (resource: StoredResource): Promise<void> {
    const inserted = await this.call(insertCall(resource, this.codec))
    if (Number(inserted) !== 1) throw new UniquenessError(resource.type, resource.keys.name)
  }

  async replace (resource: StoredResource): Promise<boolean> {
    const replaced = Number(await this.call(replaceCall(resource, this.codec)))
    if (replaced === -1) throw new UniquenessError(resource.type, resource.keys.name)
    return replaced === 1
  }

  async delete (directoryId: string, type: ResourceType, id: string): Promise<string[] | null> {
    const groups = await this.call(deleteCall(directoryId, type, id)) as string[] | null
    return groups === null ? null : [...groups].sort()
  }

  async members (directoryId: string, groupId: string): Promise<Member[]> {
    const members = await this.client.hGetAll(prefixOf(directoryId) + 'm:' + groupId)
    return Object.keys(members).sort().map((value): Member => {
      const display = JSON.parse(this.codec.open(members[value])) as string | null
      return display === null ? { value } : { value, display }
    })
  }

  // Each call is atomic, the whole is not outside a write scope (whose MULTI holds them all: redis-transaction.ts).
  async addMembers (directoryId: string, groupId: string, members: Member[]): Promise<string[]> {
    const added: string[] = []
    for (const call of addMembersCalls(directoryId, groupId, members, this.codec)) added.push(...await this.call(call) as string[])
    return added
  }

  async removeMembers (directoryId: string, groupId: string, userIds: string[]): Promise<string[]> {
    const removed: string[] = []
    for (const call of removeMembersCalls(directoryId, groupId, userIds)) removed.push(...await this.call(call) as string[])
    return removed
  }

  async dropDirectory (directoryId: string): Promise<void> {
    let keys: string[] = []
    for await (const key of this.client.scanIterator({ MATCH: globEscape(prefixOf(directoryId)) + '*', COUNT: SCAN_BATCH })) {
      keys.push(key)
      if (keys.length >= SCAN_BATCH) {
        await this.client.unlink(keys)
        keys = []
      }
    }
    if (keys.length > 0) await this.client.unlink(keys)
  }

  async close (): Promise<void> {
    if (this.client.isReady) await this.client.quit()
    else if (this.client.isOpen) await this.client.disconnect()
  }

  private call ({ script, keys, args }: ScriptCall): Promise<unknown> {
    return runScript(this.client, script, keys, args)
  }

  private run (script: Script, keys: string[], args: string[]): Promise<unknown> {
    return runScript(this.client, script, keys, args)
  }
}

/** The command of `call` as EVAL with the source: inside a MULTI, where a NOSCRIPT would fail that one command of the transaction. */
export const evalCommand = ({ script, keys, args }: ScriptCall): string[] => ['EVAL', script.source, String(keys.length), ...keys, ...args]

/** EVALSHA, and EVAL the first time the server does not know the script. */
export async function runScript (client: Client, script: Script, keys: string[], args: string[]): Promise<unknown> {
  try {
    return await client.evalSha(script.sha, { keys, arguments: args })
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err
    return await client.eval(script.source, { keys, arguments: args })
  }
}
