// Which key a database is encrypted with, and the rewrite that encrypts data stored before a key was set.
//
// A database remembers the fingerprint of its key (codec.ts) in its settings, and whether everything
// stored before the key was set has been rewritten under it. At every open:
//   no key, no fingerprint          stored as given.
//   no key, a fingerprint           refused (EncryptionKeyRequiredError): the data cannot be read.
//   a key, another fingerprint      refused (EncryptionKeyMismatchError).
//   a key, no fingerprint           the fingerprint is recorded (the first process to do so wins, so two
//                                   processes starting with different keys cannot both succeed); if
//                                   anything is already stored, it is rewritten first.
//   a key, its fingerprint          served; a rewrite cut short (a crash) is resumed first.
// The rewrite runs in bounded batches, each its own short transaction, and is resumable: a value is
// rewritten once (a sealed value is recognised and skipped), so a rewrite cut short at any point is
// simply run again. SCIM is served only once it has finished, so no plaintext key is ever looked up.
import { EncryptionKeyMismatchError, EncryptionKeyRequiredError } from '../errors.js'
import type { Codec } from './codec.js'
import type { MigrationLogger } from './migrations.js'

/** What the database records of its encryption. */
export interface EncryptionState {
  fingerprint: string
  /** Whether everything stored before the key was set has been rewritten under it. */
  rewritten: boolean
}

/** An engine's side of the encryption check, for one database. */
export interface EncryptionTarget {
  state(): Promise<EncryptionState | null>
  /**
   * Records `fingerprint` unless one is recorded already, with `rewritten`; answers the state recorded
   * afterwards (another process's, if it was first).
   */
  claim(fingerprint: string, rewritten: boolean): Promise<EncryptionState>
  /** Marks the rewrite under the recorded key finished. */
  finish(): Promise<void>
  /** Whether the database holds any of the plugin's data. */
  hasData(): Promise<boolean>
  /**
   * Rewrites every value not yet stored under `codec` (keys digested, values sealed), in bounded
   * batches; `progress` is told the number of rows rewritten after each batch. Stops (throws) when
   * `signal` aborts, between batches.
   */
  rewrite(codec: Codec, progress: (rows: number) => void, signal?: AbortSignal): Promise<void>
}

export interface EnsureOptions {
  log?: MigrationLogger
  /** Aborts a rewrite between two batches (it resumes at the next open). */
  signal?: AbortSignal
}

/** Checks the key against the database, and finishes what it needs before it is served (see above). */
export async function ensureEncryption (target: EncryptionTarget, codec: Codec, { log, signal }: EnsureOptions = {}): Promise<void> {
  let state = await target.state()
  if (codec.fingerprint === null) {
    if (state !== null) throw new EncryptionKeyRequiredError()
    return
  }
  if (state === null) state = await target.claim(codec.fingerprint, !await target.hasData())
  if (state.fingerprint !== codec.fingerprint) throw new EncryptionKeyMismatchError()
  if (state.rewritten) return
  log?.info?.({}, 'directory-sync: encrypting the data stored before db.encryptionKey was set')
  let rows = 0
  await target.rewrite(codec, (n) => {
    rows += n
    log?.info?.({ rows }, 'directory-sync: encrypting stored data')
  }, signal)
  await target.finish()
  log?.info?.({ rows }, 'directory-sync: the stored data is encrypted')
}

/**
 * What ensureEncryption would still have to write before serving (db.manualMigration): null when
 * nothing, else what. Refuses a wrong or missing key as ensureEncryption does.
 */
export async function pendingEncryption (target: EncryptionTarget, codec: Codec): Promise<string | null> {
  const state = await target.state()
  if (codec.fingerprint === null) {
    if (state !== null) throw new EncryptionKeyRequiredError()
    return null
  }
  if (state !== null && state.fingerprint !== codec.fingerprint) throw new EncryptionKeyMismatchError()
  if (state?.rewritten === true || (state === null && !await target.hasData())) return null
  return 'the encryption of its stored data under db.encryptionKey'
}

/** The batch size of a rewrite: rows per transaction. */
export const REWRITE_BATCH = 500
