// The migrations on Redis (migrations.ts: the list and the runner). The versions applied are the fields
// of the hash dsync:migrations (version → applied_at, ms). A run holds dsync:migrations:lock: SET NX PX
// with a token of its own, renewed while the run lasts and deleted at its end only if still its own.
// Redis has no transaction across a run: every step is idempotent, and a version is recorded once its
// step is done.
import { randomUUID } from 'node:crypto'
import type { createClient } from 'redis'
import { indexable } from './redis.js'
import {
  foldedKeys, nameOf, runMigrations, type AppliedMigration, type Migration, type MigrationLogger, type MigrationTarget, type MigrationVersion
} from './migrations.js'
import type { ResourceType, StoredResource } from './types.js'

type Client = ReturnType<typeof createClient>

const VERSIONS = 'dsync:migrations'
const LOCK = 'dsync:migrations:lock'
const LOCK_TTL_MS = 30_000
// How long a run waits for another process's run to finish.
const LOCK_WAIT_MS = 300_000
const BATCH = 500

const RENEW = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0"
const RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"

type Step = (client: Client, log: MigrationLogger) => Promise<void>

const STEPS: Record<MigrationVersion, Step> = {
  1: async () => {}, // keys need no creating
  2: foldNameKeys,
  3: async () => {}, // the settings hash needs no creating
  4: async () => {}, // a Redis event gets its stream position when recorded (redis-events.ts)
  5: async () => {}, // the directory state is a hash created when first written
  6: async () => {}, // so are the setup links and token grace periods (redis-admin.ts)
  7: async () => {} // a link's first request is a field of its JSON
}

