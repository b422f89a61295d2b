// The durable event queue on SQL, beside the resource tables. Events are numbered per directory from a
// row that every write of that directory locks last in its transaction and holds to the commit, so a
// directory's event numbers follow the order of its commits, across processes too
// (a global auto-increment would not: a later number can commit first, and a cursor that passed it
// would skip the earlier one for ever).
import { chunked, insertIgnore, type Executor } from './sql-client.js'
import type { Codec } from './codec.js'
import { readStream, sequence, trim, trimmedTo } from './sql-stream.js'
import { NO_STATE, type Cursor, type DirectoryState, type EventQueue, type FailedDelivery, type NewEvent, type RecordedEvent } from './types.js'

const EVENTS = 'dsync_events'
const HEADS = 'dsync_event_heads'
const HANDLERS = 'dsync_event_handlers'
const CURSORS = 'dsync_event_cursors'
const FAILURES = 'dsync_event_failures'
const STATES = 'dsync_directory_state'
// A purge deletes a directory's events this many at a time, each batch its own short transaction.
const PURGE_BATCH = 5000
// The tables are created by the migrations (sql-migrations.ts).

/** Locks the directory's head row for the rest of the transaction; answers the last event number. */
export async function lockDirectory (executor: Executor, directoryId: string): Promise<number> {
  if (executor.dialect !== 'mysql') {
    // One round trip: create the row if need be, lock it, and read it.
    const { rows: [{ head }] } = await executor.query<{ head: number | string }>(
      `INSERT INTO ${HEADS} (directory_id, head) VALUES (?, 0) ON CONFLICT (directory_id) DO UPDATE SET head = ${HEADS}.head RETURNING head`, [directoryId])
    return Number(head)
  }
  // MySQL/MariaDB: a locking read, which takes the row's exclusive lock at once and reads the row as last
  // committed. (A plain SELECT reads REPEATABLE READ's snapshot, which may predate another write's
  // commit: a duplicate event number. INSERT IGNORE on an existing row takes a shared lock, and two
  // writes holding it deadlocked when each then asked for the exclusive one.) Not READ COMMITTED for
  // these transactions instead: that would change every read of the write for the sake of this row.
  const read = `SELECT head FROM ${HEADS} WHERE directory_id = ? FOR UPDATE`
  let { rows } = await executor.query<{ head: number | string }>(read, [directoryId])
  if (rows.length === 0) {
    // The directory's first write: create the row (ON DUPLICATE KEY UPDATE locks a row another write
    // created meanwhile exclusively, where INSERT IGNORE would lock it shared), and read it locked. The
    // gap lock the read above took may deadlock two first writes; the transaction is then run again.
    await executor.query(`INSERT INTO ${HEADS} (directory_id, head) VALUES (?, 0) ON DUPLICATE KEY UPDATE head = head`, [directoryId])
    rows = (await executor.query<{ head: number | string }>(read, [directoryId])).rows
  }
  return Number(rows[0].head)
}

interface EventRow { directory_id: string, seq: number | string, id: string, payload: string, created_at: number | string, coalesced: number | string }

const EVENT_COLUMNS = 'directory_id, seq, id, payload, created_at, coalesced'

function fromRow (row: EventRow, codec: Codec): RecordedEvent {
  const event: RecordedEvent = {
    seq: Number(row.seq), id: row.id, directoryId: row.directory_id, payload: JSON.parse(codec.open(row.payload)), createdAt: Number(row.created_at)
  }
  if (Number(row.coalesced) === 1) event.coalesced = true
  return event
}

