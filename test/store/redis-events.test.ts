// The event queue on Redis (store/redis-events.ts) and its writes (store/redis-transaction.ts), through
// openStorage: events recorded with their change in one MULTI/EXEC (nothing of a write that throws, a
// write run again when another changed the directory under it, nothing half-written by a SIGKILL),
// numbered densely per directory and in commit order across directories; the queue's claims, failures,
// retention, guard state and purge; and nothing private in clear in Redis with an encryptionKey.
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { openStorage, NO_STATE, UniquenessError, type NewEvent, type ResourceStore, type Storage, type StoredResource } from '../../src/store/index.js'
import { createClient } from 'redis'
import type { DbOptions } from '../../src/index.js'
import { rawRead, found } from '../helpers/raw-read.js'
import { withService } from '../helpers/services.js'

const KEY = 'a-32-character-encryption-key!!!'
const created = '2024-01-01T00:00:00.000Z'

function user (directoryId: string, name: string, id: string = randomUUID()): StoredResource {
  return { directoryId, type: 'User', id, keys: { name, externalId: null, displayName: null }, body: { userName: name }, created, lastModified: created, version: 1 }
}

function group (directoryId: string, name: string, id: string = randomUUID()): StoredResource {
  return { directoryId, type: 'Group', id, keys: { name, externalId: null, displayName: null }, body: { displayName: name }, created, lastModified: created, version: 1 }
}

function event (payload: Record<string, unknown> = {}, createdAt = Date.now(), deprovision?: 0 | 1 | 2): NewEvent {
  return { id: randomUUID(), payload: { event: 'user.created', ...payload }, createdAt, ...(deprovision === undefined ? {} : { deprovision }) }
}

async function open (t: Test, db: DbOptions): Promise<Storage> {
  const storage = await openStorage(db)
  t.teardown(() => storage.close())
  return storage
}

async function redis<T> (db: DbOptions, fn: (client: ReturnType<typeof createClient>) => Promise<T>): Promise<T> {
  const client = createClient({ url: (db as { url: string }).url })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.quit()
  }
}

/** Every key of the queue, with its contents as text. */
async function queueKeys (db: DbOptions): Promise<Map<string, string>> {
  return redis(db, async (client) => {
    const keys = new Map<string, string>()
    for await (const key of client.scanIterator({ MATCH: 'dsync:queue:*', COUNT: 1000 })) {
      const type = await client.type(key)
      const contents = type === 'string'
        ? await client.get(key)
        : type === 'hash' ? await client.hGetAll(key) : type === 'set' ? await client.sMembers(key) : await client.zRangeWithScores(key, 0, -1)
      keys.set(key, JSON.stringify(contents))
    }
    return keys
  })
}

t.test('events recorded in a write: numbered per directory, positioned across directories, read back', (t) => withService(t, 'redis', 'rq_record', async (t, db) => {
  const storage = await open(t, db)
  const [a, b] = [randomUUID(), randomUUID()]
  const ann = user(a, 'ann')
  const first = [event({ n: 1 }), event({ n: 2 })]
  const recorded = await storage.atomically(a, async (scope) => {
    t.equal(await scope.head(), 0, 'a new directory\'s head is 0')
    await scope.resources.insert(ann)
    const events = await scope.record(first)
    t.equal(await scope.head(), 2, 'the scope\'s head counts its own events')
    t.strictSame(await scope.resources.get(a, 'User', ann.id), ann, 'the scope reads its own insert')
    t.equal(await storage.resources.get(a, 'User', ann.id), null, 'which nobody else sees before the commit')
    return events
  })
  t.same(recorded.map((e) => e.seq), [1, 2], 'seqs 1 and 2')
  t.strictSame(recorded[0], { seq: 1, id: first[0].id, directoryId: a, payload: first[0].payload, createdAt: first[0].createdAt }, 'the recorded event')
  t.strictSame(await storage.resources.get(a, 'User', ann.id), ann, 'the user is stored')
  t.equal(await storage.events.directoryHead(a), 2, 'directoryHead')
  t.equal(await storage.events.head(), 2, 'the stream head')
  t.strictSame(await storage.events.next(a, 0, 10), recorded, 'next() answers them')
  t.strictSame(await storage.events.next(a, 1, 10), [recorded[1]], 'after a seq')
  t.strictSame(await storage.events.next(a, 0, 1), [recorded[0]], 'at most limit')
  t.strictSame(await storage.events.event(first[1].id), recorded[1], 'event() by id')
  t.equal(await storage.events.event(randomUUID()), null, 'an unknown id is null')

  const [inB] = await storage.atomically(b, (scope) => scope.record([event({ n: 3 })]))
  t.equal(inB.seq, 1, 'another directory numbers from 1')
  const more = await storage.atomically(a, (scope) => scope.record([event({ n: 4 })]))
  t.equal(more[0].seq, 3, 'and the first goes on after its last')
  const stream = await storage.events.read(0, 10)
  t.same(stream.map((e) => [e.position, e.event.directoryId, e.event.seq]), [[1, a, 1], [2, a, 2], [3, b, 1], [4, a, 3]], 'the stream in commit order')
  t.same((await storage.events.read(0, 10, a)).map((e) => e.position), [1, 2, 4], 'one directory\'s part of it')
  t.same((await storage.events.read(2, 1)).map((e) => e.position), [3], 'after a position, at most limit')
  t.same(await storage.events.read(4, 10), [], 'nothing past the head')
  t.equal(await storage.events.head(), 4)
  t.same(await storage.atomically(a, async (scope) => scope.record([])), [], 'recording nothing is fine')
  t.equal(await storage.events.head(), 4, 'and takes no position')
}))

