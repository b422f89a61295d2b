// Delivers recorded events to their handlers. Handlers form two groups: the awaited ones (the
// onScimEvent hooks, in registration order), which a SCIM response waits for within its budget, and the
// background ones (jackson's copy, the webhooks), which it never waits for. Within a group, each event is offered to the handlers in
// their order; each handler keeps its own cursor per directory, so one in backoff holds back only its
// own later events, and one that succeeded is never run again for that event. A cursor is claimed with
// a lease (renewed so that it outlasts every attempt) so that one instance at a time
// delivers a directory's events to a handler. After the last attempt an event is kept as failed
// (listable, replayable) and the cursor moves on. Delivery is at-least-once: a process that dies after
// a handler ran but before its cursor moved runs it again after restart, so handlers use the event id
// to recognise a repeat.
import { randomUUID } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { EventQueue, RecordedEvent } from '../store/types.js'
import { isRejectedData, isUnavailable } from '../store/outage.js'
import { DatabaseUnavailableError } from '../errors.js'
import type { ScimEvent } from '../types.js'
import type { DsyncMetrics } from './metrics.js'
import { isLifecycleEvent } from './lifecycle.js'

export interface DeliveryOptions {
  /** How long a SCIM response waits for the awaited handlers to handle its events (ms). */
  budget: number
  /** Attempts per event and handler before it is kept as failed. */
  maxAttempts: number
  /** The first retry's delay (ms); each further one doubles, up to maxBackoff. */
  backoff: number
  maxBackoff: number
  /** An attempt still running after this long counts as failed (ms). */
  handlerTimeout: number
  /**
   * How long a claim on a directory's cursor outlives its holder (ms): the holder renews its claims
   * every third of it (a heartbeat) for as long as it lives, so another instance (or the next process
   * after a crash) takes over within about `lease` of the holder's death.
   */
  lease: number
  /** How often to look for events recorded by other instances, or left behind by a crash (ms). */
  pollInterval: number
}

type Run = (event: ScimEvent) => Promise<void>

export interface HandlerOptions {
  /** A SCIM response waits (within the budget) for this handler (the hooks); webhooks are not awaited. */
  awaited: boolean
  /**
   * The handler writes to the plugin's database (jackson's copy), so any connection failure of it is an
   * outage; of another handler, only the plugin's own FST_DSYNC_DB_UNAVAILABLE is.
   */
  usesDatabase?: boolean
  /** Where the key starts the first time it is registered. */
  from?: 'now' | 'oldest'
  /** The handler takes the directories' lifecycle and guard events; without it they are passed over (the cursor moves, nothing is run). */
  lifecycle?: boolean
  /** The deprovisioning guard holds this handler's deliveries while tripped (hooks, webhooks; not jackson's copy). */
  held?: boolean
  /**
   * Takes a drained batch of events at once (jackson's copy: one transaction for the batch), all or
   * none. Where it fails, the batch's events go through `run` one at a time instead, with the usual
   * retries, backoff and failed records, so that one bad event is found and kept apart.
   */
  runBatch?: RunBatch
}
type RunBatch = (events: ScimEvent[]) => Promise<void>
/**
 * A failed attempt: its message, whether it failed because the plugin's database is unavailable (not
 * counted), and whether the database refused its data for good (not retried).
 */
interface Failure { message: string, outage: boolean, permanent: boolean }
type Group = 'awaited' | 'background'
interface Handler { run: Run, runBatch: RunBatch | undefined, group: Group, usesDatabase: boolean, lifecycle: boolean, held: boolean }

// Events read per batch: an awaited hook's, and a background handler's (jackson's copy takes them in one go).
const BATCH: Record<Group, number> = { awaited: 20, background: 100 }
// Events kept per directory for the awaited hooks (offer()): the rest are read back from the queue.
const RECENT_MAX = 200
const BACKGROUND_DELAY = 20
// An awaited hook's attempt running this long has the cursor moved over what it passed before it in its batch.
const PROGRESS_AFTER = 50
// While no other instance is seen and the directory keeps writing, an awaited hook's cursor is written at most this often.
const CURSOR_EVERY = 50
// A claim is let go after this long without a drain of its directory.
const RELEASE_AFTER = 1000
// On close, calls still in flight get this long before their claims are released anyway.
const CLOSE_GRACE = 2000
// How often a response looks whether another instance has delivered its events.
const ELSEWHERE_POLL = 20
// How often an instance holding claims on awaited hooks looks for events that other instances wrote
// (whose responses wait for it): while it holds them, which is while the directory is busy.
const FOLLOW_INTERVAL = 25
// While the database is unavailable, a delivery is tried again this often, without counting attempts.
const OUTAGE_RETRY = 1000

