// jackson's copy written straight into jackson's tables (jackson_store, jackson_index), a batch of
// changes in a few multi-row statements. The changes are folded first, so that no statement names a
// key twice: per key, whether it was deleted along the way, the record it ends with, and the index
// entries added since its last delete. A `deleteIndexed` (a group's memberships) reads the table, so
// what comes before it is written first. The columns are those of jackson's typeorm entities
// (dist/db/sql/entity, sqlite/entity, mariadb/entity); test/engine/jackson-rows.test.ts pins them.
import type { JacksonRowOp, JacksonTables } from './types.js'
import { chunked, placeholders, type Dialect, type Query, type SqlClient } from './sql-client.js'

type Put = Extract<JacksonRowOp, { op: 'put' }>
// `at`: the position of the put that (re)created the record, and of each index entry's first add since
// the record's last delete: rows are inserted in that order, as jackson's calls one by one would have
// (its getByIndex lists by the index row's id, its getAll by createdAt). `had`: the index entries its
// deletes said it has (null where one did not say: they are then looked up by its key).
interface Folded { deleted: boolean, had: Set<string> | null, put: Put | undefined, at: number, indexes: Map<string, number> }
// `single`: the step is one statement, which commits by itself.
type Step = ((query: Query) => Promise<void>) & { single?: boolean }

const STORE = 'jackson_store'
const INDEX = 'jackson_index'

export function sqlJacksonTables (client: SqlClient): JacksonTables {
  const { dialect } = client
  const write = writer(dialect)
  return {
    async apply (ops) {
      const steps: Step[] = []
      let folded = new Map<string, Folded>()
      const flush = () => {
        if (folded.size > 0) steps.push(...write.folded(folded))
        folded = new Map()
      }
      for (const [at, op] of ops.entries()) {
        if (op.op === 'deleteIndexed') {
          flush()
          steps.push(write.deleteIndexed(op.index))
          continue
        }
        let entry = folded.get(op.key)
        if (entry === undefined) folded.set(op.key, entry = { deleted: false, had: new Set(), put: undefined, at, indexes: new Map() })
        if (op.op === 'delete') {
          if (op.indexes === undefined) entry.had = null
          else if (entry.had !== null) for (const index of op.indexes) entry.had.add(index)
          Object.assign(entry, { deleted: true, put: undefined, at, indexes: new Map() })
        } else {
          if (entry.put === undefined) entry.at = at
          entry.put = op
          for (const index of op.indexes) if (!entry.indexes.has(index)) entry.indexes.set(index, at)
        }
      }
      flush()
      if (steps.length === 0) return
      // One statement (a run of updates, say) commits by itself: no BEGIN and COMMIT around it.
      if (steps.length === 1 && steps[0].single === true) await steps[0](client.query)
      else await client.transaction(async (query) => { for (const step of steps) await step(query) })
    }
  }
}

// sqlite's datetime columns hold typeorm's 'YYYY-MM-DD HH:mm:ss.SSS' (UTC). createdAt orders jackson's
// getAll, and a batch's rows would otherwise all share one: each gets its own millisecond.
let lastCreated = 0
const sqliteTime = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 23)
const nextCreated = () => (lastCreated = Math.max(Date.now(), lastCreated + 1))