t.test('a write that throws changes nothing', (t) => withService(t, 'redis', 'rq_throw', async (t, db) => {
  const storage = await open(t, db)
  const directory = randomUUID()
  const kept = user(directory, 'kept')
  await storage.atomically(directory, async (scope) => {
    await scope.resources.insert(kept)
    await scope.record([event()])
  })
  const before = await redis(db, async (client) => {
    const keys: Record<string, string> = {}
    for await (const key of client.scanIterator({ MATCH: 'dsync:*' })) keys[key] = JSON.stringify(await client.dump(client.commandOptions({ returnBuffers: true }), key))
    return keys
  })
  const lost = user(directory, 'lost')
  await t.rejects(storage.atomically(directory, async (scope) => {
    await scope.resources.insert(lost)
    await scope.resources.replace({ ...kept, body: { userName: 'kept', title: 'x' }, version: 2 })
    await scope.resources.delete(directory, 'User', kept.id)
    await scope.record([event()])
    await scope.trip(2, Date.now())
    throw new Error('boom')
  }), { message: 'boom' }, 'the error is the write\'s')
  const after = await redis(db, async (client) => {
    const keys: Record<string, string> = {}
    for await (const key of client.scanIterator({ MATCH: 'dsync:*' })) keys[key] = JSON.stringify(await client.dump(client.commandOptions({ returnBuffers: true }), key))
    return keys
  })
  t.same(after, before, 'every key is as it was')
  t.equal(await storage.resources.get(directory, 'User', lost.id), null, 'no user')
  t.equal(await storage.events.directoryHead(directory), 1, 'no event')
}))

