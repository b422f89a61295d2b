// The event queue in process memory: for the mem engine (everything lives as long as the process) and
// for Redis, whose resource writes are Lua scripts rather than transactions, so an event there cannot be
// recorded atomically with its change. Same contract as the SQL queue, claims included, so that the
// dispatcher does not care which it has.
import type { Cursor, EventQueue, FailedDelivery, RecordedEvent } from './types.js'

interface CursorState extends Cursor {
  owner: string | null
  leaseUntil: number
}

export class MemoryEventQueue implements EventQueue {
  private readonly events = new Map<string, RecordedEvent[]>()
  private readonly byId = new Map<string, RecordedEvent>()
  private readonly registered = new Map<string, number>()
  private readonly cursors = new Map<string, CursorState>()
  private readonly failed = new Map<string, FailedDelivery>()
  // The stream across directories: one process records in order, so a position is given at once.
  private stream: Array<{ position: number, event: RecordedEvent }> = []
  private streamHead = 0
  private trimmed = 0

  record (directoryId: string, events: Array<{ id: string, payload: Record<string, unknown>, createdAt: number }>): RecordedEvent[] {
    let list = this.events.get(directoryId)
    if (list === undefined) this.events.set(directoryId, list = [])
    return events.map((event) => {
      const recorded = { ...event, directoryId, seq: list.length + 1 }
      list.push(recorded)
      this.byId.set(event.id, recorded)
      this.stream.push({ position: ++this.streamHead, event: recorded })
      return recorded
    })
  }

  async registerHandler (handler: string, now: number): Promise<void> {
    if (!this.registered.has(handler)) this.registered.set(handler, now)
  }

  async pendingDirectories (handler: string): Promise<string[]> {
    return [...this.events].filter(([directoryId, list]) => list.length > (this.cursors.get(`${directoryId}\u0000${handler}`)?.lastSeq ?? 0))
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
    return (this.events.get(directoryId) ?? []).slice(afterSeq, afterSeq + limit)
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
      const event = this.events.get(directoryId)![seq - 1]
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
    let [lo, hi] = [0, this.stream.length]
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.stream[mid].position <= after) lo = mid + 1
      else hi = mid
    }
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
    for (const entry of this.stream) {
      if (entry.event.createdAt < cutoff && !needed.has(entry.event.id)) {
        this.trimmed = Math.max(this.trimmed, entry.position)
        this.byId.delete(entry.event.id)
        removed++
      } else {
        kept.push(entry)
      }
    }
    this.stream = kept
    return removed
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
    return this.events.get(directoryId)?.length ?? 0
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
}
