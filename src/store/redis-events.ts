// The durable event queue on Redis, beside the resource keys. Events are written by the write scope's
// MULTI/EXEC together with the change they describe (redis-transaction.ts), so a crash keeps both or
// neither. Everything of the queue is under `dsync:queue:` (jackson keeps other `dsync:` namespaces).
//
// Why no post-commit sequencer (sql-stream.ts has one): a MULTI/EXEC runs whole and alone, in the order
// the server executes them, so the stream position an event takes inside it (INCR at EXEC time) is
// already the commit order. A reader past a position can never see a lower one appear later. And a
// directory's seqs follow the same order: a write scope WATCHes the directory's head, so two writes
// that read the same head cannot both commit.
//
// Per directory, under `dsync:queue:d:<encodeURIComponent(directoryId)>:` (no ':' in the id part):
//   head           string: the seq of the directory's last event (kept when its events are trimmed)
//   e              hash seq → {id, payload (sealed: codec.ts), createdAt} as JSON
//   s              sorted set of seqs scored by seq (next())
//   p              sorted set of seqs scored by stream position (read() of one directory)
//   t              sorted set of seqs scored by createdAt (where a new handler's cursor starts)
//   dp1, dp2       sorted sets of the seqs of deprovisions (NewEvent.deprovision 1 and 2) scored by createdAt
//   co             set of the seqs coalesced away by the guard's release
//   f              set of the directory's failure members (failureCounts, purge)
//   state          hash: heldFrom, trippedAt, releasedThrough, deletedSeq, deletedAt, webhook (sealed)
//   cur:<handler>  hash: a handler's cursor: lastSeq, attempts, nextAttemptAt, lastError (sealed), owner, leaseUntil
// deprovision and coalesced live in those sets, beside the sealed payload, so that the guard's counts
// and releases never open or rewrite a payload.
//
// Global, under `dsync:queue:`:
//   pos            INCR counter: the stream head
//   stream         sorted set of `<encoded dir>:<seq>` scored by position
//   time           sorted set of `<encoded dir>:<seq>` scored by createdAt (retention)
//   ids            hash event id → `<encoded dir>:<seq>`
//   handlers       hash handler → since (ms: its registration)
//   failures       hash `<event id>\n<handler>` → {dir (encoded), seq, attempts, error (sealed), failedAt} as JSON
//   failures:at    sorted set of those members scored by failedAt
//   needed         hash event id → how many failures keep it from retention
//   trimmed        string: the highest position removed by retention
//   dirs           set of the encoded directories with events (pendingDirectories)
//   held           hash encoded directory → heldFrom, while its guard is tripped
//   deleted        set of the encoded directories deleted and not yet purged
//
// Claims, advances and every other change of more than one key are Lua scripts, so each is atomic; the
// scripts build their key names (as redis.ts's do, which a standalone Redis allows).
import type { Codec } from './codec.js'
import { globEscape, runScript, Script, type Client } from './redis.js'
import { NO_STATE, type Cursor, type DirectoryState, type EventQueue, type FailedDelivery, type NewEvent, type RecordedEvent } from './types.js'

export const QUEUE = 'dsync:queue:'
const POS = QUEUE + 'pos'
const HANDLERS = QUEUE + 'handlers'
const TRIMMED = QUEUE + 'trimmed'
const HELD = QUEUE + 'held'
const DELETED = QUEUE + 'deleted'

// Retention and purges remove this many events (or failures) per script call, so that none blocks the server long.
const BATCH = 500
// Events per RECORD call, and seqs per SADD, in a write's MULTI.
const RECORD_BATCH = 500

const encode = (directoryId: string) => encodeURIComponent(directoryId)
const decode = (encoded: string) => decodeURIComponent(encoded)

/** The prefix of a directory's queue keys. */
export const directoryPrefix = (directoryId: string) => `${QUEUE}d:${encode(directoryId)}:`