t.test('a write whose directory another changed between its reads and its EXEC runs again', (t) => withService(t, 'redis', 'rq_conflict', async (t, db) => {
  const a = await open(t, db)
  const b = await open(t, db)
  const directory = randomUUID()
  const theirs = user(directory, 'theirs')
  const ours = user(directory, 'ours')
  let runs = 0
  const recorded = await a.atomically(directory, async (scope) => {
    runs++
    await scope.resources.insert(ours)
    const events = await scope.record([event({ who: 'ours' })])
    // Another storage's write of the directory, after this one's reads, before its EXEC.
    if (runs === 1) await b.atomically(directory, async (other) => { await other.resources.insert(theirs); await other.record([event({ who: 'theirs' })]) })
    return events
  })
  t.equal(runs, 2, 'fn ran twice')
  t.equal(recorded[0].seq, 2, 'this write\'s event is numbered after the other\'s')
  const events = await a.events.next(directory, 0, 10)
  t.same(events.map((e) => [e.seq, e.payload.who]), [[1, 'theirs'], [2, 'ours']], 'exactly one set of events of each write')
  t.ok(await a.resources.get(directory, 'User', ours.id), 'this write\'s user is stored')
  t.ok(await a.resources.get(directory, 'User', theirs.id), 'so is the other\'s')

  // A change outside any write (the store's own scripts) counts too.
  runs = 0
  const standalone = user(directory, 'standalone')
  await a.atomically(directory, async (scope) => {
    runs++
    await scope.resources.get(directory, 'User', ours.id)
    if (runs === 1) await b.resources.insert(standalone)
    await scope.record([event()])
  })
  t.equal(runs, 2, 'a standalone insert of the directory makes the write run again')

  // Run again on fresh reads: the prediction changes with them.
  runs = 0
  const taken = user(directory, 'taken')
  await t.rejects(a.atomically(directory, async (scope) => {
    runs++
    await scope.resources.insert(taken)
    if (runs === 1) await b.resources.insert(user(directory, 'taken'))
    await scope.record([event()])
  }), UniquenessError, 'the name taken meanwhile is refused on the second run')
  t.equal(runs, 2)
  t.equal(await a.resources.get(directory, 'User', taken.id), null, 'and nothing of it is stored')
  t.equal(await a.events.directoryHead(directory), 3, 'nor any event')

  // Another directory's write is no conflict.
  runs = 0
  await a.atomically(directory, async (scope) => {
    runs++
    if (runs === 1) await b.atomically(randomUUID(), (other) => other.record([event()]))
    await scope.record([event()])
  })
  t.equal(runs, 1, 'a write of another directory does not make it run again')

  // Concurrent writes of one directory from two storages: each event once, densely numbered.
  await Promise.all([a, b].flatMap((storage) => [0, 1, 2].map(async () => {
    for (let i = 0; i < 10; i++) await storage.atomically(directory, (scope) => scope.record([event(), event()]))
  })))
  const all = await a.events.next(directory, 0, 1000)
  t.same(all.map((e) => e.seq), Array.from({ length: all.length }, (_, i) => i + 1), 'seqs are dense')
  t.equal(all.length, 4 + 120, 'every event once')
  const positions = (await a.events.read(0, 1000, directory)).map((e) => e.position)
  t.ok(positions.every((p, i) => i === 0 || p > positions[i - 1]), 'positions follow seqs')
}))

// The same changes, once in a write (predicted, queued) and once on the store itself: same answers, same end.
async function changes (store: ResourceStore, directoryId: string, ids: { g: string, u1: string, u2: string, u3: string }) {
  const answers: unknown[] = []
  const answer = async (fn: () => Promise<unknown>) => {
    try {
      answers.push(await fn())
    } catch (err) {
      answers.push(err instanceof UniquenessError ? 'UniquenessError' : (err as Error).message)
    }
  }
  const [g, u1, u2, u3] = [group(directoryId, 'staff', ids.g), user(directoryId, 'u1', ids.u1), user(directoryId, 'u2', ids.u2), user(directoryId, 'u3', ids.u3)]
  await answer(() => store.insert(g))
  await answer(() => store.insert(u1))
  await answer(() => store.insert(u2))
  await answer(() => store.insert(user(directoryId, 'u1'))) // a name taken
  await answer(() => store.insert({ ...u2, keys: { ...u2.keys, name: 'fresh' } })) // an id taken
  await answer(() => store.addMembers(directoryId, g.id, [{ value: u1.id, display: 'one' }, { value: u1.id }, { value: u2.id }]))
  await answer(() => store.members(directoryId, g.id))
  await answer(() => store.removeMembers(directoryId, g.id, [u2.id, u3.id, u2.id]))
  await answer(() => store.replace({ ...u1, keys: { ...u1.keys, name: 'u1-renamed' }, body: { userName: 'u1-renamed' }, version: 2 }))
  await answer(() => store.replace({ ...u1, version: 2 })) // a stale version
  await answer(() => store.replace({ ...u2, keys: { ...u2.keys, name: 'u1-renamed' }, version: 2 })) // a name held
  await answer(() => store.insert(u3))
  await answer(() => store.insert(user(directoryId, 'u1', `${ids.u3}-x`))) // the freed name
  await answer(() => store.addMembers(directoryId, g.id, [{ value: u3.id }, { value: u2.id }]))
  await answer(() => store.get(directoryId, 'User', u1.id).then((r) => r?.keys.name))
  await answer(() => store.getMany(directoryId, 'User', [u1.id, u2.id, g.id]).then((found) => [...found.keys()].sort()))
  await answer(() => store.delete(directoryId, 'User', u3.id))
  await answer(() => store.delete(directoryId, 'User', u3.id))
  await answer(() => store.delete(directoryId, 'Group', u2.id)) // not a group
  await answer(() => store.members(directoryId, g.id))
  await answer(() => store.delete(directoryId, 'Group', g.id))
  await answer(() => store.addMembers(directoryId, g.id, [{ value: u1.id }]))
  await answer(() => store.delete(directoryId, 'User', u1.id))
  return answers
}

