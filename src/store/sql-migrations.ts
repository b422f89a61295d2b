// The migrations on PostgreSQL, MySQL/MariaDB and sqlite (migrations.ts: the list and the runner). The
// versions applied are rows of dsync_migrations. The lock of a run, and what a failed run leaves:
//   PostgreSQL  the run is one transaction holding pg_advisory_xact_lock; DDL is transactional there,
//               so a failed run leaves nothing behind.
//   MySQL       GET_LOCK on the run's one connection, released in finally. DDL commits implicitly, so
//               the run holds no transaction: each migration is recorded right after its step, and a
//               step cut short is run again whole (steps are idempotent; migration 2 commits per batch).
//   sqlite      the run is one BEGIN IMMEDIATE transaction (the file's write lock).
// A database of the release before migrations has the tables and no dsync_migrations: migration 1
// (CREATE ... IF NOT EXISTS) finds its tables there, and migration 2 rewrites its keys.
import type { Dialect, Query, SqlClient } from './sql-client.js'
import { indexable } from './sql.js'
import {
  foldedKeys, nameOf, runMigrations, type AppliedMigration, type Migration, type MigrationLogger, type MigrationSession,
  type MigrationTarget, type MigrationVersion
} from './migrations.js'
import type { ResourceKeys, ResourceType } from './types.js'

const VERSIONS = 'dsync_migrations'
const RESOURCES = 'dsync_scim_resources'
const BATCH = 500
// PostgreSQL's advisory lock key of a run: 'dsyncmig' read as a bigint.
const PG_LOCK_KEY = '7238262541135997287'
const MYSQL_LOCK = 'dsync_migrations'
// How long a run waits for another process's run to finish: seconds on MySQL, ms on sqlite (beyond busy_timeout).
const MYSQL_LOCK_WAIT_S = 300
const SQLITE_LOCK_WAIT_MS = 60_000

const VERSION_TABLE = `CREATE TABLE IF NOT EXISTS ${VERSIONS} (
 version INTEGER NOT NULL PRIMARY KEY,
 name VARCHAR(128) NOT NULL,
 applied_at BIGINT NOT NULL
)`

/** The run's one connection, under the lock. */
interface Run {
  dialect: Dialect
  query: Query
  /** A batch of writes: its own transaction on MySQL (where the run holds none); as is elsewhere. */
  batch<T>(fn: () => Promise<T>): Promise<T>
  /** A statement whose failure must not end the run's transaction (PostgreSQL: within a savepoint). */
  guarded<T>(fn: () => Promise<T>): Promise<T>
  isUniqueViolation(err: unknown): boolean
}

type Step = (run: Run, log: MigrationLogger) => Promise<void>

const STEPS: Record<MigrationVersion, Step> = {
  1: async (run) => {
    for (const statement of initialTables(run.dialect)) await run.query(statement)
  },
  2: foldNameKeys,
  3: async (run) => { await run.query(SETTINGS_TABLE) },
  4: streamPositions,
  5: directoryState,
  6: async (run) => { for (const statement of adminTables(run.dialect)) await run.query(statement) },
  7: async (run) => {
    if (!await columnExists(run, 'dsync_setup_links', 'first_request_at')) await run.query('ALTER TABLE dsync_setup_links ADD COLUMN first_request_at BIGINT NULL')
  }
}

/**
 * Migration 4: dsync_events.stream_pos, the event's place in the stream across directories, given after
 * the commit by the sequencer (sql-stream.ts); null until then. And an index on created_at, by which
 * the sequencer orders and retention finds what is old. Existing events are left null: the
 * sequencer numbers them first. Idempotent (MySQL runs a step again after a cut).
 */
async function streamPositions (run: Run): Promise<void> {
  if (!await columnExists(run, 'dsync_events', 'stream_pos')) await run.query('ALTER TABLE dsync_events ADD COLUMN stream_pos BIGINT NULL')
  if (run.dialect === 'mysql') {
    const { rows } = await run.query('SELECT 1 AS found FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = \'dsync_events\' AND index_name = \'dsync_events_stream\'')
    if (rows.length === 0) await run.query('CREATE UNIQUE INDEX dsync_events_stream ON dsync_events (stream_pos)')
    const { rows: aged } = await run.query('SELECT 1 AS found FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = \'dsync_events\' AND index_name = \'dsync_events_age\'')
    if (aged.length === 0) await run.query('CREATE INDEX dsync_events_age ON dsync_events (created_at)')
  } else {
    await run.query('CREATE UNIQUE INDEX IF NOT EXISTS dsync_events_stream ON dsync_events (stream_pos)')
    await run.query('CREATE INDEX IF NOT EXISTS dsync_events_age ON dsync_events (created_at)')
  }
}

