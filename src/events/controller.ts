// `directorySync.events`: the deliveries kept as failed after their last attempt, and replaying them.
import type { EventQueue } from '../store/types.js'
import type { DirectoryEvent, EventListParams, EventPage, FailedDelivery, Result, ScimEvent } from '../types.js'
import type { Dispatcher } from './dispatcher.js'

const invalid = (message: string): Result<never> => ({ data: null, error: { message, code: 400 } })

/** A position in the stream, as hosts hold it: opaque, and the same across restarts. */
export function encodeCursor (position: number): string {
  return Buffer.from(`v1:${position}`).toString('base64url')
}

function decodeCursor (cursor: string): number | null {
  const match = /^v1:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'))
  return match === null ? null : Number(match[1])
}

const DEFAULT_LIMIT = 100
const MAX_LIMIT = 1000
// The most events one call reads while filtering (see list).
const MAX_SCAN = 10_000

/** `guarded`: the deprovisioning guard is on, so the list stops before an event it holds. */
export function eventsController (queue: EventQueue, dispatcher: Dispatcher, guarded = false) {
  return {
    /**
     * The events after `after` (from the oldest kept without it), across directories or of one, of
     * some types, in the stream's order; `after` answered is the position after the last event
     * returned (the one given when none is).
     */
    async list ({ directoryId, after, types, limit = DEFAULT_LIMIT }: EventListParams = {}): Promise<Result<EventPage>> {
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) return invalid(`limit must be an integer from 1 to ${MAX_LIMIT}`)
      const trimmed = await queue.trimmedTo()
      let start = trimmed
      if (after !== undefined) {
        const position = typeof after === 'string' ? decodeCursor(after) : null
        if (position === null) return invalid('after is not a cursor this plugin gave')
        // Events past this cursor were removed by retention: following on would skip them silently.
        if (position < trimmed) return { data: null, error: { message: 'cursor_expired: events after this cursor were removed by retention; take a new snapshot and start from events.head()', code: 410 } }
        start = position
      }
      const wanted = types === undefined ? undefined : new Set<string>(types)
      const top = await queue.head() // numbers what was committed since the last call
      // Directories whose tripped guard holds events, read after the head: a trip is stored with the
      // events it holds, so none of them up to `top` is numbered without it being seen here (what
      // another reader numbers meanwhile, past `top`, waits for the next call).
      const held = guarded ? await queue.heldDirectories() : new Map<string, number>()
      const found: Array<{ position: number, event: DirectoryEvent }> = []
      let from = start
      let scanned = 0
      let cut = false
      let paused: string | undefined
      for (;;) {
        const batch = await queue.read(from, Math.max(limit + 1, 100), directoryId)
        let read = 0
        for (const { position, event } of batch) {
          if (guarded && position > top) {
            cut = true
            break
          }
          const heldFrom = held.get(event.directoryId)
          if (heldFrom !== undefined && event.seq >= heldFrom) {
            // The stream stops here, for every directory: one cursor cannot pass an event and come back to it.
            paused = event.directoryId
            break
          }
          read++
          from = position
          if (event.coalesced === true) continue // reduced away by the guard's release
          const payload = event.payload as unknown as DirectoryEvent
          if (wanted === undefined || wanted.has(payload.event)) found.push({ position, event: payload })
        }
        if (paused !== undefined || (guarded && cut) || batch.length === 0 || found.length > limit) break
        // A filter that matches little must not read the whole stream in one call: past MAX_SCAN events
        // read, the page ends there and its cursor goes on from the last event read (all skipped ones
        // did not match), with hasMore.
        scanned += read
        if (scanned >= MAX_SCAN) { cut = true; break }
      }
      const full = found.length > limit
      const page = found.slice(0, limit)
      // After the last event returned; a page cut or paused (not full) goes on after the last event read
      // (all skipped ones did not match).
      const next = !full && (cut || paused !== undefined) ? from : page.length > 0 ? page[page.length - 1].position : start
      return {
        data: { events: page.map((entry) => entry.event), after: encodeCursor(next), hasMore: full || (cut && paused === undefined), ...(paused !== undefined && !full ? { paused: { directoryId: paused } } : {}) },
        error: null
      }
    },
    /** The current position: events.list({ after }) from it answers only what comes next. */
    async head (): Promise<Result<{ after: string }>> {
      return { data: { after: encodeCursor(await queue.head()) }, error: null }
    },
    async failed (handler?: string): Promise<Result<FailedDelivery[]>> {
      const failures = await queue.failures(handler)
      return {
        data: failures.map((f) => ({
          event: f.event.payload as unknown as ScimEvent,
          handler: f.handler,
          attempts: f.attempts,
          error: f.error,
          failedAt: new Date(f.failedAt).toISOString()
        })),
        error: null
      }
    },
    /** Delivers a failed event again, to the handler it failed for (or to each it failed for); answers how many succeeded. */
    async replay (eventId: string, handler?: string): Promise<Result<{ delivered: number, failed: number }>> {
      const failures = (await queue.failures(handler)).filter((f) => f.event.id === eventId)
      if (failures.length === 0) return { data: null, error: { message: `No failed delivery of event ${eventId}${handler ? ` to ${handler}` : ''}`, code: 404 } }
      let delivered = 0
      for (const failure of failures) {
        const error = await dispatcher.attemptNow(failure.handler, failure.event)
        if (error === undefined) {
          await queue.removeFailure(failure.event.id, failure.handler)
          delivered++
        }
      }
      return { data: { delivered, failed: failures.length - delivered }, error: null }
    }
  }
}
