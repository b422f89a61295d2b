// Reads what raw jackson committed, straight from its tables on a connection of our own. jackson's own
// view cannot be trusted for this: on sqlite, concurrent calls leave its connection inside a
// transaction that is never committed, so the process sees writes that no other connection ever will
// (measured: 232 users seen in-process, 81 in the file). Records are plain JSON (no encryptionKey), one
// namespace per type for the bench tenant and product; each database holds one directory.
import Database from 'better-sqlite3'
import pg from 'pg'
import type { Inspector, Sample } from './protocol.js'

export interface JacksonDbRef { type: 'sqlite' | 'postgres', url: string }

type Record = { [key: string]: any }

async function readNamespace (db: JacksonDbRef, type: 'users' | 'groups' | 'members'): Promise<Record[]> {
  const namespace = `dsync:${type}:bench:bench`
  // Insertion order, so that samples come out in the order the initial sync created them.
  if (db.type === 'sqlite') {
    const conn = new Database(db.url, { readonly: true, fileMustExist: true })
    try {
      return (conn.prepare('SELECT value FROM jackson_store WHERE namespace = ? ORDER BY rowid').all(namespace) as Array<{ value: string }>).map((r) => JSON.parse(r.value))
    } finally {
      conn.close()
    }
  }
  const client = new pg.Client({ connectionString: db.url })
  await client.connect()
  try {
    const { rows } = await client.query<{ value: string }>('SELECT value FROM jackson_store WHERE namespace = $1 ORDER BY "createdAt", key', [namespace])
    return rows.map((r) => JSON.parse(r.value))
  } finally {
    await client.end()
  }
}

export function jacksonStoreInspector (db: JacksonDbRef): Inspector {
  const members = async () => {
    const byGroup = new Map<string, string[]>()
    for (const m of await readNamespace(db, 'members')) {
      const list = byGroup.get(m.group_id) ?? []
      list.push(m.user_id)
      byGroup.set(m.group_id, list)
    }
    return byGroup
  }
  return {
    async stored () {
      const users = await readNamespace(db, 'users')
      return { users: users.length, inactive: users.filter((u) => u.active === false).length, groups: (await readNamespace(db, 'groups')).length }
    },
    async sample (userCount, groupCount) {
      const byGroup = await members()
      const sample: Sample = { users: [], groups: [] }
      for (const user of await readNamespace(db, 'users')) {
        if (sample.users.length < userCount && user.active !== false && typeof user.raw?.userName === 'string') sample.users.push({ id: user.id, userName: user.raw.userName })
      }
      for (const group of (await readNamespace(db, 'groups')).slice(0, groupCount)) sample.groups.push({ id: group.id, members: byGroup.get(group.id) ?? [] })
      return sample
    },
    async members (groupIds) {
      const byGroup = await members()
      return Object.fromEntries(groupIds.map((id) => [id, byGroup.get(id) ?? []]))
    }
  }
}