export class Dispatcher {
  readonly owner = randomUUID()
  /** In delivery order. */
  private readonly handlers = new Map<string, Handler>()
  private readonly running = new Map<string, Promise<void>>()
  private readonly again = new Set<string>()
  private readonly timers = new Map<string, { timer: NodeJS.Timeout, due: number }>()
  private readonly registering: Array<Promise<void>> = []
  // Claims kept between drains (directory + handler → where its cursor stands), so that a busy
  // directory does not claim and release for every request; let go after a quiet moment.
  private readonly held = new Map<string, { lastSeq: number }>()
  // Every claim this instance holds (kept or in a drain), renewed by the heartbeat. A claim the
  // heartbeat could not renew is taken out of here: its drain sees that and stops.
  private readonly claims = new Set<string>()
  private heartbeat: NodeJS.Timeout | undefined
  private follower: NodeJS.Timeout | undefined
  // Whether another instance writes to this database (a claim held elsewhere, or a new event this
  // instance did not record): only then is following worth its reads.
  private othersSeen = false
  private readonly localHead = new Map<string, number>()
  // Per directory: this process's writes under way, and the highest event number a drain read meanwhile that none had noted (writing()).
  private readonly inFlight = new Map<string, number>()
  private readonly unknownSeq = new Map<string, number>()
  // Per claim (directory + handler): an awaited hook's position passed but not yet written, carried to the
  // directory's next drain (carrying()); and per directory + group, when a cursor was last written.
  private readonly carried = new Map<string, number>()
  private readonly cursorWrittenAt = new Map<string, number>()
  private readonly carryTimers = new Map<string, NodeJS.Timeout>()
  // The events this process's writes just committed, per directory, in seq order (offer()).
  private readonly recent = new Map<string, RecordedEvent[]>()
  private readonly startedAt = Date.now()
  private readonly idle = new Map<string, NodeJS.Timeout>()
  private poller: NodeJS.Timeout | undefined
  private closed = false

  /** `guarded`: the deprovisioning guard is on (guard.ts), so a drain looks where it holds a directory. */
  constructor (
    private readonly queue: EventQueue, private readonly options: DeliveryOptions, private readonly log: FastifyBaseLogger,
    private readonly metrics?: DsyncMetrics, private readonly guarded = false
  ) {}

  add (key: string, run: Run, { awaited, usesDatabase = false, from = 'now', lifecycle = false, held = false, runBatch }: HandlerOptions): void {
    this.handlers.set(key, { run, runBatch, group: awaited ? 'awaited' : 'background', usesDatabase, lifecycle, held })
    // The first registration of a key decides where it starts: after the events recorded so far, or
    // with the oldest kept (since 0).
    const registering = this.queue.registerHandler(key, from === 'oldest' ? 0 : Date.now())
    registering.catch((err) => this.log.error({ err, handler: key }, 'registering an event handler failed'))
    this.registering.push(registering)
  }

  async start (): Promise<void> {
    await Promise.all(this.registering)
    this.poller = setInterval(() => { this.sweep() }, this.options.pollInterval)
    this.poller.unref()
    this.heartbeat = setInterval(() => { this.renewClaims() }, Math.max(Math.floor(this.options.lease / 3), 50))
    this.heartbeat.unref()
    this.follower = setInterval(() => { this.follow() }, FOLLOW_INTERVAL)
    this.follower.unref()
    this.sweep()
  }

  /**
   * Delivers a directory's new events; resolves when the awaited handlers are done with them (up to
   * `upTo`, the request's last event, whichever instance delivers it), or the budget is spent.
   */
  async deliver (directoryId: string, upTo?: number): Promise<void> {
    if (upTo !== undefined && upTo > (this.localHead.get(directoryId) ?? 0)) this.localHead.set(directoryId, upTo)
    // Background handlers (jackson's copy, webhooks) take the directory's new events in batches: a drain
    // shortly after, rather than one per request, which under load would compete with the requests.
    this.later(directoryId, 'background', BACKGROUND_DELAY)
    let timer: NodeJS.Timeout | undefined
    let spent = false
    const budget = new Promise<void>((resolve) => { timer = setTimeout(() => { spent = true; resolve() }, this.options.budget) })
    try {
      await Promise.race([this.untilDelivered(directoryId, upTo, () => spent), budget])
    } finally {
      clearTimeout(timer)
    }
  }