// Lua shared by the scripts below. `Q` is the queue's prefix; forget() removes one event from every
// structure; dropFailure() one failure.
const LUA_COMMON = `
local Q = '${QUEUE}'
local function forget(enc, seq)
  local d = Q .. 'd:' .. enc .. ':'
  local member = enc .. ':' .. seq
  local record = redis.call('HGET', d .. 'e', seq)
  if record then
    local id = cjson.decode(record).id
    if redis.call('HGET', Q .. 'ids', id) == member then redis.call('HDEL', Q .. 'ids', id) end
  end
  redis.call('HDEL', d .. 'e', seq)
  for _, key in ipairs({ 's', 'p', 't', 'dp1', 'dp2' }) do redis.call('ZREM', d .. key, seq) end
  redis.call('SREM', d .. 'co', seq)
  redis.call('ZREM', Q .. 'stream', member)
  redis.call('ZREM', Q .. 'time', member)
end
local function dropFailure(member)
  local failure = redis.call('HGET', Q .. 'failures', member)
  redis.call('ZREM', Q .. 'failures:at', member)
  if not failure then return 0 end
  redis.call('HDEL', Q .. 'failures', member)
  redis.call('SREM', Q .. 'd:' .. cjson.decode(failure).dir .. ':f', member)
  local id = string.match(member, '^([^\\n]*)\\n')
  if redis.call('HINCRBY', Q .. 'needed', id, -1) <= 0 then redis.call('HDEL', Q .. 'needed', id) end
  return 1
end
local function split(member)
  return string.match(member, '^(.*):(%d+)$')
end
`
const script = (body: string) => new Script(LUA_COMMON + body)

// ARGV: encoded directory, then per event: seq, id, record (JSON), createdAt, deprovision (0, 1, 2).
// Queued in a write's MULTI (redis-transaction.ts): the positions are taken at EXEC, in commit order.
const RECORD = script(`
local enc = ARGV[1]
local d = Q .. 'd:' .. enc .. ':'
local last
for i = 2, #ARGV, 5 do
  local seq, createdAt, kind = ARGV[i], ARGV[i + 3], ARGV[i + 4]
  local member = enc .. ':' .. seq
  local pos = redis.call('INCR', Q .. 'pos')
  redis.call('HSET', d .. 'e', seq, ARGV[i + 2])
  redis.call('ZADD', d .. 's', seq, seq)
  redis.call('ZADD', d .. 'p', pos, seq)
  redis.call('ZADD', d .. 't', createdAt, seq)
  if kind ~= '0' then redis.call('ZADD', d .. 'dp' .. kind, createdAt, seq) end
  redis.call('ZADD', Q .. 'stream', pos, member)
  redis.call('ZADD', Q .. 'time', createdAt, member)
  redis.call('HSET', Q .. 'ids', ARGV[i + 1], member)
  last = seq
end
redis.call('SET', d .. 'head', last)
redis.call('SADD', Q .. 'dirs', enc)
return last
`)

// ARGV: encoded directory, handler, owner, now, leaseMs, the registration time if the handler is new.
// Creates the cursor the first time: after the last event recorded before the handler's registration
// (the highest seq whose createdAt is below it: createdAt follows seq only roughly, across processes).
// Answers the cursor, or nil when another owner's lease still runs.
const CLAIM = script(`
local d = Q .. 'd:' .. ARGV[1] .. ':'
local ckey = d .. 'cur:' .. ARGV[2]
if redis.call('EXISTS', ckey) == 0 then
  redis.call('HSETNX', Q .. 'handlers', ARGV[2], ARGV[6])
  local since = tonumber(redis.call('HGET', Q .. 'handlers', ARGV[2]))
  local start = '0'
  local before = redis.call('ZCOUNT', d .. 't', '-inf', '(' .. since)
  if before > 0 then
    -- Whichever side of 'since' holds fewer events is walked: the newest seqs down to the first
    -- recorded before it, or every event recorded before it.
    if redis.call('ZCARD', d .. 't') - before < before then
      local from, found = 0, false
      while not found do
        local seqs = redis.call('ZREVRANGE', d .. 's', from, from + 99)
        if #seqs == 0 then break end
        for _, seq in ipairs(seqs) do
          local at = redis.call('ZSCORE', d .. 't', seq)
          if at and tonumber(at) < since then start = seq found = true break end
        end
        from = from + 100
      end
    else
      local top = 0
      for _, seq in ipairs(redis.call('ZRANGEBYSCORE', d .. 't', '-inf', '(' .. since)) do
        if tonumber(seq) > top then top = tonumber(seq) start = seq end
      end
    end
  end
  redis.call('HSET', ckey, 'lastSeq', start, 'attempts', 0, 'nextAttemptAt', 0, 'lastError', '', 'owner', '', 'leaseUntil', 0)
end
local cur = redis.call('HMGET', ckey, 'owner', 'leaseUntil', 'lastSeq', 'attempts', 'nextAttemptAt', 'lastError')
if cur[1] ~= '' and cur[1] ~= ARGV[3] and tonumber(cur[2]) >= tonumber(ARGV[4]) then return false end
redis.call('HSET', ckey, 'owner', ARGV[3], 'leaseUntil', tostring(tonumber(ARGV[4]) + tonumber(ARGV[5])))
return { cur[3], cur[4], cur[5], cur[6] }
`)