/** Inside the write's transaction, after lockDirectory (which answered `head`). */
export async function recordEvents (
  executor: Executor, directoryId: string, head: number, events: NewEvent[], codec: Codec
): Promise<RecordedEvent[]> {
  if (events.length === 0) return []
  const recorded = numbered(directoryId, events, head)
  // A write may record thousands of events (one per member of a large group): one statement per run
  // under the dialect's parameter and size limits, all in the write's transaction.
  const rows = recorded.map((e, i) => [directoryId, e.seq, e.id, codec.seal(JSON.stringify(e.payload)), e.createdAt, events[i].deprovision ?? 0] as const)
  const runs = chunked(executor.dialect, rows, { perRow: 6, fixed: 2, bytes: (row) => Buffer.byteLength(row[3]) + 100 })
  const moveHead = `UPDATE ${HEADS} SET head = ? WHERE directory_id = ?`
  const headParams = [head + recorded.length, directoryId]
  for (const [i, run] of runs.entries()) {
    const insert = `INSERT INTO ${EVENTS} (directory_id, seq, id, payload, created_at, deprovision) VALUES ${run.map(() => '(?, ?, ?, ?, ?, ?)').join(', ')}`
    // PostgreSQL: the last insert and the head's move in one statement (a data-modifying WITH), one
    // round trip fewer per write. Elsewhere, two statements.
    if (executor.dialect === 'postgres' && i === runs.length - 1) {
      await executor.query(`WITH recorded AS (${insert}) ${moveHead}`, [...run.flat(), ...headParams])
      return recorded
    }
    await executor.query(insert, run.flat())
  }
  await executor.query(moveHead, headParams)
  return recorded
}

/**
 * PostgreSQL, where the write has not locked the directory's head yet (no guard read it first): the
 * head's lock and move and the events' insert in one statement, one round trip where lockDirectory()
 * and recordEvents() take two. The head row is locked by the upsert and held to the commit, as
 * lockDirectory() holds it; the events are numbered from the head it read. Arrays (unnest) bind any
 * number of events in four parameters.
 */
export async function lockAndRecordEvents (
  executor: Executor, directoryId: string, events: NewEvent[], codec: Codec
): Promise<RecordedEvent[]> {
  const recording = recordingStatement(directoryId, events, codec)
  const { rows: [{ base }] } = await executor.query<{ base: number | string }>(`WITH ${recording.sql} SELECT base FROM moved`, recording.params)
  return numbered(directoryId, events, Number(base))
}

/**
 * PostgreSQL, a write outside a transaction: `write` (one INSERT or UPDATE, without RETURNING) and the
 * events it causes in one statement, committed together (a data-modifying WITH). The write's row lock
 * comes first and the head's last, in the order of a write in a transaction, and both are held to the
 * commit at the statement's end; the events are recorded only if the write changed a row. Answers null
 * where it changed none (an UPDATE whose version check failed): nothing was recorded.
 */
export async function writeAndRecordEvents (
  executor: Executor, directoryId: string, write: { sql: string, params: unknown[] }, events: NewEvent[], codec: Codec
): Promise<RecordedEvent[] | null> {
  const recording = recordingStatement(directoryId, events, codec, ' WHERE EXISTS (SELECT 1 FROM written)')
  const { rows: [{ changed, base }] } = await executor.query<{ changed: number | string, base: number | string | null }>(
    `WITH written AS (${write.sql} RETURNING 1), ${recording.sql} SELECT (SELECT count(*) FROM written) AS changed, (SELECT base FROM moved) AS base`,
    [...write.params, ...recording.params])
  return Number(changed) === 0 || base === null ? null : numbered(directoryId, events, Number(base))
}

// The head's move (`moved`, answering the number before the events) and the events' insert, as the
// common table expressions of one statement; `gate` conditions both on an earlier expression.
function recordingStatement (directoryId: string, events: NewEvent[], codec: Codec, gate = ''): { sql: string, params: unknown[] } {
  const n = events.length
  return {
    sql: `moved AS (INSERT INTO ${HEADS} (directory_id, head) SELECT ?::text, ?::bigint${gate} ON CONFLICT (directory_id) DO UPDATE SET head = ${HEADS}.head + excluded.head RETURNING head - ? AS base),
recorded AS (INSERT INTO ${EVENTS} (directory_id, seq, id, payload, created_at, deprovision)
 SELECT ?, moved.base + e.ord, e.id, e.payload, e.created_at, e.deprovision
 FROM moved, unnest(?::text[], ?::text[], ?::bigint[], ?::smallint[]) WITH ORDINALITY AS e(id, payload, created_at, deprovision, ord))`,
    params: [directoryId, n, n, directoryId, events.map((e) => e.id), events.map((e) => codec.seal(JSON.stringify(e.payload))), events.map((e) => e.createdAt), events.map((e) => e.deprovision ?? 0)]
  }
}