  // The local drain delivers what this instance holds the claims for. A handler whose claim another
  // instance holds is done with the request's events once its cursor has passed `upTo` (or it is
  // failing at or before it, and so in backoff): until then, and within the budget, look again
  // (claiming it, should the other instance let go).
  private async untilDelivered (directoryId: string, upTo: number | undefined, expired: () => boolean): Promise<void> {
    for (;;) {
      await this.drain(directoryId, 'awaited')
      if (upTo === undefined || this.closed || expired()) return
      const elsewhere = this.keys('awaited').filter((key) => !this.claims.has(`${directoryId}\u0000${key}`))
      if (elsewhere.length === 0) return
      const positions = await Promise.all(elsewhere.map((key) => this.queue.position(directoryId, key)))
      // Done also where the guard holds the handler back: held events wait for a release, not for this response.
      const heldFrom = await this.heldFrom(directoryId)
      const through = (key: string) => heldFrom !== null && this.handlers.get(key)?.held === true ? Math.min(upTo, heldFrom - 1) : upTo
      if (positions.every(({ lastSeq, attempts }, i) => lastSeq >= through(elsewhere[i]) || attempts > 0)) return
      await new Promise((resolve) => setTimeout(resolve, ELSEWHERE_POLL))
    }
  }

  /**
   * Events a write of this process has just committed: the awaited hooks' drain takes them from here
   * instead of reading them back (one round trip fewer on a SCIM response's path). Only a run that
   * follows a hook's cursor without a gap is taken; anything else is read from the queue as before.
   * Not where the guard is on (held and coalesced events are decided by the database).
   */
  offer (directoryId: string, events: RecordedEvent[]): void {
    if (this.closed || this.guarded || this.othersSeen || events.length === 0 || this.keys('awaited').length === 0) return
    const list = this.recent.get(directoryId) ?? []
    // As the queue would answer them: a copy of the JSON, so that a hook cannot change the caller's.
    for (const event of events) list.push({ ...event, payload: JSON.parse(JSON.stringify(event.payload)) })
    list.sort((a, b) => a.seq - b.seq)
    if (list.length > RECENT_MAX) list.splice(0, list.length - RECENT_MAX)
    this.recent.set(directoryId, list)
  }

  /**
   * A write of this process numbered its events up to `seq` (called as soon as it knows: inside a
   * transaction before its commit, or with the commit of a single statement, see writing()): a drain that
   * reads them before the write's deliver() does not take them for another instance's. (A write rolled
   * back leaves the mark too high, which only delays noticing another instance until the poller's next read.)
   */
  recording (directoryId: string, seq: number): void {
    if (seq > (this.localHead.get(directoryId) ?? 0)) this.localHead.set(directoryId, seq)
  }

  /**
   * A write of this process is under way (until the answer is called): a write without a transaction
   * learns its events' numbers only with its commit, so meanwhile a drain that reads events it does not
   * know of cannot tell them from another instance's. It notes the highest, and the judgement is made
   * when the directory's last write under way has noted its own (recording()).
   */
  writing (directoryId: string): () => void {
    this.inFlight.set(directoryId, (this.inFlight.get(directoryId) ?? 0) + 1)
    return () => {
      const left = (this.inFlight.get(directoryId) ?? 1) - 1
      if (left > 0) {
        this.inFlight.set(directoryId, left)
        return
      }
      this.inFlight.delete(directoryId)
      const unknown = this.unknownSeq.get(directoryId)
      this.unknownSeq.delete(directoryId)
      if (unknown !== undefined && unknown > (this.localHead.get(directoryId) ?? 0)) this.seeOthers()
    }
  }