/** The Redis database of `client` as the runner sees it. */
export function redisMigrationTarget (client: Client): MigrationTarget {
  return {
    recorded: () => recorded(client),
    locked: async (fn) => {
      const token = randomUUID()
      const deadline = Date.now() + LOCK_WAIT_MS
      while (await client.set(LOCK, token, { NX: true, PX: LOCK_TTL_MS }) === null) {
        if (Date.now() > deadline) throw new Error(`another process held the migration lock (${LOCK}) for ${LOCK_WAIT_MS} ms`)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      const renewal = setInterval(() => {
        client.eval(RENEW, { keys: [LOCK], arguments: [token, String(LOCK_TTL_MS)] }).catch(() => {})
      }, LOCK_TTL_MS / 3)
      renewal.unref()
      try {
        return await fn({
          applied: () => recorded(client),
          apply: (migration, log) => STEPS[migration.version](client, log),
          record: async (migration, appliedAt) => { await client.hSet(VERSIONS, String(migration.version), String(appliedAt)) }
        })
      } finally {
        clearInterval(renewal)
        await client.eval(RELEASE, { keys: [LOCK], arguments: [token] }).catch(() => {})
      }
    }
  }
}

/** Applies the pending migrations (openRedisStore does, before anything else). */
export function migrateRedis (client: Client, log?: MigrationLogger): Promise<Migration[]> {
  return runMigrations(redisMigrationTarget(client), log)
}

async function recorded (client: Client): Promise<AppliedMigration[]> {
  const fields = await client.hGetAll(VERSIONS)
  return Object.entries(fields)
    .map(([version, appliedAt]) => ({ version: Number(version), name: nameOf(Number(version)), appliedAt: Number(appliedAt) }))
    .sort((a, b) => a.version - b.version)
}

// ARGV: prefix, type, id, name, disp (index forms), the resource with the folded keys, the resource
// keeping its previous name. Answers {1} when written, {0} when the resource is gone, and {-1, holder}
// when another resource holds the folded name (then this one keeps its previous name; its display key
// is folded all the same).
const FOLD = `
local p, t, id = ARGV[1], ARGV[2], ARGV[3]
local rkey = p .. 'r:' .. id
local cur = redis.call('HMGET', rkey, 'type', 'name', 'disp', 'seq')
if cur[1] ~= t then return {0} end
local name, disp, data, holder = ARGV[4], ARGV[5], ARGV[6], false
if name ~= cur[2] then
  local nkey = p .. 'name:' .. t .. ':' .. name
  holder = redis.call('GET', nkey)
  if holder and holder ~= id and redis.call('HGET', p .. 'r:' .. holder, 'name') == name then
    name, data = cur[2], ARGV[7]
  else
    holder = false
    redis.call('SET', nkey, id)
    local okey = p .. 'name:' .. t .. ':' .. cur[2]
    if redis.call('GET', okey) == id then redis.call('DEL', okey) end
  end
end
if disp ~= cur[3] then
  if cur[3] ~= '' then redis.call('ZREM', p .. 'disp:' .. t .. ':' .. cur[3], id) end
  if disp ~= '' then redis.call('ZADD', p .. 'disp:' .. t .. ':' .. disp, cur[4], id) end
end
redis.call('HSET', rkey, 'name', name, 'disp', disp, 'data', data)
if holder then return {-1, holder} end
return {1}
`

const ORDER_KEY = /^(dsync:scim:[^:]*:)order:(User|Group)$/

/**
 * Migration 2: every resource's name and disp index forms, their name:<type>:<key> and
 * disp:<type>:<key> keys and the keys inside its data, rewritten from its body with foldKey. A
 * directory's resources of a type are found by SCAN (their order:<type> sets) and taken in creation
 * order, in batches, so that collisions resolve as on SQL: the resource that already holds the folded
 * name keeps it, else the first created; the other keeps its previous name, with a warning.
 */
async function foldNameKeys (client: Client, log: MigrationLogger): Promise<void> {
  // A directory's prefix never holds a ':' (redis.ts prefixOf), so a key ending in order:<type> elsewhere does not match.
  const sets = new Set<string>()
  for await (const key of client.scanIterator({ MATCH: 'dsync:scim:*:order:*', COUNT: BATCH })) {
    if (ORDER_KEY.test(key)) sets.add(key)
  }
  for (const key of sets) {
    const [, prefix, type] = ORDER_KEY.exec(key) as RegExpExecArray
    await foldSet(client, prefix, type as ResourceType, log)
  }
}

async function foldSet (client: Client, prefix: string, type: ResourceType, log: MigrationLogger): Promise<void> {
  const collided: string[] = []
  let after = '0'
  for (;;) {
    const entries = await client.zRangeByScoreWithScores(prefix + `order:${type}`, `(${after}`, '+inf', { LIMIT: { offset: 0, count: BATCH } })
    // Commands issued together go out as one pipeline.
    const data = await Promise.all(entries.map((entry) => client.hGet(prefix + 'r:' + entry.value, 'data')))
    for (const [n, entry] of entries.entries()) {
      const held = await foldResource(client, prefix, type, entry.value, data[n], log)
      if (held !== null) collided.push(entry.value)
    }
    if (entries.length < BATCH) break
    after = String(entries[entries.length - 1].score)
  }
  // The holder of a name may have moved to its own folded name after a resource asked for it: those
  // that collided ask once more, and keep their previous name only if it is still held.
  for (const id of collided) {
    const held = await foldResource(client, prefix, type, id, await client.hGet(prefix + 'r:' + id, 'data'), log)
    if (held === null) continue
    log.warn({ migration: 2, directoryId: decodeURIComponent(prefix.slice('dsync:scim:'.length, -1)), type, id, heldBy: held },
      'directory-sync migration 2: another resource holds this one\'s folded name, so this one keeps its previous name key')
  }
}

/** Rewrites one resource's keys; answers the id holding its folded name when another does (then it keeps its own), else null. */
async function foldResource (
  client: Client, prefix: string, type: ResourceType, id: string, data: string | null | undefined, log: MigrationLogger
): Promise<string | null> {
  if (data === null || data === undefined) return null // deleted meanwhile
  let stored: StoredResource | undefined
  try {
    stored = JSON.parse(data)
  } catch {}
  const folded = stored === undefined ? null : foldedKeys(type, stored.body, stored.keys)
  if (stored === undefined || folded === null) {
    log.warn({ migration: 2, directoryId: decodeURIComponent(prefix.slice('dsync:scim:'.length, -1)), type, id },
      'directory-sync migration 2: the stored resource has no name to fold; it keeps its keys')
    return null
  }
  const next = JSON.stringify({ ...stored, keys: folded })
  if (next === data) return null
  const kept = JSON.stringify({ ...stored, keys: { ...folded, name: stored.keys.name } })
  const [outcome, holder] = await client.eval(FOLD, {
    arguments: [prefix, type, id, indexable(folded.name), indexable(folded.displayName), next, kept]
  }) as [number, string?]
  return Number(outcome) === -1 ? holder ?? '' : null
}