async function endState (store: ResourceStore, directoryId: string, ids: { g: string, u1: string, u2: string, u3: string }) {
  return {
    users: (await store.list(directoryId, 'User', { offset: 0, limit: 100 })).items.map((r) => [r.id.replace(directoryId, ''), r.keys.name, r.version]),
    groups: (await store.list(directoryId, 'Group', { offset: 0, limit: 100 })).items.map((r) => r.keys.name),
    members: await store.members(directoryId, ids.g),
    byName: (await store.list(directoryId, 'User', { lookup: { key: 'name', value: 'u1' }, offset: 0, limit: 10 })).items.map((r) => r.keys.name)
  }
}

t.test('a write answers each change as the store would make it', (t) => withService(t, 'redis', 'rq_predict', async (t, db) => {
  const storage = await open(t, db)
  const [inWrite, direct] = [randomUUID(), randomUUID()]
  const ids = { g: randomUUID(), u1: randomUUID(), u2: randomUUID(), u3: randomUUID() }
  const predicted = await storage.atomically(inWrite, (scope) => changes(scope.resources, inWrite, ids))
  const applied = await changes(storage.resources, direct, ids)
  t.same(predicted, applied, 'the same answers')
  t.same(await endState(storage.resources, inWrite, ids), await endState(storage.resources, direct, ids), 'the same end state')

  // Thousands of members in one write: several script calls in the one MULTI.
  const directory = randomUUID()
  const big = group(directory, 'big')
  const users = Array.from({ length: 2500 }, (_, i) => user(directory, `user${i}`))
  const added = await storage.atomically(directory, async (scope) => {
    await scope.resources.insert(big)
    for (const u of users) await scope.resources.insert(u)
    return scope.resources.addMembers(directory, big.id, users.map((u) => ({ value: u.id })))
  })
  t.equal(added.length, 2500, 'every member added')
  t.equal((await storage.resources.members(directory, big.id)).length, 2500, 'and stored')
  const removed = await storage.atomically(directory, (scope) => scope.resources.removeMembers(directory, big.id, users.slice(0, 1500).map((u) => u.id)))
  t.equal(removed.length, 1500, '1500 removed')
  t.equal((await storage.resources.members(directory, big.id)).length, 1000, 'the rest stays')
  await t.rejects(storage.atomically(directory, (scope) => scope.resources.insert(user(randomUUID(), 'elsewhere'))), /only the directory/, 'a write changes only its own directory')
}))

