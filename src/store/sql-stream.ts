// The one stream of events across directories that events.list follows, on SQL.
//
// Why a post-commit sequencer: a directory's events are numbered in commit order (sql-events.ts), but
// across directories there is no such order at write time. A global auto-increment would hand out
// numbers at insert time, and a transaction holding a lower number can commit after one holding a
// higher number: a reader that has passed the higher one would skip the lower one for ever. So an
// event is written without a stream position, and positions are given afterwards, to committed events
// only, by whoever reads the stream: under the lock of one row (the stream's head in dsync_settings),
// every committed event without a position gets one above the head, in the order they were recorded.
// A position once given is never below one already read, so a reader following positions sees every
// event exactly once. Within a directory the order is kept: its events commit in seq order, so those
// visible to the sequencer are a prefix of its seqs, and they are numbered in seq order.
//
// Retention removes events older than a cut-off, after numbering them, and remembers the highest
// position removed: a cursor below it has missed events (cursor_expired), never silently.
import { insertIgnore, type Executor, type Query } from './sql-client.js'

const SETTINGS = 'dsync_settings'
const HEAD = 'stream.head'
const TRIMMED = 'stream.trimmed'
// Events numbered per round of the sequencer, rounds per call (the rest waits for the next call), and
// rows per UPDATE.
const ROUND = 1000
const ROUNDS = 20
const UPDATE_ROWS = 200
const TRIM_BATCH = 500

async function setting (query: Query, name: string, lock: string): Promise<number> {
  const { rows } = await query<{ value: string }>(`SELECT value FROM ${SETTINGS} WHERE name = ?${lock}`, [name])
  return rows.length === 0 ? 0 : Number(rows[0].value)
}

async function setSetting (query: Query, dialect: Executor['dialect'], name: string, value: number): Promise<void> {
  await query(insertIgnore(dialect, SETTINGS, ['name', 'value']), [name, '0'])
  await query(`UPDATE ${SETTINGS} SET value = ? WHERE name = ?`, [String(value), name])
}

const forUpdate = (db: Executor) => db.dialect === 'sqlite' ? '' : ' FOR UPDATE'

/** Gives every committed event without a stream position one; answers the head (the highest position). */
export function sequence (db: Executor): Promise<number> {
  return db.transaction(async (query) => {
    await query(insertIgnore(db.dialect, SETTINGS, ['name', 'value']), [HEAD, '0'])
    let head = await setting(query, HEAD, forUpdate(db))
    const start = head
    for (let round = 0; round < ROUNDS; round++) {
      const { rows } = await query<{ directory_id: string, seq: number | string }>(
        'SELECT directory_id, seq FROM dsync_events WHERE stream_pos IS NULL ORDER BY created_at, directory_id, seq LIMIT ?', [ROUND])
      if (rows.length === 0) break
      const positioned = inDirectoryOrder(rows.map((row) => ({ directoryId: row.directory_id, seq: Number(row.seq) })))
      // Primary-key equalities (not a row-value IN, which MariaDB scans): the statement locks only the
      // rows it numbers, never a row a write still holds.
      for (let i = 0; i < positioned.length; i += UPDATE_ROWS) {
        const run = positioned.slice(i, i + UPDATE_ROWS)
        const cast = db.dialect === 'postgres' ? '?::bigint' : '?'
        await query(
          `UPDATE dsync_events SET stream_pos = CASE ${run.map(() => `WHEN directory_id = ? AND seq = ? THEN ${cast}`).join(' ')} END
           WHERE stream_pos IS NULL AND (${run.map(() => '(directory_id = ? AND seq = ?)').join(' OR ')})`,
          [...run.flatMap((e, n) => [e.directoryId, e.seq, head + i + n + 1]), ...run.flatMap((e) => [e.directoryId, e.seq])])
      }
      head += positioned.length
      if (rows.length < ROUND) break
    }
    if (head !== start) await query(`UPDATE ${SETTINGS} SET value = ? WHERE name = ?`, [String(head), HEAD])
    return head
  })
}

/**
 * `rows` in the order they get positions: the order they were recorded in (by the writers' clocks), but
 * each directory's by its seq, which is its commit order and which clocks of several processes need
 * not follow: every slot a directory holds in the recorded order takes that directory's next seq.
 */
function inDirectoryOrder (rows: Array<{ directoryId: string, seq: number }>): Array<{ directoryId: string, seq: number }> {
  const seqs = new Map<string, number[]>()
  for (const row of rows) {
    let list = seqs.get(row.directoryId)
    if (list === undefined) seqs.set(row.directoryId, list = [])
    list.push(row.seq)
  }
  for (const list of seqs.values()) list.sort((a, b) => b - a) // popped from the end: smallest first
  return rows.map((row) => ({ directoryId: row.directoryId, seq: seqs.get(row.directoryId)!.pop()! }))
}

export interface StreamRow { directory_id: string, seq: number | string, id: string, payload: string, created_at: number | string, coalesced: number | string, stream_pos: number | string }

/** The events after position `after`, in stream order, at most `limit` (of one directory if given). */
export async function readStream (db: Executor, after: number, limit: number, directoryId?: string): Promise<StreamRow[]> {
  const where = directoryId === undefined ? '' : ' AND directory_id = ?'
  const { rows } = await db.query<StreamRow>(
    `SELECT directory_id, seq, id, payload, created_at, coalesced, stream_pos FROM dsync_events WHERE stream_pos > ?${where} ORDER BY stream_pos LIMIT ?`,
    [after, ...(directoryId === undefined ? [] : [directoryId]), limit])
  return rows
}

/** The highest position removed by retention (0: none): a cursor below it has missed events. */
export async function trimmedTo (db: Executor): Promise<number> {
  return setting(db.query, TRIMMED, '')
}

/**
 * Removes the events recorded before `cutoff` (ms), in batches of their own short transactions, except
 * those a failed delivery still needs (their failures have a retention of their own: `failedCutoff`);
 * failures older than `failedCutoff` go too. Numbers the events first, so that the highest position
 * removed is known. Answers how many events were removed.
 */
export async function trim (db: Executor, cutoff: number, failedCutoff: number): Promise<number> {
  await sequence(db)
  await db.query('DELETE FROM dsync_event_failures WHERE failed_at < ?', [failedCutoff])
  let removed = 0
  for (;;) {
    const count = await db.transaction(async (query) => {
      const { rows } = await query<{ directory_id: string, seq: number | string, stream_pos: number | string | null }>(
        `SELECT directory_id, seq, stream_pos FROM dsync_events e WHERE created_at < ?
         AND NOT EXISTS (SELECT 1 FROM dsync_event_failures f WHERE f.event_id = e.id) ORDER BY created_at LIMIT ?`, [cutoff, TRIM_BATCH])
      if (rows.length === 0) return 0
      await query(`DELETE FROM dsync_events WHERE ${rows.map(() => '(directory_id = ? AND seq = ?)').join(' OR ')}`, rows.flatMap((row) => [row.directory_id, row.seq]))
      const highest = Math.max(...rows.map((row) => Number(row.stream_pos ?? 0)))
      if (highest > await setting(query, TRIMMED, forUpdate(db))) await setSetting(query, db.dialect, TRIMMED, highest)
      return rows.length
    })
    removed += count
    if (count < TRIM_BATCH) return removed
  }
}