/**
 * Migration 5: what the deprovisioning guard counts and holds, and the deleted directories awaiting
 * their purge. dsync_events.deprovision (1 a user deactivated, 2 deleted; 0 otherwise) and
 * .coalesced (1: reduced away by a release with coalesce); dsync_directory_state, one row per
 * directory with a guard state or a deletion (its webhook as it was, sealed like any secret).
 * Idempotent (MySQL runs a step again after a cut).
 */
async function directoryState (run: Run): Promise<void> {
  for (const column of ['deprovision', 'coalesced']) {
    if (!await columnExists(run, 'dsync_events', column)) await run.query(`ALTER TABLE dsync_events ADD COLUMN ${column} SMALLINT NOT NULL DEFAULT 0`)
  }
  const id = run.dialect === 'mysql' ? 'VARBINARY(255)' : 'VARCHAR(64)'
  const text = run.dialect === 'mysql' ? 'LONGTEXT' : 'TEXT'
  await run.query(`CREATE TABLE IF NOT EXISTS dsync_directory_state (
 directory_id ${id} NOT NULL PRIMARY KEY,
 held_from BIGINT NULL,
 tripped_at BIGINT NULL,
 released_through BIGINT NOT NULL,
 deleted_seq BIGINT NULL,
 deleted_at BIGINT NULL,
 webhook ${text} NULL
)`)
}

/** Migration 6: setup links (only a digest of each token) and the grace periods of rotated SCIM tokens. */
function adminTables (dialect: Dialect): string[] {
  const id = dialect === 'mysql' ? 'VARBINARY(255)' : 'VARCHAR(64)'
  return [`CREATE TABLE IF NOT EXISTS dsync_setup_links (
 id VARCHAR(64) NOT NULL PRIMARY KEY,
 token_digest VARCHAR(64) NOT NULL,
 tenant VARCHAR(255) NOT NULL,
 product VARCHAR(255) NOT NULL,
 created_at BIGINT NOT NULL,
 expires_at BIGINT NOT NULL,
 revoked_at BIGINT NULL,
 directory_id ${id} NULL,
 CONSTRAINT dsync_setup_links_token UNIQUE (token_digest)
)`, `CREATE TABLE IF NOT EXISTS dsync_token_grace (
 directory_id ${id} NOT NULL PRIMARY KEY,
 token_digest VARCHAR(64) NOT NULL,
 until_at BIGINT NOT NULL
)`]
}

const COLUMN_EXISTS: Record<Dialect, string> = {
  sqlite: 'SELECT 1 AS found FROM pragma_table_info(?) WHERE name = ?',
  postgres: 'SELECT 1 AS found FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? AND column_name = ?',
  mysql: 'SELECT 1 AS found FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? AND column_name = ?'
}

async function columnExists (run: Run, table: string, column: string): Promise<boolean> {
  return (await run.query(COLUMN_EXISTS[run.dialect], [table, column])).rows.length > 0
}

/** Migration 3: the database's settings, a name and a value each (encryption.ts keeps its fingerprint there). */
const SETTINGS_TABLE = `CREATE TABLE IF NOT EXISTS dsync_settings (
 name VARCHAR(64) NOT NULL PRIMARY KEY,
 value VARCHAR(255) NOT NULL
)`

/** The SQL database of `client` as the runner sees it. */
export function sqlMigrationTarget (client: SqlClient): MigrationTarget {
  return {
    recorded: async () => {
      return await tableExists(client, VERSIONS) ? recorded(client.query) : []
    },
    locked: (fn) => locked(client, (run) => fn(sessionOf(run)))
  }
}

/** Applies the pending migrations (openSqlStorage does, before anything else). */
export function migrateSql (client: SqlClient, log?: MigrationLogger): Promise<Migration[]> {
  return runMigrations(sqlMigrationTarget(client), log)
}