t.test('claims, leases, advance, renew, retryLater, release', (t) => withService(t, 'redis', 'rq_claims', async (t, db) => {
  const storage = await open(t, db)
  const { events } = storage
  const directory = randomUUID()
  await events.registerHandler('h', 0)
  await events.registerHandler('h', Date.now() + 1000) // a second registration changes nothing
  await storage.atomically(directory, (scope) => scope.record([event(), event(), event()]))
  t.same(await events.pendingDirectories('h'), [directory], 'pending for a handler without a cursor')
  const now = Date.now()
  t.same(await events.claim(directory, 'h', 'A', now, 1000), { lastSeq: 0, attempts: 0, nextAttemptAt: 0, lastError: null }, 'A claims; from 0 (registered at 0)')
  t.equal(await events.claim(directory, 'h', 'B', now + 500, 1000), null, 'B cannot while A\'s lease runs')
  t.ok(await events.claim(directory, 'h', 'A', now + 500, 1000), 'A can again')
  t.ok(await events.claim(directory, 'h', 'B', now + 2000, 1000), 'B can once the lease has run out')
  t.equal(await events.advance(directory, 'h', 'A', 1), false, 'A no longer holds it: advance is refused')
  t.same(await events.position(directory, 'h'), { lastSeq: 0, attempts: 0 }, 'and wrote nothing')
  t.equal(await events.renew(directory, 'h', 'A', now, 1000), false, 'nor may A renew')
  t.equal(await events.renew(directory, 'h', 'B', now + 2000, 5000), true, 'B may')
  t.equal(await events.claim(directory, 'h', 'A', now + 4000, 1000), null, 'renewed: A still cannot claim')
  t.equal(await events.advance(directory, 'h', 'B', 1), true, 'B advances')
  t.equal(await events.advance(directory, 'h', 'B', 1), false, 'not twice to the same seq')
  await events.retryLater(directory, 'h', 'A', 9, 9, 'not A\'s')
  await events.retryLater(directory, 'h', 'B', 2, now + 100, 'try later')
  t.same(await events.position(directory, 'h'), { lastSeq: 1, attempts: 2 }, 'the attempts are kept')
  t.same(await events.claim(directory, 'h', 'B', now + 2000, 1000), { lastSeq: 1, attempts: 2, nextAttemptAt: now + 100, lastError: 'try later' }, 'with the error, when claimed again')
  t.equal(await events.advance(directory, 'h', 'B', 2, { attempts: 3, error: 'gave up', now: now + 10 }), true, 'B gives up on 2')
  t.same(await events.claim(directory, 'h', 'B', now + 2000, 1000), { lastSeq: 2, attempts: 0, nextAttemptAt: 0, lastError: null }, 'advancing resets the attempts')
  const [failure] = await events.failures()
  t.match(failure, { handler: 'h', attempts: 3, error: 'gave up', failedAt: now + 10, event: { seq: 2, directoryId: directory } }, 'the failure is kept')
  t.equal(await events.advance(directory, 'h', 'A', 3, { attempts: 1, error: 'not A\'s', now }), false, 'a failure of an owner that does not hold the cursor is not kept')
  t.equal((await events.failures()).length, 1)
  await events.release(directory, 'h', 'A')
  t.equal(await events.claim(directory, 'h', 'A', now + 2000, 1000), null, 'a release by another owner does nothing')
  await events.release(directory, 'h', 'B')
  t.ok(await events.claim(directory, 'h', 'A', now + 2000, 1000), 'released: A claims at once')
  t.same(await events.pendingDirectories('h'), [directory], 'still pending (3 > 2)')
  await events.advance(directory, 'h', 'A', 3)
  t.same(await events.pendingDirectories('h'), [], 'nothing pending')
  t.same(await events.position(randomUUID(), 'h'), { lastSeq: 0, attempts: 0 }, 'an unknown cursor stands at 0')
  await events.registerHandler('b-handler', 5)
  t.same(await events.handlers(), ['b-handler', 'h'], 'the handlers, sorted')
}))

t.test('a new handler starts after the events recorded before it was registered', (t) => withService(t, 'redis', 'rq_since', async (t, db) => {
  const storage = await open(t, db)
  const { events } = storage
  const directory = randomUUID()
  // createdAt follows seq only roughly (clocks of several processes): seq 11 is older than seq 5.
  const times = [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 150]
  await storage.atomically(directory, (scope) => scope.record(times.map((at) => event({}, at))))
  const startOf = async (handler: string, since: number) => {
    await events.registerHandler(handler, since)
    return (await events.claim(directory, handler, 'o', Date.now(), 1000))!.lastSeq
  }
  t.equal(await startOf('early', 50), 0, 'registered before every event: from the first')
  t.equal(await startOf('mid', 450), 11, 'the highest seq recorded before (seq 11 at 150)')
  t.equal(await startOf('late', 950), 11, 'walked from the newest (fewer events after than before)')
  t.equal(await startOf('last', 2000), 11, 'after every event: nothing to deliver')
  t.equal(await startOf('zero', 0), 0, 'registerHandler(h, 0): from the oldest kept')
  const fresh = await events.claim(directory, 'unregistered', 'o', Date.now(), 1000)
  t.equal(fresh?.lastSeq, 11, 'a handler not registered yet starts now')
  t.ok((await events.handlers()).includes('unregistered'), 'and is registered by its first claim')
}))

