// The deprovisioning guard (the `guard` option; off without it), after Microsoft Entra's accidental-
// deletion threshold: when more than `minUsers` users, and more than `ratio` of a directory's users, are
// deprovisioned (deactivated or deleted) within `windowMs`, the guard trips. The SCIM wire answers as
// always and the store keeps every change; what stops is the directory's delivery to hooks and webhooks
// and events.list, from the first event that tripped it, until a person calls guard.release. jackson's
// copy is not held.
//
// The count is taken from the stored events, in the write that records them, under the directory's
// lock where the database has one (SQL; on Redis the write is watched and run again if another wrote
// the directory meanwhile): so every instance counts the same events, and the point where it trips is
// stored with them (directoryState.heldFrom), shared by all. The write that trips it records a
// directory.guard_tripped event just before the first event it holds, so that it is delivered at once.
import { randomUUID } from 'node:crypto'
import type { NewEvent, RecordedEvent, Storage, WriteScope } from '../store/types.js'
import type { FastifyBaseLogger } from 'fastify'
import type { Directory, DirectorySyncController, GuardReport, Result } from '../types.js'
import type { Dispatcher } from './dispatcher.js'
import { summary } from './lifecycle.js'
import { deepEqual, STANDARD_USER_FIELDS } from './previous.js'

export interface GuardOptions {
  /** Trips only when more users than this are deprovisioned within the window. */
  minUsers: number
  /** …and more than this share of the directory's users (those stored plus those deleted within the window). */
  ratio: number
  /** The window (ms) deprovisions are counted in. */
  windowMs: number
}

export const GUARD_TRIPPED = 'directory.guard_tripped'
export const GUARD_RELEASED = 'directory.guard_released'

type Json = Record<string, unknown>

/** What an event is to the guard: 2 a user deleted, 1 a user deactivated, 0 anything else. */
export function deprovisionOf (payload: Json): 0 | 1 | 2 {
  if (payload.event === 'user.deleted') return 2
  if (payload.event !== 'user.updated') return 0
  const previous = payload.previous as Json | undefined
  const data = payload.data as Json | undefined
  return previous?.active === true && data?.active === false ? 1 : 0
}

function report (directory: Directory, options: GuardOptions, fields: Pick<GuardReport, 'event_id' | 'deprovisioned' | 'users'> & Partial<GuardReport>): GuardReport {
  return { directory: summary(directory), min_users: options.minUsers, ratio: options.ratio, window_ms: options.windowMs, ...fields }
}

function guardEvent (directory: Directory, type: string, data: GuardReport, createdAt: number): NewEvent {
  const id = randomUUID()
  return {
    id,
    createdAt,
    payload: { event: type, directory_id: directory.id, tenant: directory.tenant, product: directory.product, data, id, created: new Date(createdAt).toISOString() }
  }
}

/**
 * Inside a write, before its events are recorded: counts them with the directory's earlier deprovisions
 * within the window and, where they cross both thresholds, trips the guard at the first that does.
 * Answers the events to record: `events`, or with directory.guard_tripped just before the first held.
 */
export async function guardWrite (options: GuardOptions, scope: WriteScope, directory: Directory, events: NewEvent[], now: number): Promise<NewEvent[]> {
  if (!events.some((event) => (event.deprovision ?? 0) > 0)) return events
  const state = await scope.state()
  if (state.heldFrom !== null) return events // already holding: everything after the trip point waits
  const since = now - options.windowMs
  // Deprovisions since the last release only: a release lets what it released go for good.
  let count = await scope.deprovisions(state.releasedThrough, since)
  let deleted = await scope.deprovisions(state.releasedThrough, since, 2)
  const stored = (await scope.resources.list(directory.id, 'User', { offset: 0, limit: 0 })).total
  deleted += events.filter((event) => event.deprovision === 2).length
  // The users the ratio is taken of: those stored now (after this write), plus those deleted within the window.
  const users = stored + deleted
  for (let i = 0; i < events.length; i++) {
    if ((events[i].deprovision ?? 0) === 0) continue
    count++
    if (count > options.minUsers && count > options.ratio * users) {
      const head = await scope.head()
      const heldFrom = head + i + 2 // after the events before it and the guard's own event
      await scope.trip(heldFrom, now)
      const tripped = guardEvent(directory, GUARD_TRIPPED, report(directory, options, { event_id: events[i].id, deprovisioned: count, users }), now)
      return [...events.slice(0, i), tripped, ...events.slice(i)]
    }
  }
  return events
}

// The key of the resource (or membership) an event changes; null for an event that is never coalesced.
function resourceKey (payload: Json): string | null {
  const data = payload.data as Json | undefined
  switch (payload.event) {
    case 'user.created': case 'user.updated': case 'user.deleted':
      return `user\u0000${String(data?.id)}`
    case 'group.created': case 'group.updated': case 'group.deleted':
      return `group\u0000${String(data?.id)}`
    case 'group.user_added': case 'group.user_removed':
      return `member\u0000${String(data?.group_id ?? (data?.group as Json | undefined)?.id)}\u0000${String(data?.id)}`
    default:
      return null
  }
}

const STANDARD_GROUP_FIELDS = ['name']