function writer (dialect: Dialect): { folded: (folded: Map<string, Folded>) => Step[], deleteIndexed: (index: string) => Step } {
  const key = dialect === 'mysql' ? '`key`' : '"key"'
  const storeKey = dialect === 'mysql' ? 'storeKey' : '"storeKey"'
  const created = dialect === 'mysql' ? 'createdAt' : '"createdAt"'
  const modified = dialect === 'mysql' ? 'modifiedAt' : '"modifiedAt"'

  // jackson_index has no index on storeKey (jackson's entities index key, and key with storeKey): the
  // index rows of a record whose entries are known (`had`) are deleted by their exact (key, storeKey);
  // the others are looked up by storeKey, a scan of the table. (jackson's own delete leaves it to the
  // foreign key's ON DELETE CASCADE, a scan per record; the plugin's sqlite connection does not
  // enforce foreign keys, sql-client.ts.)
  const deleteKeys = (keys: string[], had: Map<string, Set<string> | null> = new Map()): Step => async (query) => {
    if (keys.length === 0) return
    const exact: Array<[string, string]> = []
    const looked: string[] = []
    for (const k of keys) {
      const indexes = had.get(k)
      if (indexes === null || indexes === undefined) looked.push(k)
      else for (const index of indexes) exact.push([index, k])
    }
    if (dialect === 'postgres') {
      if (exact.length > 0) {
        await query(`DELETE FROM ${INDEX} i USING unnest(?::text[], ?::text[]) AS v(k, s) WHERE i.${key} = v.k AND i.${storeKey} = v.s`,
          [exact.map(([index]) => index), exact.map(([, k]) => k)])
      }
      if (looked.length > 0) await query(`DELETE FROM ${INDEX} WHERE ${storeKey} = ANY(?::text[])`, [looked])
      await query(`DELETE FROM ${STORE} WHERE ${key} = ANY(?::text[])`, [keys])
      return
    }
    // By index key, each with its records: `key = ? AND storeKey IN (…)` is a look-up in (key, storeKey).
    const byIndex = new Map<string, string[]>()
    for (const [index, k] of exact) byIndex.set(index, [...byIndex.get(index) ?? [], k])
    for (const [index, stores] of byIndex) {
      for (const run of chunked(dialect, stores, { perRow: 1, fixed: 1 })) {
        await query(`DELETE FROM ${INDEX} WHERE ${key} = ? AND ${storeKey} IN (${placeholders(run.length)})`, [index, ...run])
      }
    }
    for (const run of chunked(dialect, looked, { perRow: 1 })) await query(`DELETE FROM ${INDEX} WHERE ${storeKey} IN (${placeholders(run.length)})`, run)
    for (const run of chunked(dialect, keys, { perRow: 1 })) await query(`DELETE FROM ${STORE} WHERE ${key} IN (${placeholders(run.length)})`, run)
  }

  const upsert = (puts: Put[]): Step => async (query) => {
    if (dialect === 'postgres') {
      // typeorm writes modifiedAt as an ISO string into a timestamp column; clock_timestamp() differs per row.
      await query(`INSERT INTO ${STORE} (${key}, value, iv, tag, namespace, ${created}, ${modified})
SELECT r.k, r.v, r.i, r.t, r.n, clock_timestamp(), ?::timestamp FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[]) AS r(k, v, i, t, n)
ON CONFLICT (${key}) DO UPDATE SET value = excluded.value, iv = excluded.iv, tag = excluded.tag, namespace = excluded.namespace, ${modified} = excluded.${modified}`,
      [new Date().toISOString(), puts.map((p) => p.key), puts.map((p) => p.value), puts.map((p) => p.iv), puts.map((p) => p.tag), puts.map((p) => p.namespace)])
      return
    }
    const now = new Date()
    const tail = dialect === 'mysql'
      ? ` ON DUPLICATE KEY UPDATE value = VALUES(value), iv = VALUES(iv), tag = VALUES(tag), namespace = VALUES(namespace), ${modified} = VALUES(${modified})`
      : ` ON CONFLICT (${key}) DO UPDATE SET value = excluded.value, iv = excluded.iv, tag = excluded.tag, namespace = excluded.namespace, ${modified} = excluded.${modified}`
    // MySQL: SYSDATE(6) is read per row; sqlite: a millisecond each, from here.
    const row = dialect === 'mysql' ? '(?, ?, ?, ?, ?, SYSDATE(6), ?)' : '(?, ?, ?, ?, ?, ?, ?)'
    for (const run of chunked(dialect, puts, { perRow: 7, bytes: (p) => p.value.length + p.key.length * 2 + 200 })) {
      const params = run.flatMap((p) => dialect === 'mysql'
        ? [p.key, p.value, p.iv, p.tag, p.namespace, now]
        : [p.key, p.value, p.iv, p.tag, p.namespace, sqliteTime(nextCreated()), sqliteTime(now.getTime())])
      await query(`INSERT INTO ${STORE} (${key}, value, iv, tag, namespace, ${created}, ${modified}) VALUES ${run.map(() => row).join(', ')}${tail}`, params)
    }
  }

  // Sql.put adds an index entry only where the same (key, storeKey) is not there yet.
  const addIndexes = (entries: Array<[string, string]>): Step => async (query) => {
    if (dialect === 'postgres') {
      await query(`INSERT INTO ${INDEX} (${key}, ${storeKey})
SELECT v.k, v.s FROM unnest(?::text[], ?::text[]) WITH ORDINALITY AS v(k, s, o)
WHERE NOT EXISTS (SELECT 1 FROM ${INDEX} i WHERE i.${key} = v.k AND i.${storeKey} = v.s) ORDER BY v.o`,
      [entries.map(([k]) => k), entries.map(([, s]) => s)])
      return
    }
    for (const run of chunked(dialect, entries, { perRow: 2, bytes: ([k, s]) => k.length + s.length + 40 })) {
      const rows = dialect === 'mysql'
        ? run.map((_, i) => i === 0 ? 'SELECT ? AS k, ? AS s' : 'SELECT ?, ?').join(' UNION ALL ')
        : `VALUES ${run.map(() => '(?, ?)').join(', ')}`
      const [k, s] = dialect === 'mysql' ? ['v.k', 'v.s'] : ['v.column1', 'v.column2']
      await query(`INSERT INTO ${INDEX} (${key}, ${storeKey}) SELECT ${k}, ${s} FROM (${rows}) v
WHERE NOT EXISTS (SELECT 1 FROM ${INDEX} i WHERE i.${key} = ${k} AND i.${storeKey} = ${s})`, run.flat())
    }
  }

  return {
    folded (folded) {
      const deleted = [...folded].filter(([, entry]) => entry.deleted).map(([k]) => k)
      const had = new Map([...folded].filter(([, entry]) => entry.deleted).map(([k, entry]) => [k, entry.had]))
      const puts = [...folded.values()].filter((entry) => entry.put !== undefined).sort((a, b) => a.at - b.at).map((entry) => entry.put!)
      const indexes = [...folded]
        .flatMap(([k, entry]) => [...entry.indexes].map(([index, at]) => ({ entry: [index, k] as [string, string], at })))
        .sort((a, b) => a.at - b.at).map(({ entry }) => entry)
      const steps: Step[] = []
      if (deleted.length > 0) steps.push(deleteKeys(deleted, had))
      if (puts.length > 0) steps.push(Object.assign(upsert(puts), { single: dialect === 'postgres' }))
      if (indexes.length > 0) steps.push(addIndexes(indexes))
      return steps
    },
    deleteIndexed: (index) => async (query) => {
      const { rows } = await query<{ storeKey: string }>(`SELECT ${storeKey} AS ${storeKey} FROM ${INDEX} WHERE ${key} = ?`, [index])
      await deleteKeys(rows.map((row) => row.storeKey))(query)
    }
  }
}
