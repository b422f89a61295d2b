// The event queue in process memory, for the mem engine (everything lives as long as the process). Same
// contract as the SQL and Redis queues, claims included, so that the dispatcher does not care which it
// has. A directory's kept events are an array in seq order (retention and purges remove from it, so
// a seq is found by bisection, not by its index).
import { NO_STATE, type Cursor, type DirectoryState, type EventQueue, type FailedDelivery, type NewEvent, type RecordedEvent } from './types.js'

interface CursorState extends Cursor {
  owner: string | null
  leaseUntil: number
}

/** The first index of `list` (ascending by `key`) whose key is above `after`. */
function firstAfter<T> (list: T[], after: number, key: (item: T) => number): number {
  let [lo, hi] = [0, list.length]
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (key(list[mid]) <= after) lo = mid + 1
    else hi = mid
  }
  return lo
}

const bySeq = (event: RecordedEvent) => event.seq

export class MemoryEventQueue implements EventQueue {
  private readonly events = new Map<string, RecordedEvent[]>()
  private readonly heads = new Map<string, number>()
  private readonly deprovisionOf = new Map<string, number>()
  private readonly states = new Map<string, DirectoryState>()
  private readonly byId = new Map<string, RecordedEvent>()
  private readonly registered = new Map<string, number>()
  private readonly cursors = new Map<string, CursorState>()
  private readonly failed = new Map<string, FailedDelivery>()
  // The stream across directories: one process records in order, so a position is given at once.
  private stream: Array<{ position: number, event: RecordedEvent }> = []
  private streamHead = 0
  private trimmed = 0

  record (directoryId: string, events: NewEvent[]): RecordedEvent[] {
    let list = this.events.get(directoryId)
    if (list === undefined) this.events.set(directoryId, list = [])
    return events.map(({ deprovision, ...event }) => {
      const seq = (this.heads.get(directoryId) ?? 0) + 1
      this.heads.set(directoryId, seq)
      const recorded: RecordedEvent = { ...event, directoryId, seq }
      list.push(recorded)
      if (deprovision !== undefined && deprovision > 0) this.deprovisionOf.set(event.id, deprovision)
      this.byId.set(event.id, recorded)
      this.stream.push({ position: ++this.streamHead, event: recorded })
      return recorded
    })
  }

  async registerHandler (handler: string, now: number): Promise<void> {
    if (!this.registered.has(handler)) this.registered.set(handler, now)
  }

  async pendingDirectories (handler: string): Promise<string[]> {
    return [...this.heads].filter(([directoryId, head]) => head > (this.cursors.get(`${directoryId}\u0000${handler}`)?.lastSeq ?? 0))
      .map(([directoryId]) => directoryId)
  }

  async claim (directoryId: string, handler: string, owner: string, now: number, leaseMs: number): Promise<Cursor | null> {
    const key = `${directoryId}\u0000${handler}`
    let cursor = this.cursors.get(key)
    if (cursor === undefined) {
      const since = this.registered.get(handler) ?? now
      const before = (this.events.get(directoryId) ?? []).filter((e) => e.createdAt < since)
      cursor = { lastSeq: before.length === 0 ? 0 : before[before.length - 1].seq, attempts: 0, nextAttemptAt: 0, lastError: null, owner: null, leaseUntil: 0 }
      this.cursors.set(key, cursor)
    }
    if (cursor.owner !== null && cursor.owner !== owner && cursor.leaseUntil >= now) return null
    cursor.owner = owner
    cursor.leaseUntil = now + leaseMs
    return { lastSeq: cursor.lastSeq, attempts: cursor.attempts, nextAttemptAt: cursor.nextAttemptAt, lastError: cursor.lastError }
  }

  async next (directoryId: string, afterSeq: number, limit: number): Promise<RecordedEvent[]> {
    const list = this.events.get(directoryId) ?? []
    const from = firstAfter(list, afterSeq, bySeq)
    return list.slice(from, from + limit)
  }

  async position (directoryId: string, handler: string): Promise<{ lastSeq: number, attempts: number }> {
    const cursor = this.cursors.get(`${directoryId}\u0000${handler}`)
    return { lastSeq: cursor?.lastSeq ?? 0, attempts: cursor?.attempts ?? 0 }
  }

  async renew (directoryId: string, handler: string, owner: string, now: number, leaseMs: number): Promise<boolean> {
    const cursor = this.cursors.get(`${directoryId}\u0000${handler}`)
    if (cursor?.owner !== owner) return false
    cursor.leaseUntil = now + leaseMs
    return true
  }

  async advance (directoryId: string, handler: string, owner: string, seq: number, failed?: { attempts: number, error: string, now: number }): Promise<boolean> {
    const cursor = this.cursors.get(`${directoryId}\u0000${handler}`)
    if (cursor === undefined || cursor.owner !== owner || cursor.lastSeq >= seq) return false
    Object.assign(cursor, { lastSeq: seq, attempts: 0, nextAttemptAt: 0, lastError: null })
    if (failed !== undefined) {
      const list = this.events.get(directoryId)!
      const event = list[firstAfter(list, seq - 1, bySeq)]
      this.failed.set(`${event.id}\u0000${handler}`, { event, handler, attempts: failed.attempts, error: failed.error, failedAt: failed.now })
    }
    return true
  }

  async retryLater (directoryId: string, handler: string, owner: string, attempts: number, nextAttemptAt: number, error: string): Promise<void> {
    const cursor = this.cursors.get(`${directoryId}\u0000${handler}`)
    if (cursor?.owner === owner) Object.assign(cursor, { attempts, nextAttemptAt, lastError: error })
  }