const TABLE_EXISTS: Record<Dialect, string> = {
  sqlite: 'SELECT 1 AS found FROM sqlite_master WHERE type = \'table\' AND name = ?',
  postgres: 'SELECT 1 AS found FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = ?',
  mysql: 'SELECT 1 AS found FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?'
}

/** Whether the database of `client` has the table (in its current schema). */
export async function tableExists (client: Pick<SqlClient, 'dialect' | 'query'>, table: string): Promise<boolean> {
  return (await client.query(TABLE_EXISTS[client.dialect], [table])).rows.length > 0
}

async function recorded (query: Query): Promise<AppliedMigration[]> {
  const { rows } = await query<{ version: number | string, name: string | null, applied_at: number | string | null }>(
    `SELECT version, name, applied_at FROM ${VERSIONS} ORDER BY version`)
  return rows.map((row) => ({ version: Number(row.version), name: row.name ?? nameOf(Number(row.version)), appliedAt: Number(row.applied_at) }))
}

function sessionOf (run: Run): MigrationSession {
  return {
    applied: async () => {
      await run.query(VERSION_TABLE)
      return recorded(run.query)
    },
    apply: (migration, log) => STEPS[migration.version](run, log),
    record: async (migration, appliedAt) => {
      await run.query(`INSERT INTO ${VERSIONS} (version, name, applied_at) VALUES (?, ?, ?)`, [migration.version, migration.name, appliedAt])
    }
  }
}