// ARGV: encoded directory, handler, owner, seq, and for a failure: its record (JSON) and failedAt.
// Answers 1 when the cursor moved, 0 (nothing written) when `owner` does not hold it or it is at or past seq.
const ADVANCE = script(`
local d = Q .. 'd:' .. ARGV[1] .. ':'
local ckey = d .. 'cur:' .. ARGV[2]
local cur = redis.call('HMGET', ckey, 'owner', 'lastSeq')
if cur[1] ~= ARGV[3] or tonumber(cur[2]) >= tonumber(ARGV[4]) then return 0 end
if ARGV[5] then
  local record = redis.call('HGET', d .. 'e', ARGV[4])
  if record then
    local id = cjson.decode(record).id
    local member = id .. '\\n' .. ARGV[2]
    if redis.call('HSETNX', Q .. 'failures', member, ARGV[5]) == 1 then
      redis.call('ZADD', Q .. 'failures:at', ARGV[6], member)
      redis.call('SADD', d .. 'f', member)
      redis.call('HINCRBY', Q .. 'needed', id, 1)
    end
  end
end
redis.call('HSET', ckey, 'lastSeq', ARGV[4], 'attempts', 0, 'nextAttemptAt', 0, 'lastError', '')
return 1
`)

// KEYS[1]: a cursor; ARGV: owner, then field and value pairs. Sets them only while `owner` holds the cursor.
const IF_OWNER = new Script(`
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
`)

// ARGV: handler. Answers the encoded directories whose head is past the handler's cursor (none: 0).
const PENDING = script(`
local out = {}
for _, enc in ipairs(redis.call('SMEMBERS', Q .. 'dirs')) do
  local d = Q .. 'd:' .. enc .. ':'
  local head = tonumber(redis.call('GET', d .. 'head') or '0')
  if head > tonumber(redis.call('HGET', d .. 'cur:' .. ARGV[1], 'lastSeq') or '0') then out[#out + 1] = enc end
end
return out
`)

// ARGV: encoded directory, after seq, limit. Answers seq, record, coalesced (0/1) per event.
const NEXT = script(`
local d = Q .. 'd:' .. ARGV[1] .. ':'
local out = {}
for _, seq in ipairs(redis.call('ZRANGEBYSCORE', d .. 's', '(' .. ARGV[2], '+inf', 'LIMIT', 0, ARGV[3])) do
  local record = redis.call('HGET', d .. 'e', seq)
  if record then
    out[#out + 1] = seq
    out[#out + 1] = record
    out[#out + 1] = redis.call('SISMEMBER', d .. 'co', seq)
  end
end
return out
`)

