// The database the command line works on, from --db / DSYNC_DB: a connection URL, a sqlite file path
// (or sqlite:<path>), or the plugin's db option as JSON. --encryption-key / DSYNC_ENCRYPTION_KEY is
// added to it. The result is checked by resolveOptions, as registration checks it.
import type { DbOptions } from '../options.js'
import { UsageError } from './args.js'

const schemes: Record<string, Pick<Extract<DbOptions, { engine: 'sql' }>, 'engine' | 'type'> | { engine: 'redis' }> = {
  'postgres:': { engine: 'sql', type: 'postgres' },
  'postgresql:': { engine: 'sql', type: 'postgres' },
  'mysql:': { engine: 'sql', type: 'mysql' },
  'mariadb:': { engine: 'sql', type: 'mariadb' },
  'redis:': { engine: 'redis' },
  'rediss:': { engine: 'redis' }
}

/** The db option `text` names, with `encryptionKey` when given (it replaces one in a JSON option). */
export function dbFromArgument (text: string | undefined, encryptionKey: string | undefined): DbOptions {
  if (text === undefined) throw new UsageError('--db (or DSYNC_DB) is required: a postgres://, mysql://, mariadb:// or redis:// URL, a sqlite file path, or the db option as JSON')
  const db = parse(text.trim())
  return encryptionKey === undefined ? db : { ...db, encryptionKey }
}

function parse (text: string): DbOptions {
  if (text.startsWith('{')) {
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch (err) {
      throw new UsageError(`--db: not valid JSON: ${(err as Error).message}`)
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new UsageError('--db: expected a JSON object such as {"engine":"sql","type":"sqlite","url":"./data/dsync.db"}')
    return value as DbOptions
  }
  if (text === '') throw new UsageError('--db: empty')
  if (/^sqlite:/i.test(text)) {
    // sqlite:<path>, and sqlite://<path> as some tools write it (sqlite:///abs/path: an absolute path).
    const path = text.replace(/^sqlite:(\/\/)?/i, '')
    if (path === '') throw new UsageError('--db: sqlite: needs a file path, e.g. sqlite:./data/dsync.db')
    return { engine: 'sql', type: 'sqlite', url: path }
  }
  const scheme = /^([a-z][a-z0-9+.-]*:)\/\//i.exec(text)?.[1]?.toLowerCase()
  if (scheme !== undefined) {
    const kind = schemes[scheme]
    if (kind === undefined) throw new UsageError(`--db: unsupported URL scheme "${scheme}" (postgres:, mysql:, mariadb:, redis:, rediss:, sqlite:)`)
    return { ...kind, url: text } as DbOptions
  }
  return { engine: 'sql', type: 'sqlite', url: text }
}

/** The sqlite file `db` names, when it is one (not ':memory:'). */
export function sqliteFileOf (db: DbOptions): string | undefined {
  return db.engine === 'sql' && db.type === 'sqlite' && typeof db.url === 'string' && db.url !== ':memory:' ? db.url : undefined
}