const numbered = (directoryId: string, events: NewEvent[], base: number): RecordedEvent[] =>
  events.map((event, i) => ({ seq: base + i + 1, id: event.id, directoryId, payload: event.payload, createdAt: event.createdAt }))

interface StateRow {
  held_from: number | string | null
  tripped_at: number | string | null
  released_through: number | string
  deleted_seq: number | string | null
  deleted_at: number | string | null
  webhook: string | null
}

/** The directory's guard and deletion state (NO_STATE without a row). */
export async function readState (executor: Executor, directoryId: string, codec: Codec): Promise<DirectoryState> {
  const { rows } = await executor.query<StateRow>(
    `SELECT held_from, tripped_at, released_through, deleted_seq, deleted_at, webhook FROM ${STATES} WHERE directory_id = ?`, [directoryId])
  if (rows.length === 0) return NO_STATE
  const [row] = rows
  const num = (value: number | string | null) => value === null ? null : Number(value)
  return {
    heldFrom: num(row.held_from),
    trippedAt: num(row.tripped_at),
    releasedThrough: Number(row.released_through),
    deleted: row.deleted_seq === null
      ? null
      : { seq: Number(row.deleted_seq), at: Number(row.deleted_at), webhook: row.webhook === null ? null : JSON.parse(codec.open(row.webhook)) }
  }
}

/** Writes some of the directory's state (its row created first): inside the write's transaction, after lockDirectory. */
export async function writeState (executor: Executor, directoryId: string, values: Partial<Record<keyof StateRow, string | number | null>>): Promise<void> {
  await executor.query(insertIgnore(executor.dialect, STATES, ['directory_id', 'released_through']), [directoryId, 0])
  const columns = Object.keys(values)
  await executor.query(`UPDATE ${STATES} SET ${columns.map((column) => `${column} = ?`).join(', ')} WHERE directory_id = ?`,
    [...columns.map((column) => values[column as keyof StateRow] ?? null), directoryId])
}

/** How many of the directory's events after `afterSeq`, recorded since `since`, are deprovisions. */
export async function countDeprovisions (executor: Executor, directoryId: string, afterSeq: number, since: number, kind?: 1 | 2): Promise<number> {
  const { rows: [{ n }] } = await executor.query<{ n: number | string }>(
    `SELECT COUNT(*) AS n FROM ${EVENTS} WHERE directory_id = ? AND seq > ? AND created_at >= ? AND ${kind === undefined ? 'deprovision > 0' : 'deprovision = ?'}`,
    [directoryId, afterSeq, since, ...(kind === undefined ? [] : [kind])])
  return Number(n)
}

/** Marks events of the directory as coalesced (released by the guard with coalesce): delivered to nobody. */
export async function markCoalesced (executor: Executor, directoryId: string, seqs: number[]): Promise<void> {
  for (let i = 0; i < seqs.length; i += 500) {
    const run = seqs.slice(i, i + 500)
    await executor.query(`UPDATE ${EVENTS} SET coalesced = 1 WHERE directory_id = ? AND seq IN (${run.map(() => '?').join(', ')})`, [directoryId, ...run])
  }
}

export class SqlEventQueue implements EventQueue {
  // Cursors known to exist: rows are never deleted, so once seen they need no look-up again.
  private readonly knownCursors = new Set<string>()