t.test('failures, retention and trimmedTo', (t) => withService(t, 'redis', 'rq_trim', async (t, db) => {
  const storage = await open(t, db)
  const { events } = storage
  const [a, b] = [randomUUID(), randomUUID()]
  // 1200 old events of a (three batches), a few of b, then new ones.
  await storage.atomically(a, (scope) => scope.record(Array.from({ length: 1200 }, (_, i) => event({ i }, 1000 + i))))
  await storage.atomically(b, (scope) => scope.record([event({}, 1000), event({}, 1500)]))
  await storage.atomically(a, (scope) => scope.record([event({}, Date.now())]))
  await events.registerHandler('h', 0)
  await events.registerHandler('k', 0)
  for (const [directory, handler] of [[a, 'h'], [a, 'k'], [b, 'h']]) await events.claim(directory, handler, 'o', Date.now(), 60_000)
  await events.advance(a, 'h', 'o', 2, { attempts: 1, error: 'a2 h', now: 300 })
  await events.advance(a, 'k', 'o', 2, { attempts: 1, error: 'a2 k', now: 100 })
  await events.advance(a, 'h', 'o', 5, { attempts: 2, error: 'a5 h', now: 100 })
  await events.advance(b, 'h', 'o', 1, { attempts: 1, error: 'b1 h', now: 200 })
  t.same((await events.failures()).map((f) => f.error), ['a2 k', 'a5 h', 'b1 h', 'a2 h'], 'failures by failedAt, then seq')
  t.same((await events.failures('h')).map((f) => f.error), ['a5 h', 'b1 h', 'a2 h'], 'of one handler')
  t.same([...await events.failureCounts(a)].sort(), [['h', 2], ['k', 1]], 'counted per handler')
  t.same([...await events.failureCounts(b)], [['h', 1]])

  t.equal(await events.trimmedTo(), 0, 'nothing trimmed yet')
  const removed = await events.trim(Date.now() - 60_000, 150)
  t.equal(removed, 1200 + 2 - 2, 'every old event but the two whose failures are kept')
  t.same((await events.failures()).map((f) => f.error), ['b1 h', 'a2 h'], 'failures before failedCutoff went')
  t.same((await events.next(a, 0, 10)).map((e) => e.seq), [2, 1201], 'a keeps the failed event and the new one')
  t.same((await events.next(b, 0, 10)).map((e) => e.seq), [1], 'b its failed event')
  t.equal(await events.trimmedTo(), 1202, 'trimmedTo is the highest position removed')
  t.equal(await events.directoryHead(a), 1201, 'the head stays')
  t.equal(await events.head(), 1203, 'so does the stream\'s')
  t.same((await events.read(0, 10)).map((e) => e.position), [2, 1201, 1203], 'the stream keeps what is kept')
  const gone = (await events.read(0, 1, b))[0]
  t.equal(gone.event.seq, 1)
  await events.removeFailure(gone.event.id, 'h')
  t.same((await events.failures()).map((f) => f.error), ['a2 h'], 'removeFailure')
  t.equal(await events.trim(Date.now() - 60_000, 0), 1, 'the event is no longer kept for it')
  t.equal(await events.event(gone.event.id), null, 'and is gone')
  t.equal(await events.trimmedTo(), 1202, 'trimmedTo does not go back')
  t.equal(await events.trim(Date.now() - 60_000, 0), 0, 'trimming again removes nothing')
}))

t.test('the guard\'s state, deprovisions, coalesced events and deletion', (t) => withService(t, 'redis', 'rq_state', async (t, db) => {
  const storage = await open(t, db)
  const { events } = storage
  const directory = randomUUID()
  t.same(await events.directoryState(directory), NO_STATE, 'NO_STATE when nothing is stored')
  await storage.atomically(directory, (scope) => scope.record([event({}, 1000, 1), event({}, 2000, 2), event({}, 3000), event({}, 4000, 2)]))
  const counted = await storage.atomically(directory, async (scope) => {
    t.same(await scope.state(), NO_STATE)
    await scope.record([event({}, 5000, 1)])
    return {
      all: await scope.deprovisions(0, 0),
      after: await scope.deprovisions(1, 0),
      since: await scope.deprovisions(0, 2500),
      deactivations: await scope.deprovisions(0, 0, 1),
      deletions: await scope.deprovisions(0, 0, 2)
    }
  })
  t.same(counted, { all: 4, after: 3, since: 2, deactivations: 2, deletions: 2 }, 'deprovisions counts stored and this write\'s events')
  await storage.atomically(directory, async (scope) => {
    await scope.trip(3, 7000)
    t.same(await scope.state(), { ...NO_STATE, heldFrom: 3, trippedAt: 7000 }, 'the write sees its own trip')
  })
  t.same(await events.directoryState(directory), { ...NO_STATE, heldFrom: 3, trippedAt: 7000 }, 'tripped')
  t.same([...await events.heldDirectories()], [[directory, 3]], 'held')
  await storage.atomically(directory, async (scope) => {
    const [released] = await scope.record([event()])
    await scope.release(released.seq, [3, 4])
  })
  t.same(await events.directoryState(directory), { ...NO_STATE, releasedThrough: 6 }, 'released through its event')
  t.same([...await events.heldDirectories()], [], 'no longer held')
  const next = await events.next(directory, 0, 10)
  t.same(next.map((e) => e.coalesced === true), [false, false, true, true, false, false], 'the coalesced events are marked')
  t.notOk('coalesced' in next[0], 'and only they carry the flag')
  t.same((await events.read(0, 10)).map((e) => e.event.coalesced === true), [false, false, true, true, false, false], 'in the stream too')
  t.equal((await events.event(next[2].id))?.coalesced, true, 'and by id')

  const webhook = { endpoint: 'https://hooks.example/x', secret: 's3cret' }
  await storage.atomically(directory, async (scope) => {
    const [deleted] = await scope.record([event({ event: 'dsync.deleted' }, 9000)])
    await scope.markDeleted(deleted.seq, 9000, webhook)
  })
  t.same(await events.directoryState(directory), { ...NO_STATE, releasedThrough: 6, deleted: { seq: 7, at: 9000, webhook } }, 'deleted, with its webhook')
  const other = randomUUID()
  await storage.atomically(other, async (scope) => {
    const [deleted] = await scope.record([event()])
    await scope.markDeleted(deleted.seq, 8000, null)
  })
  t.same(await events.deletedDirectories(), [{ directoryId: other, seq: 1 }, { directoryId: directory, seq: 7 }], 'deletedDirectories, by the time of deletion')
}))

