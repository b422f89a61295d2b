// encryption.ts on Redis: the state in the hash dsync:settings, and the rewrite of the plugin's keys.
// A resource's hash (r:<id>) gets its data sealed and its index forms digested, and the keys named
// after its values (name:, ext:, disp:) are renamed to their digests, by one script per resource, so
// that each resource moves at once. A member hash (m:<groupId>) gets its displays sealed. Keys are
// found by SCAN, REWRITE_BATCH at a time; one process rewrites at a time (the migration lock).
// The event queue's hashes (redis-events.ts) get their private values sealed, each value by itself:
// an event's payload, a cursor's last error, a failure's error, a deleted directory's webhook.
import type { createClient } from 'redis'
import { redisMigrationTarget } from './redis-migrations.js'
import { Script, runScript, storedKey } from './redis.js'
import { REWRITE_BATCH, type EncryptionState, type EncryptionTarget } from './encryption.js'
import type { Codec } from './codec.js'
import type { StoredResource } from './types.js'

type Client = ReturnType<typeof createClient>

// redis-events.ts's prefix (not imported: redis-events.ts builds scripts when loaded, from redis.ts,
// which loads this module first).
const QUEUE = 'dsync:queue:'
const PATTERNS = ['dsync:scim:*', QUEUE + '*']

const SETTINGS = 'dsync:settings'
const FINGERPRINT = 'encryption.fingerprint'
const REWRITTEN = 'encryption.rewritten'

// ARGV: fingerprint, rewritten. Records both unless a fingerprint is recorded.
const CLAIM = new Script(`
if redis.call('HSETNX', KEYS[1], 'encryption.fingerprint', ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], 'encryption.rewritten', ARGV[2])
end
return 1
`)

// ARGV: prefix, id, the data read, then the new name, ext, disp forms and data. Answers 0 when the
// resource changed (or went) since it was read.
const REKEY = new Script(`
local p, id = ARGV[1], ARGV[2]
local rkey = p .. 'r:' .. id
local cur = redis.call('HMGET', rkey, 'type', 'name', 'ext', 'disp', 'seq', 'data')
if cur[6] ~= ARGV[3] then return 0 end
local t, seq, name, ext, disp = cur[1], cur[5], ARGV[4], ARGV[5], ARGV[6]
local okey = p .. 'name:' .. t .. ':' .. cur[2]
if redis.call('GET', okey) == id then redis.call('DEL', okey) end
redis.call('SET', p .. 'name:' .. t .. ':' .. name, id)
if cur[3] ~= '' then redis.call('ZREM', p .. 'ext:' .. t .. ':' .. cur[3], id) end
if ext ~= '' then redis.call('ZADD', p .. 'ext:' .. t .. ':' .. ext, seq, id) end
if cur[4] ~= '' then redis.call('ZREM', p .. 'disp:' .. t .. ':' .. cur[4], id) end
if disp ~= '' then redis.call('ZADD', p .. 'disp:' .. t .. ':' .. disp, seq, id) end
redis.call('HSET', rkey, 'name', name, 'ext', ext, 'disp', disp, 'data', ARGV[7])
return 1
`)

// KEYS[1]: a member hash; ARGV: field, the value read, the new value. Sets it only if unchanged.
const RESEAL = new Script(`
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) return 1 end
return 0
`)