// ARGV: after position, limit, and '1' with an encoded directory to read only its events. Answers
// encoded directory, seq, position, record, coalesced per event, in position order.
const READ = script(`
local one = ARGV[3] == '1'
local entries
if one then
  entries = redis.call('ZRANGEBYSCORE', Q .. 'd:' .. ARGV[4] .. ':p', '(' .. ARGV[1], '+inf', 'WITHSCORES', 'LIMIT', 0, ARGV[2])
else
  entries = redis.call('ZRANGEBYSCORE', Q .. 'stream', '(' .. ARGV[1], '+inf', 'WITHSCORES', 'LIMIT', 0, ARGV[2])
end
local out = {}
for i = 1, #entries, 2 do
  local enc, seq
  if one then enc, seq = ARGV[4], entries[i] else enc, seq = split(entries[i]) end
  local d = Q .. 'd:' .. enc .. ':'
  local record = redis.call('HGET', d .. 'e', seq)
  if record then
    for _, value in ipairs({ enc, seq, entries[i + 1], record }) do out[#out + 1] = value end
    out[#out + 1] = redis.call('SISMEMBER', d .. 'co', seq)
  end
end
return out
`)

// ARGV: event id. Answers encoded directory, seq, record, coalesced; nil when not kept.
const EVENT = script(`
local member = redis.call('HGET', Q .. 'ids', ARGV[1])
if not member then return false end
local enc, seq = split(member)
local d = Q .. 'd:' .. enc .. ':'
local record = redis.call('HGET', d .. 'e', seq)
if not record then return false end
return { enc, seq, record, redis.call('SISMEMBER', d .. 'co', seq) }
`)

// ARGV: '1' for every handler's, or '0' and a handler. Answers handler, failure record, event record,
// coalesced per failure.
const FAILED = script(`
local out = {}
for _, member in ipairs(redis.call('ZRANGE', Q .. 'failures:at', 0, -1)) do
  local handler = string.match(member, '^[^\\n]*\\n(.*)$')
  if ARGV[1] == '1' or handler == ARGV[2] then
    local failure = redis.call('HGET', Q .. 'failures', member)
    if failure then
      local f = cjson.decode(failure)
      local d = Q .. 'd:' .. f.dir .. ':'
      local record = redis.call('HGET', d .. 'e', f.seq)
      if record then
        for _, value in ipairs({ handler, failure, record }) do out[#out + 1] = value end
        out[#out + 1] = redis.call('SISMEMBER', d .. 'co', f.seq)
      end
    end
  end
end
return out
`)

// ARGV: failure member. Answers 1 when there was one.
const REMOVE_FAILURE = script('return dropFailure(ARGV[1])')

// ARGV: failedAt cutoff, batch size. Answers how many failures it removed.
const TRIM_FAILURES = script(`
local members = redis.call('ZRANGEBYSCORE', Q .. 'failures:at', '-inf', '(' .. ARGV[1], 'LIMIT', 0, ARGV[2])
for _, member in ipairs(members) do dropFailure(member) end
return #members
`)

// ARGV: createdAt cutoff, how many events below it to pass over (kept by failures: they stay first in
// the range), batch size. Answers how many it looked at, removed and passed over.
const TRIM_EVENTS = script(`
local members = redis.call('ZRANGEBYSCORE', Q .. 'time', '-inf', '(' .. ARGV[1], 'LIMIT', ARGV[2], ARGV[3])
local removed, kept = 0, 0
local highest, top = tonumber(redis.call('GET', Q .. 'trimmed') or '0'), nil
for _, member in ipairs(members) do
  local enc, seq = split(member)
  local record = redis.call('HGET', Q .. 'd:' .. enc .. ':e', seq)
  if record and redis.call('HEXISTS', Q .. 'needed', cjson.decode(record).id) == 1 then
    kept = kept + 1
  else
    local pos = redis.call('ZSCORE', Q .. 'stream', member)
    if pos and tonumber(pos) > highest then highest, top = tonumber(pos), pos end
    forget(enc, seq)
    removed = removed + 1
  end
end
if top then redis.call('SET', Q .. 'trimmed', top) end
return { #members, removed, kept }
`)

