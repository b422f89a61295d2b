// encryption.ts on PostgreSQL, MySQL/MariaDB and sqlite: the state in dsync_settings (migration 3), and
// the rewrite of the plugin's tables. Each batch is one transaction over at most REWRITE_BATCH rows,
// found by their primary key after the last batch's (keyset paging, so a batch costs the same at the
// end of a large table as at its start). On PostgreSQL and MySQL one process rewrites at a time (a
// session lock on a connection of its own; the others wait for it, then find the work done). On
// sqlite each batch holds the file's write lock; two processes rewriting together would both skip
// what the other has sealed, as a resumed rewrite does.
import { insertIgnore, type Query, type SqlClient } from './sql-client.js'
import { storedKeys } from './sql.js'
import { REWRITE_BATCH, type EncryptionState, type EncryptionTarget } from './encryption.js'
import type { Codec } from './codec.js'

const SETTINGS = 'dsync_settings'
const FINGERPRINT = 'encryption.fingerprint'
const REWRITTEN = 'encryption.rewritten'
// PostgreSQL's advisory lock key of a rewrite: 'dsyncenc' read as a bigint.
const PG_LOCK_KEY = '7238262541136520803'
const MYSQL_LOCK = 'dsync_encryption'
// How long a process waits for another's rewrite to finish.
const LOCK_WAIT_S = 3600

/** The encryption state and rewrite of the SQL database of `client`. */
export function sqlEncryptionTarget (client: SqlClient): EncryptionTarget {
  const state = async (): Promise<EncryptionState | null> => {
    const { rows } = await client.query<{ name: string, value: string }>(`SELECT name, value FROM ${SETTINGS} WHERE name IN (?, ?)`, [FINGERPRINT, REWRITTEN])
    const fingerprint = rows.find((row) => row.name === FINGERPRINT)?.value
    return fingerprint === undefined ? null : { fingerprint, rewritten: rows.some((row) => row.name === REWRITTEN && row.value === 'yes') }
  }
  return {
    state,
    claim: async (fingerprint, rewritten) => {
      await client.transaction(async (query) => {
        const { changes } = await query(insertIgnore(client.dialect, SETTINGS, ['name', 'value']), [FINGERPRINT, fingerprint])
        if (changes === 1) await query(insertIgnore(client.dialect, SETTINGS, ['name', 'value']), [REWRITTEN, rewritten ? 'yes' : 'no'])
      })
      return (await state())!
    },
    finish: async () => {
      await client.query(`UPDATE ${SETTINGS} SET value = 'yes' WHERE name = ?`, [REWRITTEN])
    },
    hasData: async () => {
      for (const table of ['dsync_scim_resources', 'dsync_events', 'dsync_event_failures']) {
        if ((await client.query(`SELECT 1 AS found FROM ${table} LIMIT 1`)).rows.length > 0) return true
      }
      return (await client.query('SELECT 1 AS found FROM dsync_event_cursors WHERE last_error IS NOT NULL LIMIT 1')).rows.length > 0
    },
    rewrite: (codec, progress, signal) => exclusive(client, async () => {
      if ((await state())?.rewritten === true) return // another process did it while this one waited
      const secure = client.dialect === 'sqlite'
      // sqlite: the space a rewritten value leaves is zeroed, so that its plaintext does not linger in
      // the file's free pages (PostgreSQL and MySQL leave old row versions until VACUUM / OPTIMIZE
      // TABLE: see the README).
      if (secure) await client.transaction((query) => query('PRAGMA secure_delete = ON'))
      try {
        for (const table of TABLES) await rewriteTable(client, table, codec, progress, signal)
      } finally {
        if (secure) await client.transaction((query) => query('PRAGMA secure_delete = OFF'))
      }
      // sqlite: the WAL may still hold pages written before the rewrite; emptied once checkpointed.
      if (secure) await client.query('PRAGMA wal_checkpoint(TRUNCATE)').catch(() => {})
    })
  }
}

/** One table's rewrite: its primary key (for paging), and what to do with a row. */
interface TableRewrite {
  table: string
  key: string[]
  columns: string[]
  /** The row's new values (columns to set), or null when it is stored under the codec already. */
  rewrite(row: Record<string, string | null>, codec: Codec): Record<string, string | null> | null
}

/** A value sealed unless it is already (null stays null). */
const sealed = (value: string | null, codec: Codec): string | null | undefined =>
  value === null || codec.tryOpen(value) !== null ? undefined : codec.seal(value)

const sealColumn = (table: string, key: string[], column: string): TableRewrite => ({
  table,
  key,
  columns: [column],
  rewrite: (row, codec) => {
    const value = sealed(row[column], codec)
    return value === undefined ? null : { [column]: value }
  }
})