  /**
   * `db`: where cursors are kept (on PostgreSQL, connections that do not wait for the disk); `durable`:
   * where the stream's positions are given, which must never be lost once read (sql-stream.ts).
   */
  constructor (private readonly db: Executor, private readonly codec: Codec, private readonly durable: Executor = db) {}

  head (): Promise<number> {
    return sequence(this.durable)
  }

  async read (after: number, limit: number, directoryId?: string): Promise<Array<{ position: number, event: RecordedEvent }>> {
    const rows = await readStream(this.durable, after, limit, directoryId)
    return rows.map((row) => ({ position: Number(row.stream_pos), event: fromRow(row, this.codec) }))
  }

  trimmedTo (): Promise<number> {
    return trimmedTo(this.durable)
  }

  trim (cutoff: number, failedCutoff: number): Promise<number> {
    return trim(this.durable, cutoff, failedCutoff)
  }

  async registerHandler (handler: string, now: number): Promise<void> {
    await this.db.query(insertIgnore(this.db.dialect, HANDLERS, ['handler', 'since']), [handler, now])
  }

  async pendingDirectories (handler: string): Promise<string[]> {
    const { rows } = await this.db.query<{ directory_id: string }>(
      `SELECT h.directory_id FROM ${HEADS} h LEFT JOIN ${CURSORS} c ON c.directory_id = h.directory_id AND c.handler = ?
       WHERE h.head > COALESCE(c.last_seq, 0)`, [handler])
    return rows.map((row) => row.directory_id)
  }

  async claim (directoryId: string, handler: string, owner: string, now: number, leaseMs: number): Promise<Cursor | null> {
    await this.ensureCursor(directoryId, handler)
    const claim = `UPDATE ${CURSORS} SET owner = ?, lease_until = ? WHERE directory_id = ? AND handler = ? AND (owner IS NULL OR owner = ? OR lease_until < ?)`
    const params = [owner, now + leaseMs, directoryId, handler, owner, now]
    type Row = { last_seq: number | string, attempts: number | string, next_attempt_at: number | string, last_error: string | null }
    let row: Row | undefined
    if (this.db.dialect === 'mysql') {
      const { changes } = await this.db.query(claim, params)
      if (changes !== 1) return null
      row = (await this.db.query<Row>(`SELECT last_seq, attempts, next_attempt_at, last_error FROM ${CURSORS} WHERE directory_id = ? AND handler = ?`, [directoryId, handler])).rows[0]
    } else {
      // One round trip where the database can answer the row it updated.
      row = (await this.db.query<Row>(`${claim} RETURNING last_seq, attempts, next_attempt_at, last_error`, params)).rows[0]
      if (row === undefined) return null
    }
    return {
      lastSeq: Number(row.last_seq), attempts: Number(row.attempts), nextAttemptAt: Number(row.next_attempt_at), lastError: row.last_error === null ? null : this.codec.open(row.last_error)
    }
  }

  // A handler's first cursor in a directory starts after the events recorded before the handler was first registered.
  private async ensureCursor (directoryId: string, handler: string): Promise<void> {
    const known = `${directoryId}\u0000${handler}`
    if (this.knownCursors.has(known)) return
    const { rows } = await this.db.query(`SELECT 1 AS found FROM ${CURSORS} WHERE directory_id = ? AND handler = ?`, [directoryId, handler])
    if (rows.length > 0) {
      this.knownCursors.add(known)
      return
    }
    // A handler whose registration has not landed yet starts now, as its registration would have.
    await this.registerHandler(handler, Date.now())
    const { rows: [{ since }] } = await this.db.query<{ since: number | string }>(`SELECT since FROM ${HANDLERS} WHERE handler = ?`, [handler])
    const { rows: [{ start }] } = await this.db.query<{ start: number | string | null }>(
      `SELECT MAX(seq) AS start FROM ${EVENTS} WHERE directory_id = ? AND created_at < ?`, [directoryId, Number(since)])
    await this.db.query(insertIgnore(this.db.dialect, CURSORS, ['directory_id', 'handler', 'last_seq', 'attempts', 'next_attempt_at', 'last_error', 'owner', 'lease_until']),
      [directoryId, handler, Number(start ?? 0), 0, 0, null, null, 0])
    this.knownCursors.add(known)
  }