async function locked<T> (client: SqlClient, fn: (run: Run) => Promise<T>): Promise<T> {
  const base = { dialect: client.dialect, isUniqueViolation: client.isUniqueViolation }
  if (client.dialect === 'postgres') {
    return client.transaction(async (query) => {
      await query(`SELECT pg_advisory_xact_lock(${PG_LOCK_KEY})`)
      return fn({ ...base, query, batch: (f) => f(), guarded: savepoint(query) })
    })
  }
  if (client.dialect === 'mysql') {
    // client.transaction for its one connection: the transaction it opened is ended at once (DDL would
    // end it anyway), and batches open their own.
    return client.transaction(async (query) => {
      await query('COMMIT')
      const { rows: [{ acquired }] } = await query<{ acquired: number | string | null }>('SELECT GET_LOCK(?, ?) AS acquired', [MYSQL_LOCK, MYSQL_LOCK_WAIT_S])
      if (Number(acquired) !== 1) throw new Error(`another process held the migration lock for ${MYSQL_LOCK_WAIT_S} s (GET_LOCK('${MYSQL_LOCK}'))`)
      try {
        return await fn({ ...base, query, batch: ownTransaction(query), guarded: (f) => f() })
      } finally {
        await query('SELECT RELEASE_LOCK(?) AS released', [MYSQL_LOCK]).catch(() => {})
      }
    })
  }
  // sqlite: BEGIN IMMEDIATE waits busy_timeout for another process's write lock; a run of another
  // process may hold it longer.
  const deadline = Date.now() + SQLITE_LOCK_WAIT_MS
  for (;;) {
    try {
      return await client.transaction((query) => fn({ ...base, query, batch: (f) => f(), guarded: (f) => f() }))
    } catch (err) {
      if ((err as { code?: string })?.code !== 'SQLITE_BUSY' || Date.now() > deadline) throw err
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
}

// Runs a function between `open` and `close`, undoing with `undo` when it throws.
function between (query: Query, open: string, close: string, undo: string): Run['batch'] {
  return async (fn) => {
    await query(open)
    try {
      const result = await fn()
      await query(close)
      return result
    } catch (err) {
      await query(undo).catch(() => {})
      throw err
    }
  }
}

const savepoint = (query: Query): Run['guarded'] => between(query, 'SAVEPOINT dsync_migration', 'RELEASE SAVEPOINT dsync_migration', 'ROLLBACK TO SAVEPOINT dsync_migration')
const ownTransaction = (query: Query): Run['batch'] => between(query, 'START TRANSACTION', 'COMMIT', 'ROLLBACK')

/**
 * Migration 1: the tables of the release before migrations, exactly as it created them. Never to be
 * edited: a change of the schema is a new migration.
 */
export function initialTables (dialect: Dialect): string[] {
  return [...resourceTables(dialect), ...eventTables(dialect)]
}

function resourceTables (dialect: Dialect): string[] {
  const seq = { sqlite: 'INTEGER PRIMARY KEY AUTOINCREMENT', postgres: 'BIGSERIAL PRIMARY KEY', mysql: 'BIGINT AUTO_INCREMENT PRIMARY KEY' }[dialect]
  const text = dialect === 'mysql' ? 'LONGTEXT' : 'TEXT'
  // Keys and ids compare exactly (the caller folds what is case-insensitive): MySQL's collations
  // equate accents, case or trailing spaces, so there they are bytes.
  const key = dialect === 'mysql' ? 'VARBINARY(1020)' : 'VARCHAR(255)'
  const id = dialect === 'mysql' ? 'VARBINARY(255)' : 'VARCHAR(64)'
  // MySQL has no CREATE INDEX IF NOT EXISTS: its indexes are declared inline.
  const inline = dialect === 'mysql'
  const resourceIndexes = [
    ['dsync_scim_resources_external', 'directory_id, resource_type, external_id'],
    ['dsync_scim_resources_display', 'directory_id, resource_type, display_key'],
    ['dsync_scim_resources_order', 'directory_id, resource_type, seq']
  ]
  const memberIndexes = [['dsync_scim_members_user', 'directory_id, user_id']]
  const inlined = (indexes: string[][]) => inline ? indexes.map(([name, cols]) => `,\n INDEX ${name} (${cols})`).join('') : ''
  const separate = (table: string, indexes: string[][]) => inline ? [] : indexes.map(([name, cols]) => `CREATE INDEX IF NOT EXISTS ${name} ON ${table} (${cols})`)
  return [
    `CREATE TABLE IF NOT EXISTS dsync_scim_resources (
 seq ${seq},
 directory_id ${id} NOT NULL,
 resource_type VARCHAR(8) NOT NULL,
 id ${id} NOT NULL,
 name_key ${key} NOT NULL,
 external_id ${key} NULL,
 display_key ${key} NULL,
 original_keys ${text} NOT NULL,
 body ${text} NOT NULL,
 created VARCHAR(32) NOT NULL,
 last_modified VARCHAR(32) NOT NULL,
 version INTEGER NOT NULL,
 CONSTRAINT dsync_scim_resources_id UNIQUE (directory_id, id),
 CONSTRAINT dsync_scim_resources_name UNIQUE (directory_id, resource_type, name_key)${inlined(resourceIndexes)}
)`,
    `CREATE TABLE IF NOT EXISTS dsync_scim_members (
 directory_id ${id} NOT NULL,
 group_id ${id} NOT NULL,
 user_id ${id} NOT NULL,
 display ${text} NULL,
 PRIMARY KEY (directory_id, group_id, user_id)${inlined(memberIndexes)}
)`,
    ...separate('dsync_scim_resources', resourceIndexes),
    ...separate('dsync_scim_members', memberIndexes)
  ]
}

// The event queue's tables (sql-events.ts).
function eventTables (dialect: Dialect): string[] {
  const text = dialect === 'mysql' ? 'LONGTEXT' : 'TEXT'
  const id = dialect === 'mysql' ? 'VARBINARY(255)' : 'VARCHAR(64)'
  const name = 'VARCHAR(128)'
  return [
    `CREATE TABLE IF NOT EXISTS dsync_events (
 directory_id ${id} NOT NULL,
 seq BIGINT NOT NULL,
 id VARCHAR(64) NOT NULL,
 payload ${text} NOT NULL,
 created_at BIGINT NOT NULL,
 PRIMARY KEY (directory_id, seq),
 CONSTRAINT dsync_events_id UNIQUE (id)
)`,
    `CREATE TABLE IF NOT EXISTS dsync_event_heads (
 directory_id ${id} NOT NULL PRIMARY KEY,
 head BIGINT NOT NULL
)`,
    `CREATE TABLE IF NOT EXISTS dsync_event_handlers (
 handler ${name} NOT NULL PRIMARY KEY,
 since BIGINT NOT NULL
)`,
    `CREATE TABLE IF NOT EXISTS dsync_event_cursors (
 directory_id ${id} NOT NULL,
 handler ${name} NOT NULL,
 last_seq BIGINT NOT NULL,
 attempts INTEGER NOT NULL,
 next_attempt_at BIGINT NOT NULL,
 last_error ${text} NULL,
 owner VARCHAR(64) NULL,
 lease_until BIGINT NOT NULL,
 PRIMARY KEY (directory_id, handler)
)`,
    `CREATE TABLE IF NOT EXISTS dsync_event_failures (
 event_id VARCHAR(64) NOT NULL,
 handler ${name} NOT NULL,
 attempts INTEGER NOT NULL,
 error ${text} NOT NULL,
 failed_at BIGINT NOT NULL,
 PRIMARY KEY (event_id, handler)
)`
  ]
}

interface KeyRow {
  seq: number | string
  directory_id: string
  resource_type: ResourceType
  id: string
  name_key: string
  display_key: string | null
  original_keys: string
  body: string
}

const KEY_COLUMNS = 'seq, directory_id, resource_type, id, name_key, display_key, original_keys, body'

/**
 * Migration 2: every resource's name_key, display_key and original_keys rewritten from its body with
 * foldKey, in batches by seq. Two resources whose names now fold together cannot both hold the folded
 * key: the one that already holds it keeps it (its old key was already folded), else the first to ask
 * (the lower seq); the other keeps its previous name key, with a warning. Its display key is folded
 * all the same. Running it again gives the same keys.
 */
async function foldNameKeys (run: Run, log: MigrationLogger): Promise<void> {
  const collided: Array<number | string> = []
  let after: number | string = 0
  for (;;) {
    const rows = await run.batch(async () => {
      const { rows } = await run.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM ${RESOURCES} WHERE seq > ? ORDER BY seq LIMIT ?`, [after, BATCH])
      for (const row of rows) if (await foldRow(run, row, log) !== null) collided.push(row.seq)
      return rows
    })
    if (rows.length < BATCH) break
    after = rows[rows.length - 1].seq
  }
  // The holder of a key may have moved to its own folded key after a resource asked for it: those that
  // collided ask once more, and keep their previous key only if it is still held.
  for (let i = 0; i < collided.length; i += BATCH) {
    await run.batch(async () => {
      for (const seq of collided.slice(i, i + BATCH)) {
        const { rows: [row] } = await run.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM ${RESOURCES} WHERE seq = ?`, [seq])
        const held = row === undefined ? null : await foldRow(run, row, log)
        if (held === null) continue
        const { rows: [holder] } = await run.query<{ id: string }>(
          `SELECT id FROM ${RESOURCES} WHERE directory_id = ? AND resource_type = ? AND name_key = ?`, [row.directory_id, row.resource_type, held])
        log.warn({ migration: 2, directoryId: row.directory_id, type: row.resource_type, id: row.id, heldBy: holder?.id ?? null },
          'directory-sync migration 2: another resource holds this one\'s folded name, so this one keeps its previous name key')
      }
    })
  }
}