// ARGV: encoded directory, batch size. Removes the directory's oldest events; answers how many.
const PURGE_EVENTS = script(`
local seqs = redis.call('ZRANGE', Q .. 'd:' .. ARGV[1] .. ':s', 0, tonumber(ARGV[2]) - 1)
for _, seq in ipairs(seqs) do forget(ARGV[1], seq) end
return #seqs
`)

// ARGV: encoded directory, batch size. Removes some of the directory's failures; answers how many.
const PURGE_FAILURES = script(`
local members = redis.call('SRANDMEMBER', Q .. 'd:' .. ARGV[1] .. ':f', tonumber(ARGV[2]))
for _, member in ipairs(members) do
  if dropFailure(member) == 0 then redis.call('SREM', Q .. 'd:' .. ARGV[1] .. ':f', member) end
end
return #members
`)

// ARGV: encoded directory. The directory's state hash and its memberships of the global sets: last,
// so that a purge cut short is still listed by deletedDirectories() and finished by the next sweep.
const PURGE_STATE = script(`
redis.call('DEL', Q .. 'd:' .. ARGV[1] .. ':state')
redis.call('SREM', Q .. 'deleted', ARGV[1])
redis.call('SREM', Q .. 'dirs', ARGV[1])
redis.call('HDEL', Q .. 'held', ARGV[1])
return 1
`)

// Answers encoded directory, deletedSeq, deletedAt per deleted directory.
const DELETED_LIST = script(`
local out = {}
for _, enc in ipairs(redis.call('SMEMBERS', Q .. 'deleted')) do
  local state = redis.call('HMGET', Q .. 'd:' .. enc .. ':state', 'deletedSeq', 'deletedAt')
  if state[1] and state[1] ~= '' then
    for _, value in ipairs({ enc, state[1], state[2] or '0' }) do out[#out + 1] = value end
  end
end
return out
`)

interface EventRecord { id: string, payload: string, createdAt: number }

function eventOf (directoryId: string, seq: string, record: string, coalesced: unknown, codec: Codec): RecordedEvent {
  const { id, payload, createdAt } = JSON.parse(record) as EventRecord
  const event: RecordedEvent = { seq: Number(seq), id, directoryId, payload: JSON.parse(codec.open(payload)), createdAt: Number(createdAt) }
  if (Number(coalesced) === 1) event.coalesced = true
  return event
}

/** The stored form of an event: the payload sealed; deprovision is kept apart (RECORD). */
const recordOf = (event: NewEvent, codec: Codec): string =>
  JSON.stringify({ id: event.id, payload: codec.seal(JSON.stringify(event.payload)), createdAt: event.createdAt })

function stateOf (fields: Record<string, string>, codec: Codec): DirectoryState {
  if (Object.keys(fields).length === 0) return NO_STATE
  const num = (value: string | undefined) => value === undefined || value === '' ? null : Number(value)
  const deletedSeq = num(fields.deletedSeq)
  return {
    heldFrom: num(fields.heldFrom),
    trippedAt: num(fields.trippedAt),
    releasedThrough: num(fields.releasedThrough) ?? 0,
    deleted: deletedSeq === null
      ? null
      : { seq: deletedSeq, at: num(fields.deletedAt) ?? 0, webhook: fields.webhook === undefined || fields.webhook === '' ? null : JSON.parse(codec.open(fields.webhook)) }
  }
}

const failureMember = (eventId: string, handler: string) => `${eventId}\n${handler}`

export class RedisEventQueue implements EventQueue {
  constructor (private readonly client: Client, private readonly codec: Codec) {}

  private run (script: Script, args: Array<string | number>): Promise<unknown> {
    return runScript(this.client, script, [], args.map(String))
  }

  async registerHandler (handler: string, now: number): Promise<void> {
    await this.client.hSetNX(HANDLERS, handler, String(now))
  }

  async pendingDirectories (handler: string): Promise<string[]> {
    return (await this.run(PENDING, [handler]) as string[]).map(decode)
  }