  /**
   * Whether an awaited hook's cursor may be carried to a later drain of the directory instead of written
   * now, and how long until one is due: while no other instance is seen (nobody else waits for it; a
   * crash only delivers those events again) and one was written less than CURSOR_EVERY ago. Under a
   * steady stream of writes the cursor is then written every CURSOR_EVERY, not per drain. Undefined: write now.
   */
  private carrying (directoryId: string, group: Group): number | undefined {
    if (group !== 'awaited' || this.othersSeen || this.closed) return undefined
    const elapsed = Date.now() - (this.cursorWrittenAt.get(`${directoryId}\u0000${group}`) ?? 0)
    return elapsed < CURSOR_EVERY ? CURSOR_EVERY - elapsed : undefined
  }

  private scheduleCarried (directoryId: string, group: Group, wait: number): void {
    const groupSlot = `${directoryId}\u0000${group}`
    if (this.closed || this.carryTimers.has(groupSlot)) return
    const timer = setTimeout(() => {
      this.carryTimers.delete(groupSlot)
      this.writeCarried(directoryId, group).catch((err) => this.logFailure(err, { directoryId, group }, 'event cursors could not be moved'))
    }, wait)
    timer.unref()
    this.carryTimers.set(groupSlot, timer)
  }

  // Writes the positions carried for the directory's handlers of `group`. A drain running meanwhile
  // writes only positions past these (each is taken out before it is written), so whichever lands
  // last, the cursor ends at the furthest (advance() never moves one back).
  private async writeCarried (directoryId: string, group: Group): Promise<void> {
    for (const key of this.keys(group)) {
      const slot = `${directoryId}\u0000${key}`
      const seq = this.carried.get(slot)
      if (seq === undefined) continue
      this.carried.delete(slot)
      await this.queue.advance(directoryId, key, this.owner, seq)
    }
    this.cursorWrittenAt.set(`${directoryId}\u0000${group}`, Date.now())
  }

  // Whether `batch` holds an event recorded since this process started that none of its writes
  // numbered: another instance's (or, while one of this process's writes is under way, not yet known).
  private judgeBatch (directoryId: string, batch: RecordedEvent[]): void {
    if (this.othersSeen) return
    const ours = this.localHead.get(directoryId) ?? 0
    let unknown = 0
    for (const event of batch) if (event.createdAt >= this.startedAt && event.seq > ours && event.seq > unknown) unknown = event.seq
    if (unknown === 0) return
    if (!this.inFlight.has(directoryId)) this.seeOthers()
    else if (unknown > (this.unknownSeq.get(directoryId) ?? 0)) this.unknownSeq.set(directoryId, unknown)
  }

  // Another instance writes to this database: following is worth its reads, and the awaited hooks read
  // every event from the queue (events kept in memory would never be taken, and only grow).
  private seeOthers (): void {
    this.othersSeen = true
    this.recent.clear()
  }

  // The offered events right after `from`, without a gap (undefined: read the queue); those at or before `from` are dropped.
  private fromMemory (directoryId: string, from: number): RecordedEvent[] | undefined {
    const list = this.recent.get(directoryId)
    if (list === undefined) return undefined
    const start = list.findIndex((event) => event.seq > from)
    if (start < 0) {
      this.recent.delete(directoryId)
      return undefined
    }
    list.splice(0, start)
    if (list[0].seq !== from + 1) return undefined
    let end = 1
    while (end < list.length && end < BATCH.awaited && list[end].seq === list[end - 1].seq + 1) end++
    return list.slice(0, end)
  }

  /** The keys of the handlers added, in delivery order. */
  handlerKeys (): string[] {
    return [...this.handlers.keys()]
  }

  // Where the guard holds the directory (the seq of its first held event), null where it does not.
  private async heldFrom (directoryId: string): Promise<number | null> {
    return this.guarded ? (await this.queue.directoryState(directoryId)).heldFrom : null
  }

  /** Runs one event through one handler now (a replay); answers the error, or undefined on success. */
  attemptNow (key: string, event: RecordedEvent): Promise<string | undefined> {
    const handler = this.handlers.get(key)
    if (handler === undefined) return Promise.resolve(`no handler ${key} is registered`)
    return this.attempt(handler.run, event, handler.usesDatabase).then((failure) => failure?.message)
  }