  async next (directoryId: string, afterSeq: number, limit: number): Promise<RecordedEvent[]> {
    const { rows } = await this.db.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM ${EVENTS} WHERE directory_id = ? AND seq > ? ORDER BY seq LIMIT ?`, [directoryId, afterSeq, limit])
    return rows.map((row) => fromRow(row, this.codec))
  }

  async position (directoryId: string, handler: string): Promise<{ lastSeq: number, attempts: number }> {
    const { rows } = await this.db.query<{ last_seq: number | string, attempts: number | string }>(
      `SELECT last_seq, attempts FROM ${CURSORS} WHERE directory_id = ? AND handler = ?`, [directoryId, handler])
    return rows.length === 0 ? { lastSeq: 0, attempts: 0 } : { lastSeq: Number(rows[0].last_seq), attempts: Number(rows[0].attempts) }
  }

  async renew (directoryId: string, handler: string, owner: string, now: number, leaseMs: number): Promise<boolean> {
    const { changes } = await this.db.query(`UPDATE ${CURSORS} SET lease_until = ? WHERE directory_id = ? AND handler = ? AND owner = ?`,
      [now + leaseMs, directoryId, handler, owner])
    return changes === 1
  }

  async advance (directoryId: string, handler: string, owner: string, seq: number, failed?: { attempts: number, error: string, now: number }): Promise<boolean> {
    // The failure first, then the cursor: a crash between them leaves the event to be tried again (its
    // failure is recorded once), never a cursor past an event whose failure was not kept.
    if (failed !== undefined) {
      const { rows } = await this.db.query(`SELECT 1 AS held FROM ${CURSORS} WHERE directory_id = ? AND handler = ? AND owner = ?`, [directoryId, handler, owner])
      if (rows.length === 0) return false
      const { rows: [event] } = await this.db.query<{ id: string }>(`SELECT id FROM ${EVENTS} WHERE directory_id = ? AND seq = ?`, [directoryId, seq])
      await this.db.query(insertIgnore(this.db.dialect, FAILURES, ['event_id', 'handler', 'attempts', 'error', 'failed_at']), [event.id, handler, failed.attempts, this.codec.seal(failed.error), failed.now])
    }
    const { changes } = await this.db.query(
      `UPDATE ${CURSORS} SET last_seq = ?, attempts = 0, next_attempt_at = 0, last_error = NULL WHERE directory_id = ? AND handler = ? AND owner = ? AND last_seq < ?`,
      [seq, directoryId, handler, owner, seq])
    return changes === 1
  }

  async retryLater (directoryId: string, handler: string, owner: string, attempts: number, nextAttemptAt: number, error: string): Promise<void> {
    await this.db.query(`UPDATE ${CURSORS} SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE directory_id = ? AND handler = ? AND owner = ?`,
      [attempts, nextAttemptAt, this.codec.seal(error), directoryId, handler, owner])
  }

  async release (directoryId: string, handler: string, owner: string): Promise<void> {
    await this.db.query(`UPDATE ${CURSORS} SET owner = NULL, lease_until = 0 WHERE directory_id = ? AND handler = ? AND owner = ?`, [directoryId, handler, owner])
  }

  async handlers (): Promise<string[]> {
    const { rows } = await this.db.query<{ handler: string }>(`SELECT handler FROM ${HANDLERS} ORDER BY handler`)
    return rows.map((row) => row.handler)
  }

  async failureCounts (directoryId: string): Promise<Map<string, number>> {
    const { rows } = await this.db.query<{ handler: string, n: number | string }>(
      `SELECT f.handler, COUNT(*) AS n FROM ${FAILURES} f JOIN ${EVENTS} e ON e.id = f.event_id WHERE e.directory_id = ? GROUP BY f.handler`, [directoryId])
    return new Map(rows.map((row) => [row.handler, Number(row.n)]))
  }

  async directoryHead (directoryId: string): Promise<number> {
    const { rows } = await this.db.query<{ head: number | string }>(`SELECT head FROM ${HEADS} WHERE directory_id = ?`, [directoryId])
    return rows.length === 0 ? 0 : Number(rows[0].head)
  }

  async failures (handler?: string): Promise<FailedDelivery[]> {
    const { rows } = await this.db.query<EventRow & { handler: string, attempts: number | string, error: string, failed_at: number | string }>(
      `SELECT e.directory_id, e.seq, e.id, e.payload, e.created_at, e.coalesced, f.handler, f.attempts, f.error, f.failed_at
       FROM ${FAILURES} f JOIN ${EVENTS} e ON e.id = f.event_id ${handler === undefined ? '' : 'WHERE f.handler = ?'}
       ORDER BY f.failed_at, e.seq`, handler === undefined ? [] : [handler])
    return rows.map((row) => ({ event: fromRow(row, this.codec), handler: row.handler, attempts: Number(row.attempts), error: this.codec.open(row.error), failedAt: Number(row.failed_at) }))
  }

  async removeFailure (eventId: string, handler: string): Promise<void> {
    await this.db.query(`DELETE FROM ${FAILURES} WHERE event_id = ? AND handler = ?`, [eventId, handler])
  }

  async event (eventId: string): Promise<RecordedEvent | null> {
    const { rows } = await this.db.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM ${EVENTS} WHERE id = ?`, [eventId])
    return rows.length === 0 ? null : fromRow(rows[0], this.codec)
  }

  directoryState (directoryId: string): Promise<DirectoryState> {
    return readState(this.durable, directoryId, this.codec)
  }

  async heldDirectories (): Promise<Map<string, number>> {
    const { rows } = await this.durable.query<{ directory_id: string, held_from: number | string }>(
      `SELECT directory_id, held_from FROM ${STATES} WHERE held_from IS NOT NULL`)
    return new Map(rows.map((row) => [row.directory_id, Number(row.held_from)]))
  }

  async deletedDirectories (): Promise<Array<{ directoryId: string, seq: number }>> {
    const { rows } = await this.durable.query<{ directory_id: string, deleted_seq: number | string }>(
      `SELECT directory_id, deleted_seq FROM ${STATES} WHERE deleted_seq IS NOT NULL ORDER BY deleted_at`)
    return rows.map((row) => ({ directoryId: row.directory_id, seq: Number(row.deleted_seq) }))
  }

  async purgeDirectory (directoryId: string): Promise<void> {
    const db = this.durable
    // Failures first (they name events by id), then the events in short batches, then the rest; the
    // state row last, so that a purge cut short is found and finished by the next sweep.
    await db.query(`DELETE FROM ${FAILURES} WHERE event_id IN (SELECT id FROM ${EVENTS} WHERE directory_id = ?)`, [directoryId])
    for (;;) {
      const removed = await db.transaction(async (query) => {
        const { rows } = await query<{ seq: number | string }>(`SELECT seq FROM ${EVENTS} WHERE directory_id = ? ORDER BY seq LIMIT ?`, [directoryId, PURGE_BATCH])
        if (rows.length === 0) return 0
        await query(`DELETE FROM ${EVENTS} WHERE directory_id = ? AND seq <= ?`, [directoryId, Number(rows[rows.length - 1].seq)])
        return rows.length
      })
      if (removed < PURGE_BATCH) break
    }
    await this.db.query(`DELETE FROM ${CURSORS} WHERE directory_id = ?`, [directoryId])
    for (const known of [...this.knownCursors]) if (known.startsWith(`${directoryId}\u0000`)) this.knownCursors.delete(known)
    await db.query(`DELETE FROM ${HEADS} WHERE directory_id = ?`, [directoryId])
    await db.query(`DELETE FROM ${STATES} WHERE directory_id = ?`, [directoryId])
  }
}