/** Rewrites one row's keys; answers its folded name key when another row holds it (then it keeps its own), else null. */
async function foldRow (run: Run, row: KeyRow, log: MigrationLogger): Promise<string | null> {
  const parsed = keysOf(row)
  if (parsed === null) {
    log.warn({ migration: 2, directoryId: row.directory_id, type: row.resource_type, id: row.id },
      'directory-sync migration 2: the stored resource has no name to fold; it keeps its keys')
    return null
  }
  const { keys, folded } = parsed
  const nameKey = indexable(folded.name)
  const displayKey = indexable(folded.displayName)
  const write = (name: string, stored: ResourceKeys) => run.query(
    `UPDATE ${RESOURCES} SET name_key = ?, display_key = ?, original_keys = ? WHERE seq = ?`, [name, displayKey, JSON.stringify(stored), row.seq])
  if (nameKey === row.name_key) {
    if (displayKey !== row.display_key || folded.name !== keys.name || folded.displayName !== keys.displayName) await write(nameKey, folded)
    return null
  }
  try {
    await run.guarded(() => write(nameKey, folded))
    return null
  } catch (err) {
    if (!run.isUniqueViolation(err)) throw err
  }
  const kept = { ...folded, name: keys.name }
  if (displayKey !== row.display_key || kept.displayName !== keys.displayName) await write(row.name_key, kept)
  return nameKey
}

function keysOf (row: KeyRow): { keys: ResourceKeys, folded: ResourceKeys } | null {
  try {
    const keys: ResourceKeys = JSON.parse(row.original_keys)
    const folded = foldedKeys(row.resource_type, JSON.parse(row.body), keys)
    return folded === null ? null : { keys, folded }
  } catch {
    return null
  }
}