t.test('purgeDirectory leaves nothing of the directory in the queue', (t) => withService(t, 'redis', 'rq_purge', async (t, db) => {
  const storage = await open(t, db)
  const { events } = storage
  // An id that needs encoding in key names.
  const [gone, kept] = [`purged:${randomUUID()}*`, randomUUID()]
  for (const directory of [gone, kept]) {
    await storage.atomically(directory, async (scope) => {
      await scope.resources.insert(user(directory, 'someone'))
      await scope.record(Array.from({ length: 1100 }, (_, i) => event({ i }, Date.now(), i % 2 === 0 ? 1 : 0)))
      await scope.trip(5, Date.now())
    })
    await storage.atomically(directory, (scope) => scope.release(6, [1, 2]))
    await events.registerHandler('h', 0)
    await events.registerHandler('k', 0)
    await events.claim(directory, 'h', 'o', Date.now(), 1000)
    await events.claim(directory, 'k', 'o', Date.now(), 1000)
    await events.advance(directory, 'h', 'o', 3, { attempts: 1, error: 'failed', now: Date.now() })
    await events.retryLater(directory, 'k', 'o', 1, 0, 'later')
    await storage.atomically(directory, async (scope) => {
      const [deleted] = await scope.record([event()])
      await scope.markDeleted(deleted.seq, Date.now(), { endpoint: 'https://hooks.example', secret: 's' })
    })
  }
  const ids = (await events.next(gone, 0, 2000)).map((e) => e.id)
  t.equal(ids.length, 1101, 'the directory had its events')
  await events.purgeDirectory(gone)

  const encoded = encodeURIComponent(gone)
  const keys = await queueKeys(db)
  const mentions = [...keys].filter(([key, contents]) => key.includes(encoded) || contents.includes(encoded) || ids.some((id) => contents.includes(id)))
  t.same(mentions.map(([key]) => key), [], 'no key of the queue names the directory or holds one of its events')
  t.equal(await events.directoryHead(gone), 0, 'its head is gone')
  t.same(await events.next(gone, 0, 10), [], 'its events')
  t.same(await events.directoryState(gone), NO_STATE, 'its state')
  t.same(await events.position(gone, 'h'), { lastSeq: 0, attempts: 0 }, 'its cursors')
  t.same((await events.failures()).map((f) => f.event.directoryId), [kept], 'its failures')
  t.same(await events.deletedDirectories(), [{ directoryId: kept, seq: 1101 }], 'it is no longer listed as deleted')
  t.same(await events.pendingDirectories('h'), [kept], 'nor pending')
  t.equal((await events.next(kept, 0, 2000)).length, 1101, 'the other directory keeps everything')
  t.equal((await events.read(0, 5000)).length, 1101, 'the stream holds only its events')
  await events.purgeDirectory(gone)
  t.pass('purging again is fine')
}))

