// Everything a database keeps, read as an attacker with a copy of it would: the bytes of a sqlite file
// and its WAL, a pg_dump, a MariaDB dump, or every Redis key name and DUMP. Answered as one lowercased
// latin1 text (the values searched for are ASCII, compared lowercased, so that a folded key counts too).
import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createClient } from 'redis'
import type { DbOptions } from '../../src/index.js'

export const dumpTools = {
  postgres: process.env.DSYNC_TEST_PG_DUMP ?? 'pg_dump',
  mariadb: process.env.DSYNC_TEST_MARIADB_DUMP ?? 'mariadb-dump'
}

function run (program: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(program, args, { maxBuffer: 256 * 1024 * 1024, encoding: 'latin1' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${program} failed: ${err.message} ${stderr}`))
      else resolve(stdout)
    })
  })
}

/** The raw contents of `db`'s database (on Redis, of the keys starting with `keyPrefix`). */
export async function rawRead (db: DbOptions, keyPrefix = ''): Promise<string> {
  if (db.engine === 'sql' && db.type === 'sqlite') {
    // The file, its write-ahead log and its shared-memory index, as they are on disk now.
    return ['', '-wal', '-shm'].map((suffix) => db.url + suffix).filter(existsSync)
      .map((file) => readFileSync(file).toString('latin1')).join('\n').toLowerCase()
  }
  if (db.engine === 'sql' && db.type === 'postgres') return (await run(dumpTools.postgres, [db.url])).toLowerCase()
  if (db.engine === 'sql') {
    const url = new URL(db.url)
    return (await run(dumpTools.mariadb, [
      '-h', url.hostname, '-P', url.port || '3306', '-u', decodeURIComponent(url.username), ...(url.password ? [`-p${decodeURIComponent(url.password)}`] : []),
      url.pathname.slice(1)
    ])).toLowerCase()
  }
  if (db.engine === 'redis') {
    const client = createClient({ url: db.url })
    await client.connect()
    try {
      const parts: string[] = []
      for await (const key of client.scanIterator({ MATCH: keyPrefix + '*', COUNT: 1000 })) {
        parts.push(key)
        // DUMP compresses longer strings (LZF), where a value would not show: the contents by type too.
        const dumped = await client.dump(client.commandOptions({ returnBuffers: true }), key)
        if (dumped !== null) parts.push(dumped.toString('latin1'))
        parts.push(JSON.stringify(await contents(client, key)))
      }
      return parts.join('\n').toLowerCase()
    } finally {
      await client.quit()
    }
  }
  throw new Error(`no raw read for ${db.engine}`)
}

async function contents (client: ReturnType<typeof createClient>, key: string): Promise<unknown> {
  switch (await client.type(key)) {
    case 'string': return client.get(key)
    case 'hash': return client.hGetAll(key)
    case 'set': return client.sMembers(key)
    case 'zset': return client.zRange(key, 0, -1)
    case 'list': return client.lRange(key, 0, -1)
    default: return null
  }
}

/** Which of `values` occur in `raw` (compared lowercased). */
export function found (raw: string, values: string[]): string[] {
  return values.filter((value) => raw.includes(value.toLowerCase()))
}