const TABLES: TableRewrite[] = [
  {
    table: 'dsync_scim_resources',
    key: ['seq'],
    columns: ['original_keys', 'body'],
    // The body and the keys are rewritten together, so a sealed body says the row is done.
    rewrite: (row, codec) => {
      if (codec.tryOpen(row.body!) !== null) return null
      const keys = JSON.parse(codec.open(row.original_keys!))
      const [name, externalId, display] = storedKeys(keys, codec)
      return { name_key: name, external_id: externalId, display_key: display, original_keys: codec.seal(JSON.stringify(keys)), body: codec.seal(row.body!) }
    }
  },
  sealColumn('dsync_scim_members', ['directory_id', 'group_id', 'user_id'], 'display'),
  sealColumn('dsync_events', ['directory_id', 'seq'], 'payload'),
  sealColumn('dsync_event_failures', ['event_id', 'handler'], 'error'),
  sealColumn('dsync_event_cursors', ['directory_id', 'handler'], 'last_error'),
  sealColumn('dsync_directory_state', ['directory_id'], 'webhook')
]

async function rewriteTable (client: SqlClient, spec: TableRewrite, codec: Codec, progress: (rows: number) => void, signal?: AbortSignal): Promise<void> {
  const keyList = spec.key.join(', ')
  let after: unknown[] | null = null
  for (;;) {
    signal?.throwIfAborted()
    const batch: Array<Record<string, string | null>> = await client.transaction(async (query) => {
      const where = after === null ? '' : `WHERE (${keyList}) > (${spec.key.map(() => '?').join(', ')})`
      const { rows } = await query<Record<string, string | null>>(
        `SELECT ${keyList}, ${spec.columns.join(', ')} FROM ${spec.table} ${where} ORDER BY ${keyList} LIMIT ?${lockClause(client)}`,
        [...(after ?? []), REWRITE_BATCH])
      let changed = 0
      for (const row of rows) {
        const values = spec.rewrite(row, codec)
        if (values !== null) {
          await update(query, spec, row, values)
          changed++
        }
      }
      if (changed > 0) progress(changed)
      return rows
    })
    if (batch.length < REWRITE_BATCH) return
    const last = batch[batch.length - 1]
    after = spec.key.map((column) => last[column])
  }
}

// The batch's rows are locked while they are rewritten (a write of the same row waits for the batch).
const lockClause = (client: SqlClient) => client.dialect === 'sqlite' ? '' : ' FOR UPDATE'

async function update (query: Query, spec: TableRewrite, row: Record<string, string | null>, values: Record<string, string | null>): Promise<void> {
  const sets = Object.keys(values)
  await query(`UPDATE ${spec.table} SET ${sets.map((column) => `${column} = ?`).join(', ')} WHERE ${spec.key.map((column) => `${column} = ?`).join(' AND ')}`,
    [...sets.map((column) => values[column]), ...spec.key.map((column) => row[column])])
}

/** Runs `fn` as the only rewriter of the database (PostgreSQL, MySQL: a session lock; sqlite: as is). */
function exclusive<T> (client: SqlClient, fn: () => Promise<T>): Promise<T> {
  if (client.dialect === 'sqlite') return fn()
  // client.transaction for one connection of its own, whose transaction is ended at once: the lock
  // belongs to the session, and the batches run on other connections.
  return client.transaction(async (query) => {
    await query('COMMIT')
    if (client.dialect === 'postgres') {
      // Tried, not waited for in one statement: a statement may last at most the client's query timeout.
      const deadline = Date.now() + LOCK_WAIT_S * 1000
      while (!(await query<{ acquired: boolean }>(`SELECT pg_try_advisory_lock(${PG_LOCK_KEY}) AS acquired`)).rows[0].acquired) {
        if (Date.now() > deadline) throw new Error(`another process held the encryption lock for ${LOCK_WAIT_S} s (advisory lock ${PG_LOCK_KEY})`)
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
    } else {
      const { rows: [{ acquired }] } = await query<{ acquired: number | string | null }>('SELECT GET_LOCK(?, ?) AS acquired', [MYSQL_LOCK, LOCK_WAIT_S])
      if (Number(acquired) !== 1) throw new Error(`another process held the encryption lock for ${LOCK_WAIT_S} s (GET_LOCK('${MYSQL_LOCK}'))`)
    }
    try {
      return await fn()
    } finally {
      const unlock = client.dialect === 'postgres' ? `SELECT pg_advisory_unlock(${PG_LOCK_KEY})` : `SELECT RELEASE_LOCK('${MYSQL_LOCK}')`
      await query(unlock).catch(() => {})
      // Leaves the connection as onConnection expects it, inside a transaction that it commits.
      await query(client.dialect === 'postgres' ? 'BEGIN' : 'START TRANSACTION').catch(() => {})
    }
  })
}