  async close (): Promise<void> {
    this.closed = true
    clearInterval(this.poller)
    clearInterval(this.heartbeat)
    clearInterval(this.follower)
    for (const { timer } of this.timers.values()) clearTimeout(timer)
    this.timers.clear()
    this.recent.clear()
    for (const timer of this.idle.values()) clearTimeout(timer)
    this.idle.clear()
    await Promise.race([Promise.allSettled([...this.running.values()]), new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE).unref())])
    // Every claim, also those of a drain whose handler is still running: its event was not passed, so
    // the next holder delivers it again (at least once), and nobody waits for a lease to expire.
    this.held.clear()
    for (const timer of this.carryTimers.values()) clearTimeout(timer)
    this.carryTimers.clear()
    for (const [slot, seq] of [...this.carried]) {
      const [directoryId, key] = slot.split('\u0000')
      await this.queue.advance(directoryId, key, this.owner, seq).catch(() => {})
    }
    this.carried.clear()
    for (const slot of [...this.claims]) {
      const [directoryId, key] = slot.split('\u0000')
      this.claims.delete(slot)
      await this.queue.release(directoryId, key, this.owner).catch(() => {})
    }
  }

  // Drains the directories whose awaited hooks this instance holds: another instance's response for
  // them waits for this one (untilDelivered), which would otherwise learn of their events only at the
  // next sweep. A drain already running is left alone; one with nothing new costs one read.
  private follow (): void {
    if (this.closed || !this.othersSeen) return
    const awaited = new Set(this.keys('awaited'))
    const directories = new Set<string>()
    for (const slot of this.held.keys()) {
      const [directoryId, key] = slot.split('\u0000')
      if (awaited.has(key)) directories.add(directoryId)
    }
    for (const directoryId of directories) {
      if (!this.running.has(`${directoryId}\u0000awaited`)) this.drain(directoryId, 'awaited').catch(() => {})
    }
  }

  // The heartbeat: extends every claim held. One that cannot be extended (taken over, or the database
  // unreachable) is given up at once: its drain stops, and nothing more is delivered under it.
  private renewClaims (): void {
    if (this.closed) return
    for (const slot of [...this.claims]) {
      const [directoryId, key] = slot.split('\u0000')
      this.queue.renew(directoryId, key, this.owner, Date.now(), this.options.lease).then((renewed) => {
        if (!renewed) this.loseClaim(slot)
      }, () => this.loseClaim(slot))
    }
  }

  private loseClaim (slot: string): void {
    this.claims.delete(slot)
    this.held.delete(slot)
  }

  private keys (group: Group): string[] {
    return [...this.handlers].filter(([, handler]) => handler.group === group).map(([key]) => key)
  }

  private sweep (): void {
    if (this.closed) return
    for (const group of ['awaited', 'background'] as const) {
      Promise.all(this.keys(group).map((key) => this.queue.pendingDirectories(key))).then((lists) => {
        for (const directoryId of new Set(lists.flat())) this.drain(directoryId, group).catch(() => {})
      }, (err) => this.logFailure(err, {}, 'looking for undelivered events failed'))
    }
  }

  private drain (directoryId: string, group: Group): Promise<void> {
    const slot = `${directoryId}\u0000${group}`
    const running = this.running.get(slot)
    if (running !== undefined) {
      // The loop in flight may have looked already: make it look once more before it stops.
      this.again.add(slot)
      return running
    }
    const loop = (async () => {
      do {
        this.again.delete(slot)
        await this.drainOnce(directoryId, group)
      } while (this.again.has(slot) && !this.closed)
    })().catch((err) => {
      this.logFailure(err, { directoryId }, 'event delivery failed')
    }).finally(() => this.running.delete(slot))
    this.running.set(slot, loop)
    return loop
  }

  private async drainOnce (directoryId: string, group: Group): Promise<void> {
    const { lease, maxAttempts } = this.options
    // The handlers of the group whose cursor this instance holds and that may go on: where each stands.
    // Their claims are kept alive by the heartbeat.
    const active = new Map<string, { lastSeq: number, attempts: number }>()
    const claimed: string[] = []
    const groupSlot = `${directoryId}\u0000${group}`
    clearTimeout(this.idle.get(groupSlot))
    this.idle.delete(groupSlot)
    try {
      for (const key of this.keys(group)) {
        if (this.closed) return
        const slot = `${directoryId}\u0000${key}`
        const kept = this.held.get(slot)
        if (kept !== undefined && this.claims.has(slot)) {
          claimed.push(key)
          active.set(key, { lastSeq: kept.lastSeq, attempts: 0 })
          continue
        }
        const cursor = await this.queue.claim(directoryId, key, this.owner, Date.now(), lease)
        if (cursor === null) { // another instance delivers this directory's events to this handler
          this.seeOthers()
          continue
        }
        this.claims.add(slot)
        claimed.push(key)
        if (cursor.nextAttemptAt > Date.now()) this.later(directoryId, group, cursor.nextAttemptAt - Date.now())
        else active.set(key, { lastSeq: cursor.lastSeq, attempts: cursor.attempts })
      }
      // A cursor is moved once per batch (or before a failure is recorded), not once per event: one
      // statement instead of twenty. A crash in between delivers those events again, which at-least-once
      // delivery allows (the event ids are the idempotency keys). An awaited hook's batch is what the
      // responses waiting for this drain wait for anyway; other instances' responses and the status see
      // its position at the batch's end, or while an attempt of it takes long (PROGRESS_AFTER).
      const unflushed = new Map<string, number>()
      const flush = async (key: string): Promise<boolean> => {
        const seq = unflushed.get(key)
        if (seq === undefined) return true
        unflushed.delete(key)
        if (await this.queue.advance(directoryId, key, this.owner, seq)) {
          this.cursorWrittenAt.set(groupSlot, Date.now())
          return true
        }
        active.delete(key) // lost: nothing more is delivered under this claim
        return false
      }
      const flushAll = async () => { for (const key of [...unflushed.keys()]) await flush(key) }
      // What the previous drain of the directory carried over is written by this one.
      for (const key of claimed) {
        const slot = `${directoryId}\u0000${key}`
        const seq = this.carried.get(slot)
        if (seq === undefined) continue
        this.carried.delete(slot)
        if (!unflushed.has(key)) unflushed.set(key, seq)
      }
      // Carried over to the directory's next drain, or written when CURSOR_EVERY has passed (writeCarried).
      const carry = () => {
        const wait = this.carrying(directoryId, group)
        if (wait === undefined) return
        for (const [key, seq] of [...unflushed]) {
          if (!active.has(key)) continue
          this.carried.set(`${directoryId}\u0000${key}`, seq)
          unflushed.delete(key)
        }
        this.scheduleCarried(directoryId, group, wait)
      }
      try {
        while (active.size > 0 && !this.closed) {
          const from = Math.min(...[...active.values()].map((state) => state.lastSeq))
          // Where the guard holds the directory, read before and after the batch: a trip is stored with
          // the events it holds, so the read after sees it with them; a release marks the events it
          // coalesced away, so a batch read before it commits may carry stale marks. Where the two reads
          // differ, the batch is read again.
          const heldBefore = await this.heldFrom(directoryId)
          // While no other instance is seen, the awaited hooks take this process's own events from memory;
          // a run that reaches the last event this process knows of ends the drain (what other instances
          // record is found by the poller, and from then on read from the queue).
          const offered = group === 'awaited' && !this.othersSeen ? this.fromMemory(directoryId, from) : undefined
          const batch = offered ?? await this.queue.next(directoryId, from, BATCH[group])
          if (batch.length === 0) return
          const heldFrom = await this.heldFrom(directoryId)
          if (heldFrom !== heldBefore) continue
          // Read after the batch: this process's writes mark their events by their commit (recording(), writing()).
          const ours = this.localHead.get(directoryId) ?? 0
          this.judgeBatch(directoryId, batch)
          // The loop's `again` flag covers what is recorded meanwhile.
          const last = offered === undefined ? batch.length < BATCH[group] : offered[offered.length - 1].seq >= ours
          // Handlers that take a batch at once, where nothing holds them back; what they pass is skipped below.
          for (const [key, { lastSeq, attempts }] of active) {
            const handler = this.handlers.get(key)!
            if (handler.runBatch === undefined || attempts > 0 || (handler.held && heldFrom !== null)) continue
            const taken = batch.filter((event) => event.seq > lastSeq)
            if (taken.length === 0) continue
            const runs = taken.filter((event) => !this.passedOver(handler, event))
            if (runs.length > 0 && !await this.attemptBatch(handler.runBatch, runs)) continue // one at a time, below
            if (this.closed || !this.claims.has(`${directoryId}\u0000${key}`)) continue // the loop below drops it
            for (const event of runs) this.metrics?.delivered(key, (Date.now() - event.createdAt) / 1000, directoryId)
            const through = taken[taken.length - 1].seq
            active.set(key, { lastSeq: through, attempts: 0 })
            unflushed.set(key, through)
          }
          for (const event of batch) {
            for (const [key, { lastSeq, attempts }] of active) {
              if (lastSeq >= event.seq) continue
              if (!this.claims.has(`${directoryId}\u0000${key}`) || this.closed) {
                active.delete(key) // lost (or closing): nothing more is delivered under this claim
                continue
              }
              const handler = this.handlers.get(key)!
              if (handler.held && heldFrom !== null && event.seq >= heldFrom) {
                active.delete(key) // held by the guard: its cursor waits here until a release delivers again
                continue
              }
              const passedOver = this.passedOver(handler, event)
              // An awaited hook that takes long (blocked, say) has what it passed before recorded meanwhile:
              // the status and other instances' responses see where it stands.
              let early: Promise<boolean> | undefined
              const progress = group === 'awaited' && !passedOver && unflushed.has(key) ? setTimeout(() => { early = flush(key) }, PROGRESS_AFTER) : undefined
              const failure = passedOver ? undefined : await this.attempt(handler.run, event, handler.usesDatabase)
              clearTimeout(progress)
              if (early !== undefined && !await early) continue // the claim was lost meanwhile
              const error = failure?.message ?? ''
              if (this.closed || !this.claims.has(`${directoryId}\u0000${key}`)) {
              // Closed or lost during the attempt: the cursor is not moved; the next holder delivers again.
                active.delete(key)
              } else if (failure === undefined) {
                if (!passedOver) this.metrics?.delivered(key, (Date.now() - event.createdAt) / 1000, directoryId)
                active.set(key, { lastSeq: event.seq, attempts: 0 })
                unflushed.set(key, event.seq)
              } else if (!await flush(key)) {
                // The events it passed before this one could not be recorded: the claim is lost.
              } else if (failure.outage) {
              // Not the handler's fault: the database is down. No attempt is counted (an outage must
              // not use them up); the event is tried again shortly, and its later ones wait for it.
                this.log.warn({ directoryId, handler: key, event: event.id, retryIn: OUTAGE_RETRY, error }, 'event delivery waits: the database is unavailable')
                active.delete(key)
                this.later(directoryId, group, OUTAGE_RETRY)
              } else if (failure.permanent || attempts + 1 >= maxAttempts) {
              // Given up on: after its last attempt, or at once when the database refused the data for
              // good (jackson's copy of a record too large for its column): later events go on.
                this.log.error({ directoryId, handler: key, event: event.id, attempts: attempts + 1, error }, 'event delivery failed for good: kept as failed')
                this.metrics?.attemptFailed(key, directoryId, true)
                const moved = await this.queue.advance(directoryId, key, this.owner, event.seq, { attempts: attempts + 1, error, now: Date.now() })
                if (moved) active.set(key, { lastSeq: event.seq, attempts: 0 })
                else active.delete(key)
              } else {
                const delay = Math.min(this.options.backoff * 2 ** attempts, this.options.maxBackoff)
                this.log.warn({ directoryId, handler: key, event: event.id, attempt: attempts + 1, retryIn: delay, error }, 'event delivery failed: will retry')
                this.metrics?.attemptFailed(key, directoryId, false)
                await this.queue.retryLater(directoryId, key, this.owner, attempts + 1, Date.now() + delay, error)
                active.delete(key) // held back: this handler's later events wait for this one
                this.later(directoryId, group, delay)
              }
            }
          }
          // Only where this drain ends here: a later batch of it would write past what was carried.
          if (last) carry()
          await flushAll()
          if (last) return
          // A large change makes a long backlog (9,000 membership events for jackson's copy, whose sqlite
          // calls are synchronous): other requests run between batches.
          if (group === 'background') await new Promise((resolve) => setImmediate(resolve))
        }
      } finally {
        // What was passed is recorded whatever ended the drain (a failure to read, closing).
        await flushAll().catch((err) => this.logFailure(err, { directoryId, group }, 'event cursors could not be moved'))
      }
    } finally {
      for (const key of claimed) {
        const slot = `${directoryId}\u0000${key}`
        const state = active.get(key)
        if (state !== undefined && !this.closed && this.claims.has(slot)) {
          this.held.set(slot, { lastSeq: state.lastSeq })
        } else if (!this.closed) {
          // Lost or in backoff: let another instance (or a later drain) claim it afresh. (On close,
          // close() releases every claim.)
          this.held.delete(slot)
          if (this.claims.delete(slot)) await this.queue.release(directoryId, key, this.owner).catch(() => {})
        }
      }
      this.releaseWhenQuiet(directoryId, group)
    }
  }

  // While the database is unavailable the poller fails every pollInterval: a warning, not an error.
  private logFailure (err: unknown, context: Record<string, unknown>, message: string): void {
    if (this.closed) return // the storage may be closing under a drain that had not finished
    if (isUnavailable(err)) this.log.warn({ ...context, err }, `${message}: the database is unavailable`)
    else this.log.error({ ...context, err }, message)
  }

  private releaseWhenQuiet (directoryId: string, group: Group): void {
    const groupSlot = `${directoryId}\u0000${group}`
    if (this.closed || !this.keys(group).some((key) => this.held.has(`${directoryId}\u0000${key}`))) return
    const timer = setTimeout(() => {
      this.idle.delete(groupSlot)
      if (this.running.has(groupSlot)) return // a drain in flight sets the next quiet timer
      // A quiet directory's offered events are let go with its claims (a hook in backoff reads them back),
      // and so is when its cursors were last written (a carried position was written long before: CURSOR_EVERY).
      if (group === 'awaited') this.recent.delete(directoryId)
      this.cursorWrittenAt.delete(groupSlot)
      for (const key of this.keys(group)) {
        const slot = `${directoryId}\u0000${key}`
        if (!this.held.delete(slot)) continue
        this.claims.delete(slot)
        this.queue.release(directoryId, key, this.owner).catch(() => {})
      }
    }, RELEASE_AFTER)
    timer.unref()
    this.idle.set(groupSlot, timer)
  }

  // A lifecycle event for a handler that does not take them is passed over, as handled; so is an event
  // the guard's release coalesced away.
  private passedOver (handler: Handler, event: RecordedEvent): boolean {
    return (!handler.lifecycle && isLifecycleEvent(String(event.payload.event))) || (handler.held && event.coalesced === true)
  }

  // A batch either succeeds whole or is not counted: its events are then attempted one at a time.
  private async attemptBatch (runBatch: RunBatch, events: RecordedEvent[]): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined
    const overrun = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), this.options.handlerTimeout)
      timer.unref()
    })
    try {
      return await Promise.race([runBatch(events.map((event) => event.payload as unknown as ScimEvent)).then(() => true), overrun])
    } catch (err) {
      this.log.debug({ err, events: events.length }, 'a batch failed: its events are attempted one at a time')
      return false
    } finally {
      clearTimeout(timer)
    }
  }

  private async attempt (run: Run, event: RecordedEvent, usesDatabase: boolean): Promise<Failure | undefined> {
    let timer: NodeJS.Timeout | undefined
    const overrun = new Promise<Failure>((resolve) => {
      timer = setTimeout(() => resolve({ message: `no answer within ${this.options.handlerTimeout} ms`, outage: false, permanent: false }), this.options.handlerTimeout)
      timer.unref()
    })
    try {
      return await Promise.race([run(event.payload as unknown as ScimEvent).then(() => undefined), overrun])
    } catch (err) {
      const outage = err instanceof DatabaseUnavailableError || (usesDatabase && isUnavailable(err))
      const permanent = usesDatabase && !outage && isRejectedData(err)
      return { message: err instanceof Error ? err.message : String(err), outage, permanent }
    } finally {
      clearTimeout(timer)
    }
  }

  // One timer per directory and group, for the earliest retry due; the drain it starts schedules the next.
  private later (directoryId: string, group: Group, delay: number): void {
    if (this.closed) return
    const slot = `${directoryId}\u0000${group}`
    const due = Date.now() + Math.max(delay, 0)
    const scheduled = this.timers.get(slot)
    if (scheduled !== undefined) {
      if (scheduled.due <= due) return
      clearTimeout(scheduled.timer)
    }
    const timer = setTimeout(() => {
      this.timers.delete(slot)
      this.drain(directoryId, group).catch(() => {})
    }, Math.max(delay, 0))
    timer.unref()
    this.timers.set(slot, { timer, due })
  }
}