  async claim (directoryId: string, handler: string, owner: string, now: number, leaseMs: number): Promise<Cursor | null> {
    // A handler whose registration has not landed yet starts now, as its registration would have.
    const cursor = await this.run(CLAIM, [encode(directoryId), handler, owner, now, leaseMs, Date.now()]) as [string, string, string, string] | null
    if (cursor === null) return null
    const [lastSeq, attempts, nextAttemptAt, lastError] = cursor
    return { lastSeq: Number(lastSeq), attempts: Number(attempts), nextAttemptAt: Number(nextAttemptAt), lastError: lastError === '' ? null : this.codec.open(lastError) }
  }

  async next (directoryId: string, afterSeq: number, limit: number): Promise<RecordedEvent[]> {
    if (limit <= 0) return []
    const flat = await this.run(NEXT, [encode(directoryId), afterSeq, Math.trunc(limit)]) as string[]
    const events: RecordedEvent[] = []
    for (let i = 0; i < flat.length; i += 3) events.push(eventOf(directoryId, flat[i], flat[i + 1], flat[i + 2], this.codec))
    return events
  }

  async position (directoryId: string, handler: string): Promise<{ lastSeq: number, attempts: number }> {
    const [lastSeq, attempts] = await this.client.hmGet(directoryPrefix(directoryId) + 'cur:' + handler, ['lastSeq', 'attempts'])
    return { lastSeq: Number(lastSeq ?? 0), attempts: Number(attempts ?? 0) }
  }

  async renew (directoryId: string, handler: string, owner: string, now: number, leaseMs: number): Promise<boolean> {
    return Number(await this.ifOwner(directoryId, handler, owner, ['leaseUntil', now + leaseMs])) === 1
  }

  async advance (directoryId: string, handler: string, owner: string, seq: number, failed?: { attempts: number, error: string, now: number }): Promise<boolean> {
    const failure = failed === undefined
      ? []
      : [JSON.stringify({ dir: encode(directoryId), seq: String(seq), attempts: failed.attempts, error: this.codec.seal(failed.error), failedAt: failed.now }), failed.now]
    return Number(await this.run(ADVANCE, [encode(directoryId), handler, owner, seq, ...failure])) === 1
  }

  async retryLater (directoryId: string, handler: string, owner: string, attempts: number, nextAttemptAt: number, error: string): Promise<void> {
    await this.ifOwner(directoryId, handler, owner, ['attempts', attempts, 'nextAttemptAt', nextAttemptAt, 'lastError', this.codec.seal(error)])
  }

  async release (directoryId: string, handler: string, owner: string): Promise<void> {
    await this.ifOwner(directoryId, handler, owner, ['owner', '', 'leaseUntil', 0])
  }

  private ifOwner (directoryId: string, handler: string, owner: string, fields: Array<string | number>): Promise<unknown> {
    return runScript(this.client, IF_OWNER, [directoryPrefix(directoryId) + 'cur:' + handler], [owner, ...fields.map(String)])
  }

  async head (): Promise<number> {
    return Number(await this.client.get(POS) ?? 0)
  }

  async read (after: number, limit: number, directoryId?: string): Promise<Array<{ position: number, event: RecordedEvent }>> {
    if (limit <= 0) return []
    const one = directoryId === undefined ? ['0', ''] : ['1', encode(directoryId)]
    const flat = await this.run(READ, [after, Math.trunc(limit), ...one]) as string[]
    const out: Array<{ position: number, event: RecordedEvent }> = []
    for (let i = 0; i < flat.length; i += 5) {
      out.push({ position: Number(flat[i + 2]), event: eventOf(decode(flat[i]), flat[i + 1], flat[i + 3], flat[i + 4], this.codec) })
    }
    return out
  }

  async trimmedTo (): Promise<number> {
    return Number(await this.client.get(TRIMMED) ?? 0)
  }

  async trim (cutoff: number, failedCutoff: number): Promise<number> {
    while (Number(await this.run(TRIM_FAILURES, [failedCutoff, BATCH])) === BATCH);
    let [removed, skip] = [0, 0]
    for (;;) {
      const [seen, gone, kept] = (await this.run(TRIM_EVENTS, [cutoff, skip, BATCH]) as number[]).map(Number)
      removed += gone
      skip += kept
      if (seen < BATCH) return removed
    }
  }