t.test('with an encryptionKey nothing private is in clear in Redis', (t) => withService(t, 'redis', 'rq_encrypted', async (t, db) => {
  const secrets = {
    payload: 'zorblat.payload@queue.example',
    failure: 'Quimbyfax failure text',
    retry: 'Grimsbytonia retry text',
    secret: 'wallaby-webhook-secret'
  }
  const write = async (storage: Storage, directory: string) => {
    await storage.events.registerHandler('h', 0)
    await storage.atomically(directory, (scope) => scope.record([event({ email: secrets.payload }), event({ email: secrets.payload })]))
    await storage.events.claim(directory, 'h', 'o', Date.now(), 1000)
    await storage.events.advance(directory, 'h', 'o', 1, { attempts: 1, error: secrets.failure, now: Date.now() })
    await storage.events.retryLater(directory, 'h', 'o', 1, 0, secrets.retry)
    await storage.atomically(directory, async (scope) => {
      const [deleted] = await scope.record([event()])
      await scope.markDeleted(deleted.seq, Date.now(), { endpoint: 'https://hooks.example', secret: secrets.secret })
    })
  }
  const check = async (t: Test, storage: Storage, directory: string) => {
    t.same(found(await rawRead(db, 'dsync:queue:'), Object.values(secrets)), [], 'no value is in the raw queue keys')
    t.equal((await storage.events.next(directory, 0, 10))[0].payload.email, secrets.payload, 'payloads read back')
    t.equal((await storage.events.read(0, 10, directory))[0].event.payload.email, secrets.payload, 'in the stream too')
    t.equal((await storage.events.failures())[0].error, secrets.failure, 'failure texts too')
    t.equal((await storage.events.claim(directory, 'h', 'o', Date.now(), 1000))?.lastError, secrets.retry, 'a cursor\'s last error too')
    t.equal((await storage.events.directoryState(directory)).deleted?.webhook?.secret, secrets.secret, 'the webhook secret too')
  }

  const plain = await openStorage(db)
  const before = randomUUID()
  await write(plain, before)
  t.same(found(await rawRead(db, 'dsync:queue:'), Object.values(secrets)), Object.values(secrets), 'without a key every value is in clear (the raw read sees them)')
  await plain.close()

  const keyed = await open(t, { ...db, encryptionKey: KEY } as DbOptions)
  await t.test('what was stored before the key, rewritten when it is set', (t) => check(t, keyed, before))
  const after = randomUUID()
  await write(keyed, after)
  await t.test('what is stored with the key', (t) => check(t, keyed, after))
}))

t.test('a writer SIGKILLed at random moments leaves every user with its events and every event with its user', (t) => withService(t, 'redis', 'rq_crash', async (t, db) => {
  const storage = await open(t, db)
  const directory = randomUUID()
  const staff = group(directory, 'staff')
  await storage.resources.insert(staff)
  const child = fileURLToPath(new URL('./children/redis-crash-writer.ts', import.meta.url))
  for (let round = 0; round < 6; round++) {
    const writer = spawn(process.execPath, ['--import', 'tsx', child, JSON.stringify(db), directory, staff.id], { stdio: ['ignore', 'pipe', 'inherit'] })
    const exited = new Promise<NodeJS.Signals | null>((resolve) => writer.once('exit', (_code, signal) => resolve(signal)))
    // Once it is writing, at a random moment.
    await new Promise<void>((resolve, reject) => {
      writer.stdout.once('data', () => resolve())
      writer.once('exit', (code) => reject(new Error(`the writer exited (${code}) before writing`)))
    })
    await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 300))
    writer.kill('SIGKILL')
    t.equal(await exited, 'SIGKILL', `round ${round + 1}: the writer was killed`)
  }
  const users = new Set<string>()
  for await (const u of storage.resources.scan(directory, 'User')) users.add(u.id)
  const members = new Set((await storage.resources.members(directory, staff.id)).map((m) => m.value))
  const recorded = await storage.events.next(directory, 0, 1_000_000)
  const created = recorded.filter((e) => e.payload.event === 'user.created').map((e) => e.payload.user as string)
  const added = recorded.filter((e) => e.payload.event === 'group.user_added').map((e) => e.payload.user as string)
  t.ok(users.size > 30, `the writers stored users (${users.size})`)
  t.same([...users].filter((id) => !created.includes(id)), [], 'every user stored has its user.created event')
  t.same(created.filter((id) => !users.has(id)), [], 'every user.created event has its user')
  t.equal(created.length, users.size, 'one event per user')
  t.same([...members].sort(), [...users].sort(), 'every user is in the group, and only they')
  t.same([...added].sort(), [...users].sort(), 'each with its group.user_added event')
  t.same(recorded.map((e) => e.seq), Array.from({ length: recorded.length }, (_, i) => i + 1), 'the seqs are dense')
  t.equal((await storage.events.read(0, 1_000_000, directory)).length, recorded.length, 'and every event is in the stream')
}))