/** The encryption state and rewrite of the Redis database of `client`. */
export function redisEncryptionTarget (client: Client): EncryptionTarget {
  const state = async (): Promise<EncryptionState | null> => {
    const [fingerprint, rewritten] = await client.hmGet(SETTINGS, [FINGERPRINT, REWRITTEN])
    return fingerprint === null || fingerprint === undefined ? null : { fingerprint, rewritten: rewritten === 'yes' }
  }
  return {
    state,
    claim: async (fingerprint, rewritten) => {
      await runScript(client, CLAIM, [SETTINGS], [fingerprint, rewritten ? 'yes' : 'no'])
      return (await state())!
    },
    finish: async () => { await client.hSet(SETTINGS, REWRITTEN, 'yes') },
    hasData: async () => {
      for (const pattern of PATTERNS) {
        for await (const key of client.scanIterator({ MATCH: pattern, COUNT: REWRITE_BATCH })) if (key !== undefined) return true
      }
      return false
    },
    rewrite: (codec, progress, signal) => redisMigrationTarget(client).locked(async () => {
      if ((await state())?.rewritten === true) return // another process did it while this one waited
      let batch: string[] = []
      const flush = async () => {
        signal?.throwIfAborted()
        let changed = 0
        for (const key of batch) changed += await rewriteKey(client, key, codec)
        if (changed > 0) progress(changed)
        batch = []
      }
      for (const pattern of PATTERNS) {
        for await (const key of client.scanIterator({ MATCH: pattern, TYPE: 'hash', COUNT: REWRITE_BATCH })) {
          batch.push(key)
          if (batch.length >= REWRITE_BATCH) await flush()
        }
      }
      await flush()
    })
  }
}

// dsync:scim:<directoryId>:<kind>:<id>, where the directory id has no ':' (redis.ts prefixOf).
async function rewriteKey (client: Client, key: string, codec: Codec): Promise<number> {
  if (key.startsWith(QUEUE)) return rewriteQueueKey(client, key, codec)
  const [, , directory, kind, ...rest] = key.split(':')
  const prefix = `dsync:scim:${directory}:`
  if (kind === 'r') {
    const data = await client.hGet(key, 'data')
    if (data === undefined || data === null || codec.tryOpen(data) !== null) return 0
    const resource: StoredResource = JSON.parse(data)
    const { name, externalId, displayName } = resource.keys
    return Number(await runScript(client, REKEY, [], [
      prefix, rest.join(':'), data, storedKey(name, codec), storedKey(externalId, codec), storedKey(displayName, codec), codec.seal(data)
    ]))
  }
  if (kind === 'm') {
    let changed = 0
    for (const [field, value] of Object.entries(await client.hGetAll(key))) {
      if (codec.tryOpen(value) !== null) continue
      changed += Number(await runScript(client, RESEAL, [key], [field, value, codec.seal(value)]))
    }
    return changed
  }
  return 0
}

// The queue's hashes (redis-events.ts): d:<directory>:e (events), d:<directory>:cur:<handler>
// (cursors), d:<directory>:state, and failures. Each value is set only if unchanged since it was read.
async function rewriteQueueKey (client: Client, key: string, codec: Codec): Promise<number> {
  const reseal = async (field: string, value: string, sealed: string) => Number(await runScript(client, RESEAL, [key], [field, value, sealed]))
  const [, kind, ...rest] = key.startsWith(QUEUE + 'd:') ? key.slice(QUEUE.length + 2).split(':') : []
  if (key === QUEUE + 'failures' || (kind === 'e' && rest.length === 0)) {
    // JSON records with one private text: a failure's error, an event's payload.
    const part = kind === 'e' ? 'payload' : 'error'
    let changed = 0
    for await (const { field, value } of client.hScanIterator(key, { COUNT: REWRITE_BATCH })) {
      const record = JSON.parse(value) as Record<string, unknown>
      const text = record[part]
      if (typeof text !== 'string' || codec.tryOpen(text) !== null) continue
      changed += await reseal(field, value, JSON.stringify({ ...record, [part]: codec.seal(text) }))
    }
    return changed
  }
  // A handler's name may hold ':' (cur:<handler>); the state is d:<directory>:state.
  const field = kind === 'cur' ? 'lastError' : kind === 'state' && rest.length === 0 ? 'webhook' : null
  if (field === null) return 0
  const value = await client.hGet(key, field)
  if (value === undefined || value === null || value === '' || codec.tryOpen(value) !== null) return 0
  return reseal(field, value, codec.seal(value))
}