  async handlers (): Promise<string[]> {
    return (await this.client.hKeys(HANDLERS)).sort()
  }

  async failureCounts (directoryId: string): Promise<Map<string, number>> {
    const counts = new Map<string, number>()
    for (const member of await this.client.sMembers(directoryPrefix(directoryId) + 'f')) {
      const handler = member.slice(member.indexOf('\n') + 1)
      counts.set(handler, (counts.get(handler) ?? 0) + 1)
    }
    return counts
  }

  async directoryHead (directoryId: string): Promise<number> {
    return Number(await this.client.get(directoryPrefix(directoryId) + 'head') ?? 0)
  }

  async failures (handler?: string): Promise<FailedDelivery[]> {
    const flat = await this.run(FAILED, handler === undefined ? ['1', ''] : ['0', handler]) as string[]
    const out: FailedDelivery[] = []
    for (let i = 0; i < flat.length; i += 4) {
      const failure = JSON.parse(flat[i + 1]) as { dir: string, seq: string, attempts: number, error: string, failedAt: number }
      out.push({
        event: eventOf(decode(failure.dir), failure.seq, flat[i + 2], flat[i + 3], this.codec),
        handler: flat[i],
        attempts: Number(failure.attempts),
        error: this.codec.open(failure.error),
        failedAt: Number(failure.failedAt)
      })
    }
    return out.sort((a, b) => a.failedAt - b.failedAt || a.event.seq - b.event.seq)
  }

  async removeFailure (eventId: string, handler: string): Promise<void> {
    await this.run(REMOVE_FAILURE, [failureMember(eventId, handler)])
  }

  async event (eventId: string): Promise<RecordedEvent | null> {
    const found = await this.run(EVENT, [eventId]) as [string, string, string, number] | null
    return found === null ? null : eventOf(decode(found[0]), found[1], found[2], found[3], this.codec)
  }

  async directoryState (directoryId: string): Promise<DirectoryState> {
    return stateOf(await this.client.hGetAll(directoryPrefix(directoryId) + 'state'), this.codec)
  }

  async heldDirectories (): Promise<Map<string, number>> {
    const held = await this.client.hGetAll(HELD)
    return new Map(Object.entries(held).map(([encoded, heldFrom]) => [decode(encoded), Number(heldFrom)]))
  }

  async deletedDirectories (): Promise<Array<{ directoryId: string, seq: number }>> {
    const flat = await this.run(DELETED_LIST, []) as string[]
    const deleted: Array<{ directoryId: string, seq: number, at: number }> = []
    for (let i = 0; i < flat.length; i += 3) deleted.push({ directoryId: decode(flat[i]), seq: Number(flat[i + 1]), at: Number(flat[i + 2]) })
    return deleted.sort((a, b) => a.at - b.at).map(({ directoryId, seq }) => ({ directoryId, seq }))
  }

  async purgeDirectory (directoryId: string): Promise<void> {
    const encoded = encode(directoryId)
    // Failures first (they keep events), then the events in batches, then the directory's other keys
    // (cursors of every handler among them), the state last (PURGE_STATE).
    while (Number(await this.run(PURGE_FAILURES, [encoded, BATCH])) > 0);
    while (Number(await this.run(PURGE_EVENTS, [encoded, BATCH])) === BATCH);
    const prefix = directoryPrefix(directoryId)
    let keys: string[] = []
    for await (const key of this.client.scanIterator({ MATCH: globEscape(prefix) + '*', COUNT: BATCH })) {
      if (key === prefix + 'state') continue
      keys.push(key)
      if (keys.length >= BATCH) {
        await this.client.unlink(keys)
        keys = []
      }
    }
    if (keys.length > 0) await this.client.unlink(keys)
    await this.run(PURGE_STATE, [encoded])
  }
}

/**
 * The queue's part of one write scope (redis-transaction.ts): reads go to Redis on the scope's own
 * connection (which WATCHes the directory's head and state), writes are queued as commands for the
 * scope's MULTI, and what this write has queued is seen by its later reads.
 */
