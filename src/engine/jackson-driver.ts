// jackson's store on the SQL engines, served by the plugin's own SQL client instead of jackson's typeorm
// driver (dist/db/sql/sql.js). jackson's DB accepts a driver of its own (`db.driver`, dist/db/db.js), and
// the plugin gives it this one, which reads and writes jackson's three tables exactly as sql.js does:
// the same keys (namespace:key), the same index entries, the same order of getAll (createdAt) and
// getByIndex (the index row's id), values stored as jackson's DB hands them over (already encrypted).
// Writes go through sql-jackson.ts, the writer jackson's copy uses.
//
// Why: typeorm is 374 modules, a third of a second of every start (cold start is measured to the first
// SCIM answer), loaded only to run a handful of statements. typeorm is still what creates and updates
// jackson's tables (its synchronize, from jackson's entities): once per jackson version and database,
// before this driver is used (database.ts). The version whose schema is in place is recorded in a table
// of its own, dsync_jackson_schema.
//
// test/engine/jackson-driver.test.ts runs the same calls through both drivers and compares what they
// answer and the rows they leave.
import { sqlJacksonTables } from '../store/sql-jackson.js'
import { chunked, placeholders, type Dialect, type SqlClient } from '../store/sql-client.js'

/** A stored value as jackson's DB hands it over: encrypted (iv and tag) or not. */
export interface JacksonValue { value: string, iv?: string | null, tag?: string | null }
export interface JacksonIndexRef { name: string, value: string }
type Order = 'ASC' | 'DESC' | undefined

/** The driver interface of jackson's DB (what dist/db/sql/sql.js implements). */
export interface JacksonDriver {
  get(namespace: string, key: string): Promise<JacksonValue | null>
  getAll(namespace: string, pageOffset?: number, pageLimit?: number, pageToken?: string, sortOrder?: Order): Promise<{ data: JacksonValue[] }>
  getByIndex(namespace: string, idx: JacksonIndexRef, pageOffset?: number, pageLimit?: number, pageToken?: string, sortOrder?: Order): Promise<{ data: JacksonValue[] }>
  getCount(namespace: string, idx?: JacksonIndexRef): Promise<number>
  put(namespace: string, key: string, val: JacksonValue, ttl?: number, ...indexes: JacksonIndexRef[]): Promise<void>
  delete(namespace: string, key: string): Promise<void>
  deleteMany(namespace: string, keys: string[]): Promise<void>
  close(): Promise<void>
  getStats(): Record<string, never>
  /** jackson's TTL clean-up timer (database.ts clears it at close, as for jackson's own drivers). */
  timerId?: NodeJS.Timeout
}

export interface JacksonDriverOptions {
  /** jackson's pageLimit: the most rows a page holds. */
  pageLimit: number
  /** Seconds between TTL clean-ups, and rows per clean-up batch (jackson's ttl and cleanupLimit). */
  ttl?: number
  cleanupLimit?: number
  /** Where a failed TTL clean-up is told (jackson's logger). */
  log?: { warn(message: string): void }
}

const SCHEMA_TABLE = 'dsync_jackson_schema'

// sql.js's keys (dist/db/utils.js key and keyForIndex).
const storeKeyOf = (namespace: string, key: string) => `${namespace}:${key}`
const indexKeyOf = (namespace: string, idx: JacksonIndexRef) => `${namespace}:${idx.name}:${idx.value}`

// sql.js's normalizeOffsetAndLimit: no offset is 0; no limit, 0, or one past the maximum is the maximum.
function page (pageOffset: unknown, pageLimit: unknown, max: number): { offset: number, limit: number } {
  const numeric = (n: unknown) => n !== undefined && !Number.isNaN(Number(n))
  const offset = numeric(pageOffset) ? Number(pageOffset) : 0
  const limit = !numeric(pageLimit) || Number(pageLimit) === 0 || Number(pageLimit) > max ? max : Number(pageLimit)
  // Written into the statement: whole and not negative, whatever a caller passed.
  const whole = (n: number) => Number.isFinite(n) ? Math.max(0, Math.trunc(n)) : 0
  return { offset: whole(offset), limit: whole(limit) }
}

const direction = (order: Order) => order === 'ASC' ? 'ASC' : 'DESC'

function names (dialect: Dialect) {
  const quote = (name: string) => dialect === 'mysql' ? `\`${name}\`` : `"${name}"`
  return { key: quote('key'), storeKey: quote('storeKey'), createdAt: quote('createdAt'), expiresAt: quote('expiresAt') }
}

interface ValueRow { value: string | null, iv: string | null, tag: string | null }
const valueOf = (row: ValueRow): JacksonValue => ({ value: row.value!, iv: row.iv, tag: row.tag })