// The value an attribute named in `previous` has in an event's data: a standard field, or one of raw.
function valueIn (payload: Json, name: string): unknown {
  const data = (payload.data ?? {}) as Json
  const standard: readonly string[] = String(payload.event).startsWith('user.') ? STANDARD_USER_FIELDS : STANDARD_GROUP_FIELDS
  return (standard.includes(name) ? data[name] : ((data.raw ?? {}) as Json)[name]) ?? null
}

// Whether a run of updates leaves every attribute it changed as it was before the first.
function netUnchanged (updates: RecordedEvent[]): boolean {
  const before: Json = {}
  for (const { payload } of updates) {
    for (const [name, value] of Object.entries((payload.previous ?? {}) as Json)) if (!(name in before)) before[name] = value
  }
  const last = updates[updates.length - 1].payload
  return Object.entries(before).every(([name, value]) => deepEqual(value ?? null, valueIn(last, name)))
}

/**
 * The held events that carry no net change, by seq: per resource, a creation later deleted (all of it),
 * the updates before a deletion, the updates between a creation and the last update, a run of updates
 * that ends where it started (all of them; otherwise all but the last), and per membership everything
 * but the last change, or all of it when the last undoes the first. Directory and guard events stay.
 */
export function coalesce (held: RecordedEvent[]): number[] {
  const runs = new Map<string, RecordedEvent[]>()
  for (const event of held) {
    const key = resourceKey(event.payload)
    if (key === null) continue
    const run = runs.get(key)
    if (run === undefined) runs.set(key, [event])
    else run.push(event)
  }
  const dropped: number[] = []
  const drop = (events: RecordedEvent[]) => { for (const event of events) dropped.push(event.seq) }
  for (const [key, run] of runs) {
    const [first, last] = [run[0], run[run.length - 1]]
    const type = (event: RecordedEvent) => String(event.payload.event).split('.')[1]
    if (key.startsWith('member')) {
      // Added then removed (or removed then added): as it was. Otherwise the last change is the net one.
      if (type(first) !== type(last)) drop(run)
      else drop(run.slice(0, -1))
      continue
    }
    if (type(first) === 'created' && type(last) === 'deleted') drop(run)
    else if (type(last) === 'deleted') drop(run.slice(0, -1))
    else if (type(first) === 'created') drop(run.slice(1, -1))
    else if (netUnchanged(run)) drop(run)
    else drop(run.slice(0, -1))
  }
  return dropped.sort((a, b) => a - b)
}

const READ_BATCH = 1000

/**
 * Releases a tripped guard: reads the held events, then in a write of the directory (`inWrite`: its
 * lane and lock) marks those coalesced away (with `coalesce`), records directory.guard_released after
 * them, and stores the release. Events recorded between the read and the write are released as they
 * are. Answers null when the guard is not tripped.
 */
export async function releaseGuard (
  storage: Storage, options: GuardOptions, directory: Directory, coalescing: boolean,
  inWrite: <T>(fn: () => Promise<T>) => Promise<T>
): Promise<{ released: number, coalesced: number, seq: number } | null> {
  const { heldFrom } = await storage.events.directoryState(directory.id)
  if (heldFrom === null) return null
  const held: RecordedEvent[] = []
  for (let after = heldFrom - 1; ;) {
    const batch = await storage.events.next(directory.id, after, READ_BATCH)
    if (batch.length === 0) break
    held.push(...batch)
    after = batch[batch.length - 1].seq
  }
  return inWrite(() => storage.atomically(directory.id, async (scope) => {
    const state = await scope.state()
    if (state.heldFrom === null) return null // released meanwhile, by another call or instance
    const head = await scope.head()
    const coalesced = coalescing ? coalesce(held.filter((event) => event.seq <= head)) : []
    const released = head - state.heldFrom + 1 - coalesced.length
    const event = guardEvent(directory, GUARD_RELEASED, report(directory, options, {
      event_id: held[held.length - 1]?.id ?? null,
      deprovisioned: held.filter((e) => deprovisionOf(e.payload) > 0).length,
      users: (await scope.resources.list(directory.id, 'User', { offset: 0, limit: 0 })).total,
      released,
      coalesced: coalesced.length
    }), Date.now())
    const [recorded] = await scope.record([event])
    await scope.release(recorded.seq, coalesced)
    return { released, coalesced: coalesced.length, seq: recorded.seq }
  }))
}

/** `app.directorySync.guard`. `inWrite`: runs `fn` in the directory's write lane (on sqlite, under the file's lock). */
export function guardController (
  storage: Storage, options: GuardOptions | undefined, directories: { get(id: string): Promise<Result<Directory>> },
  inWrite: <T>(directoryId: string, fn: () => Promise<T>) => Promise<T>, dispatcher: Dispatcher, log: FastifyBaseLogger
): DirectorySyncController['guard'] {
  return {
    async release (directoryId, { coalesce: coalescing = false } = {}) {
      if (options === undefined) return { data: null, error: { message: 'The deprovisioning guard is off (no guard option)', code: 409 } }
      const found = await directories.get(directoryId)
      if (found.error !== null) return found
      const released = await releaseGuard(storage, options, found.data, coalescing, (fn) => inWrite(directoryId, fn))
      if (released === null) return { data: null, error: { message: `The guard of directory ${directoryId} is not tripped`, code: 409 } }
      log.warn({ directoryId, released: released.released, coalesced: released.coalesced }, 'deprovisioning guard released')
      await dispatcher.deliver(directoryId, released.seq)
      return { data: { released: released.released, coalesced: released.coalesced }, error: null }
    }
  }
}