export class QueueWrite {
  private readonly prefix: string
  private headRead: number | undefined
  private readonly recorded: Array<NewEvent & { seq: number }> = []
  private stateRead: DirectoryState | undefined

  /** `commands`: where the commands for the scope's MULTI are queued, in order. */
  constructor (private readonly client: Client, private readonly directoryId: string, private readonly codec: Codec, private readonly commands: string[][]) {
    this.prefix = directoryPrefix(directoryId)
  }

  /** The keys a write of the directory must WATCH (with the resource store's write version). */
  static watched (directoryId: string): string[] {
    const prefix = directoryPrefix(directoryId)
    return [prefix + 'head', prefix + 'state']
  }

  async head (): Promise<number> {
    this.headRead ??= Number(await this.client.get(this.prefix + 'head') ?? 0)
    return this.headRead + this.recorded.length
  }

  async record (events: NewEvent[]): Promise<RecordedEvent[]> {
    if (events.length === 0) return []
    const first = await this.head() + 1
    const numbered = events.map((event, i) => ({ ...event, seq: first + i }))
    this.recorded.push(...numbered)
    for (let i = 0; i < numbered.length; i += RECORD_BATCH) {
      const args = numbered.slice(i, i + RECORD_BATCH).flatMap((event) =>
        [String(event.seq), event.id, recordOf(event, this.codec), String(event.createdAt), String(event.deprovision ?? 0)])
      this.commands.push(['EVAL', RECORD.source, '0', encode(this.directoryId), ...args])
    }
    return numbered.map((event) => ({ seq: event.seq, id: event.id, directoryId: this.directoryId, payload: event.payload, createdAt: event.createdAt }))
  }

  async deprovisions (afterSeq: number, since: number, kind?: 1 | 2): Promise<number> {
    let count = 0
    for (const k of kind === undefined ? [1, 2] : [kind]) {
      const seqs = await this.client.zRangeByScore(this.prefix + 'dp' + k, since, '+inf')
      count += seqs.filter((seq) => Number(seq) > afterSeq).length
    }
    const matches = (event: NewEvent & { seq: number }) => (event.deprovision ?? 0) > 0 && (kind === undefined || event.deprovision === kind)
    return count + this.recorded.filter((event) => event.seq > afterSeq && event.createdAt >= since && matches(event)).length
  }

  async state (): Promise<DirectoryState> {
    this.stateRead ??= stateOf(await this.client.hGetAll(this.prefix + 'state'), this.codec)
    return this.stateRead
  }

  async trip (heldFrom: number, at: number): Promise<void> {
    await this.change({ heldFrom, trippedAt: at }, { heldFrom: String(heldFrom), trippedAt: String(at) })
    this.commands.push(['HSET', HELD, encode(this.directoryId), String(heldFrom)])
  }

  async release (through: number, coalesced: number[]): Promise<void> {
    await this.change({ heldFrom: null, trippedAt: null, releasedThrough: through }, { heldFrom: '', trippedAt: '', releasedThrough: String(through) })
    this.commands.push(['HDEL', HELD, encode(this.directoryId)])
    for (let i = 0; i < coalesced.length; i += RECORD_BATCH) {
      this.commands.push(['SADD', this.prefix + 'co', ...coalesced.slice(i, i + RECORD_BATCH).map(String)])
    }
  }

  async markDeleted (seq: number, at: number, webhook: { endpoint: string, secret: string } | null): Promise<void> {
    await this.change({ deleted: { seq, at, webhook } }, {
      deletedSeq: String(seq), deletedAt: String(at), webhook: webhook === null ? '' : this.codec.seal(JSON.stringify(webhook))
    })
    this.commands.push(['SADD', DELETED, encode(this.directoryId)])
  }

  private async change (change: Partial<DirectoryState>, fields: Record<string, string>): Promise<void> {
    // The fields not written yet read as NO_STATE's (stateOf).
    this.stateRead = { ...await this.state(), ...change }
    this.commands.push(['HSET', this.prefix + 'state', ...Object.entries(fields).flat()])
  }
}