  async release (directoryId: string, handler: string, owner: string): Promise<void> {
    const cursor = this.cursors.get(`${directoryId}\u0000${handler}`)
    if (cursor?.owner === owner) Object.assign(cursor, { owner: null, leaseUntil: 0 })
  }

  async head (): Promise<number> {
    return this.streamHead
  }

  async read (after: number, limit: number, directoryId?: string): Promise<Array<{ position: number, event: RecordedEvent }>> {
    // Positions only grow: the first entry after `after` is found by bisection, not by a scan from the start.
    const lo = firstAfter(this.stream, after, (entry) => entry.position)
    const out: Array<{ position: number, event: RecordedEvent }> = []
    for (let i = lo; i < this.stream.length && out.length < limit; i++) {
      const entry = this.stream[i]
      if (directoryId === undefined || entry.event.directoryId === directoryId) out.push(entry)
    }
    return out
  }

  async trimmedTo (): Promise<number> {
    return this.trimmed
  }

  async trim (cutoff: number, failedCutoff: number): Promise<number> {
    for (const [key, failure] of this.failed) if (failure.failedAt < failedCutoff) this.failed.delete(key)
    const needed = new Set([...this.failed.values()].map((failure) => failure.event.id))
    const kept: typeof this.stream = []
    let removed = 0
    const gone = new Set<string>()
    for (const entry of this.stream) {
      if (entry.event.createdAt < cutoff && !needed.has(entry.event.id)) {
        this.trimmed = Math.max(this.trimmed, entry.position)
        gone.add(entry.event.id)
        removed++
      } else {
        kept.push(entry)
      }
    }
    this.stream = kept
    this.forget(gone)
    return removed
  }

  // Drops the events of `ids` from their directories' lists and the indexes.
  private forget (ids: Set<string>): void {
    if (ids.size === 0) return
    for (const [directoryId, list] of this.events) {
      const kept = list.filter((event) => !ids.has(event.id))
      if (kept.length !== list.length) this.events.set(directoryId, kept)
    }
    for (const id of ids) {
      this.byId.delete(id)
      this.deprovisionOf.delete(id)
    }
  }

  async handlers (): Promise<string[]> {
    return [...this.registered.keys()].sort()
  }

  async failureCounts (directoryId: string): Promise<Map<string, number>> {
    const counts = new Map<string, number>()
    for (const failure of this.failed.values()) {
      if (failure.event.directoryId === directoryId) counts.set(failure.handler, (counts.get(failure.handler) ?? 0) + 1)
    }
    return counts
  }

  async directoryHead (directoryId: string): Promise<number> {
    return this.heads.get(directoryId) ?? 0
  }

  async failures (handler?: string): Promise<FailedDelivery[]> {
    return [...this.failed.values()].filter((f) => handler === undefined || f.handler === handler)
  }

  async removeFailure (eventId: string, handler: string): Promise<void> {
    this.failed.delete(`${eventId}\u0000${handler}`)
  }

  async event (eventId: string): Promise<RecordedEvent | null> {
    return this.byId.get(eventId) ?? null
  }

  async directoryState (directoryId: string): Promise<DirectoryState> {
    return this.states.get(directoryId) ?? NO_STATE
  }

  async heldDirectories (): Promise<Map<string, number>> {
    return new Map([...this.states].flatMap(([directoryId, state]) => state.heldFrom === null ? [] : [[directoryId, state.heldFrom] as const]))
  }

  async deletedDirectories (): Promise<Array<{ directoryId: string, seq: number }>> {
    return [...this.states].flatMap(([directoryId, state]) => state.deleted === null ? [] : [{ directoryId, seq: state.deleted.seq }])
  }

  async purgeDirectory (directoryId: string): Promise<void> {
    const ids = new Set((this.events.get(directoryId) ?? []).map((event) => event.id))
    for (const [key, failure] of this.failed) if (failure.event.directoryId === directoryId) this.failed.delete(key)
    for (const key of this.cursors.keys()) if (key.startsWith(`${directoryId}\u0000`)) this.cursors.delete(key)
    this.stream = this.stream.filter((entry) => entry.event.directoryId !== directoryId)
    this.forget(ids)
    this.events.delete(directoryId)
    this.heads.delete(directoryId)
    this.states.delete(directoryId)
  }

  /** The guard's and the deletion's parts of a write (WriteScope), applied at once: mem writes are not interleaved. */
  scope (directoryId: string) {
    const update = (change: Partial<DirectoryState>) => { this.states.set(directoryId, { ...(this.states.get(directoryId) ?? NO_STATE), ...change }) }
    return {
      head: async () => this.heads.get(directoryId) ?? 0,
      deprovisions: async (afterSeq: number, since: number, kind?: 1 | 2) => (this.events.get(directoryId) ?? [])
        .filter((event) => event.seq > afterSeq && event.createdAt >= since && (kind === undefined ? this.deprovisionOf.has(event.id) : this.deprovisionOf.get(event.id) === kind)).length,
      state: () => this.directoryState(directoryId),
      trip: async (heldFrom: number, at: number) => update({ heldFrom, trippedAt: at }),
      release: async (through: number, coalesced: number[]) => {
        const seqs = new Set(coalesced)
        for (const event of this.events.get(directoryId) ?? []) if (seqs.has(event.seq)) event.coalesced = true
        update({ heldFrom: null, trippedAt: null, releasedThrough: through })
      },
      markDeleted: async (seq: number, at: number, webhook: { endpoint: string, secret: string } | null) => update({ deleted: { seq, at, webhook } })
    }
  }
}