/** jackson's store on `client`, which the driver owns (its close() closes it). */
export function sqlJacksonDriver (client: SqlClient, options: JacksonDriverOptions): JacksonDriver {
  const { key, storeKey, createdAt, expiresAt } = names(client.dialect)
  const tables = sqlJacksonTables(client)
  const query = client.query

  const removeExpiring = async (keys: string[]) => {
    for (const run of chunked(client.dialect, keys, { perRow: 1 })) await query(`DELETE FROM jackson_ttl WHERE ${key} IN (${placeholders(run.length)})`, run)
  }
  let closed = false

  const driver: JacksonDriver = {
    async get (namespace, k) {
      const { rows } = await query<ValueRow>(`SELECT value, iv, tag FROM jackson_store WHERE ${key} = ?`, [storeKeyOf(namespace, k)])
      // sql.js answers null for a record without a value, as for none.
      return rows.length === 0 || !rows[0].value ? null : valueOf(rows[0])
    },
    async getAll (namespace, pageOffset, pageLimit, _pageToken, sortOrder) {
      const { offset, limit } = page(pageOffset, pageLimit, options.pageLimit)
      const { rows } = await query<ValueRow>(
        `SELECT value, iv, tag FROM jackson_store WHERE namespace = ? ORDER BY ${createdAt} ${direction(sortOrder)} LIMIT ${limit} OFFSET ${offset}`, [namespace])
      return { data: rows.map(valueOf) }
    },
    async getByIndex (namespace, idx, pageOffset, pageLimit, _pageToken, sortOrder) {
      const { offset, limit } = page(pageOffset, pageLimit, options.pageLimit)
      // A page of index rows (their own order), each with its record; one whose record is gone is left
      // out of the page, as sql.js leaves it out.
      const { rows } = await query<ValueRow & { found: string | null }>(
        `SELECT s.${key} AS found, s.value, s.iv, s.tag FROM jackson_index i LEFT JOIN jackson_store s ON s.${key} = i.${storeKey}
WHERE i.${key} = ? ORDER BY i.id ${direction(sortOrder)} LIMIT ${limit} OFFSET ${offset}`, [indexKeyOf(namespace, idx)])
      return { data: rows.filter((row) => row.found !== null).map(valueOf) }
    },
    async getCount (namespace, idx) {
      const { rows } = idx === undefined
        ? await query<{ n: number | string }>('SELECT COUNT(*) AS n FROM jackson_store WHERE namespace = ?', [namespace])
        : await query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM jackson_index WHERE ${key} = ?`, [indexKeyOf(namespace, idx)])
      return Number(rows[0].n)
    },
    async put (namespace, k, val, ttl = 0, ...indexes) {
      const dbKey = storeKeyOf(namespace, k)
      await tables.apply([{ op: 'put', key: dbKey, namespace, value: val.value, iv: val.iv ?? null, tag: val.tag ?? null, indexes: indexes.map((idx) => indexKeyOf(namespace, idx)) }])
      if (ttl) {
        await client.transaction(async (q) => {
          await q(`DELETE FROM jackson_ttl WHERE ${key} = ?`, [dbKey])
          await q(`INSERT INTO jackson_ttl (${key}, ${expiresAt}) VALUES (?, ?)`, [dbKey, Date.now() + ttl * 1000])
        })
      }
    },
    async delete (namespace, k) {
      const dbKey = storeKeyOf(namespace, k)
      await removeExpiring([dbKey])
      await tables.apply([{ op: 'delete', key: dbKey }])
    },
    async deleteMany (namespace, keys) {
      if (keys.length === 0) return
      const dbKeys = keys.map((k) => storeKeyOf(namespace, k))
      await removeExpiring(dbKeys)
      await tables.apply(dbKeys.map((dbKey) => ({ op: 'delete' as const, key: dbKey })))
    },
    async close () {
      closed = true
      if (driver.timerId !== undefined) clearTimeout(driver.timerId)
      await client.close()
    },
    getStats: () => ({})
  }

  // sql.js's TTL clean-up: every `ttl` seconds, the records whose time is up, `cleanupLimit` at a time.
  const { ttl, cleanupLimit } = options
  if (ttl && cleanupLimit) {
    const cleanUp = async () => {
      try {
        for (;;) {
          const { rows } = await query<{ k: string }>(`SELECT ${key} AS k FROM jackson_ttl WHERE ${expiresAt} <= ? LIMIT ${cleanupLimit}`, [Date.now()])
          if (rows.length === 0) break
          const keys = rows.map((row) => row.k)
          await tables.apply(keys.map((dbKey) => ({ op: 'delete' as const, key: dbKey })))
          await removeExpiring(keys)
        }
      } catch (err) {
        // The next round tries again (sql.js's clean-up stops for good on a failure).
        options.log?.warn(`jackson's TTL clean-up failed: ${String(err)}`)
      }
      if (!closed) driver.timerId = setTimeout(cleanUp, ttl * 1000).unref()
    }
    driver.timerId = setTimeout(cleanUp, ttl * 1000).unref()
  }
  return driver
}

/** Whether jackson's tables are in place as `version` of jackson synchronises them (recorded by recordJacksonSchema). */
export async function jacksonSchemaIsCurrent (client: SqlClient, version: string): Promise<boolean> {
  try {
    const { rows } = await client.query<{ jackson: string }>(`SELECT jackson FROM ${SCHEMA_TABLE}`)
    return rows.length === 1 && rows[0].jackson === version
  } catch {
    return false // no such table yet: nothing was recorded
  }
}

/** Records that jackson's tables are in place as `version` synchronised them. */
export async function recordJacksonSchema (client: SqlClient, version: string): Promise<void> {
  await client.query(`CREATE TABLE IF NOT EXISTS ${SCHEMA_TABLE} (jackson VARCHAR(64) NOT NULL)`)
  await client.transaction(async (query) => {
    await query(`DELETE FROM ${SCHEMA_TABLE}`)
    await query(`INSERT INTO ${SCHEMA_TABLE} (jackson) VALUES (?)`, [version])
  })
}
