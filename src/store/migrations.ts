// The plugin's own schema changes, as versioned migrations: the list, and the runner that applies each
// one once, in order, on every engine that keeps state (sql-migrations.ts: PostgreSQL, MySQL/MariaDB,
// sqlite; redis-migrations.ts: Redis; the mem engine has nothing to migrate). A database records the
// versions applied to it (SQL: the dsync_migrations table; Redis: the dsync:migrations hash), and a run
// holds the database's migration lock from reading those versions to recording the last one, so that
// processes starting together apply each migration once.
//
// A migration, once released, is never edited: a later change of the schema or of the stored keys is a
// new migration at the end of the list. Every engine implements every migration (a no-op where there is
// nothing to do), which the types check.
import { foldKey, foldedOrNull } from '../keys.js'
import type { ResourceKeys, ResourceType } from './types.js'

/** A migration as the list names it. */
export interface Migration {
  readonly version: number
  readonly name: string
}

/** Every migration, in the order they are applied. */
export const MIGRATIONS = [
  // The tables of the release before migrations (CREATE TABLE IF NOT EXISTS: a no-op on its databases).
  { version: 1, name: 'tables' },
  // Unique name keys folded with keys.ts foldKey (NFC, then case folding) instead of toLowerCase().
  { version: 2, name: 'fold name keys' },
  // Where the database records its settings, such as the fingerprint of its encryption key (encryption.ts).
  { version: 3, name: 'settings' },
  // Every event's place in the one stream across directories that events.list follows (sql-stream.ts).
  { version: 4, name: 'event stream positions' },
  // The deprovisioning guard's counts and holds, and deleted directories awaiting their purge (events/guard.ts, events/purge.ts).
  { version: 5, name: 'directory state' },
  // Setup links for customers' IT admins, and the grace periods of rotated SCIM tokens (admin/).
  { version: 6, name: 'setup links' },
  // When a setup link's directory answered its first SCIM request (admin/setup-links.ts: the provider is fixed from then on).
  { version: 7, name: 'setup link first request' }
] as const satisfies readonly Migration[]

export type MigrationVersion = typeof MIGRATIONS[number]['version']
export type KnownMigration = typeof MIGRATIONS[number]

/** A migration recorded in a database. */
export interface AppliedMigration extends Migration {
  /** Milliseconds since the epoch. */
  readonly appliedAt: number
}

/** Where a migration reports what it could not do as asked (pino's and Fastify's loggers fit). */
export interface MigrationLogger {
  warn(obj: Record<string, unknown>, msg: string): void
  info?(obj: Record<string, unknown>, msg: string): void
}

/** Without a logger, warnings become process warnings: a migration's warnings are never silent. */
export const processWarnings: MigrationLogger = {
  warn: (obj, msg) => process.emitWarning(`${msg} ${JSON.stringify(obj)}`, { code: 'DSYNC_MIGRATION' })
}

/** One run on one database, holding its migration lock. */
export interface MigrationSession {
  /** The migrations recorded (the record is created first if need be). */
  applied(): Promise<AppliedMigration[]>
  /** Applies one migration; on MySQL each step commits on its own, so it must be safe to run again. */
  apply(migration: KnownMigration, log: MigrationLogger): Promise<void>
  record(migration: Migration, appliedAt: number): Promise<void>
}

/** An engine's side of the runner, for one database. */
export interface MigrationTarget {
  /** The migrations recorded, read without the lock and without creating anything. */
  recorded(): Promise<AppliedMigration[]>
  /** Runs `fn` holding the database's migration lock: one run at a time, across processes. */
  locked<T>(fn: (session: MigrationSession) => Promise<T>): Promise<T>
}

/** The migrations not yet applied to the target's database, in order; applies nothing. */
export async function pendingMigrationsOf (target: MigrationTarget): Promise<Migration[]> {
  return pendingAfter(await target.recorded())
}

/** Applies the pending migrations in order, recording each; answers those it applied (none: up to date). */
export function runMigrations (target: MigrationTarget, log: MigrationLogger = processWarnings): Promise<Migration[]> {
  return target.locked(async (session) => {
    const recorded = await session.applied()
    const known = new Set<number>(MIGRATIONS.map((m) => m.version))
    const unknown = recorded.filter((m) => !known.has(m.version)).map((m) => m.version)
    if (unknown.length > 0) {
      log.warn({ versions: unknown }, 'the database has directory-sync migrations this release does not know (a newer release ran on it)')
    }
    const applied: Migration[] = []
    for (const migration of pendingAfter(recorded)) {
      await session.apply(migration, log)
      await session.record(migration, Date.now())
      log.info?.({ version: migration.version, migration: migration.name }, 'directory-sync migration applied')
      applied.push(migration)
    }
    return applied
  })
}

function pendingAfter (recorded: AppliedMigration[]): KnownMigration[] {
  const done = new Set(recorded.map((m) => m.version))
  return MIGRATIONS.filter((m) => !done.has(m.version))
}

/** The name of a version in the list (a version recorded by a newer release has none here). */
export function nameOf (version: number): string {
  return MIGRATIONS.find((m) => m.version === version)?.name ?? 'unknown'
}

/**
 * Migration 2, on every engine: a resource's keys as they are derived since keys are folded (a User's
 * from its userName and displayName, a Group's from its displayName; as scim/users.ts and groups.ts
 * derive them). The externalId, compared exactly, is kept. Null when the body has no name to fold.
 */
export function foldedKeys (type: ResourceType, body: Record<string, unknown>, keys: ResourceKeys): ResourceKeys | null {
  const name = type === 'User' ? body.userName : body.displayName
  if (typeof name !== 'string') return null
  return { ...keys, name: foldKey(name), displayName: type === 'User' ? foldedOrNull(body.displayName) : keys.displayName }
}
