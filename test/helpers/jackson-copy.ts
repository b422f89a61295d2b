// How many users jackson's copy holds, counted in jackson's own table on MariaDB (its rows are keyed by
// namespace; their values may be ciphertext), on a connection closed when the test ends.
import mysql from 'mysql2/promise'
import type { Test } from 'tap'
import type { DbOptions } from '../../src/index.js'

export async function jacksonUserCount (t: Test, db: DbOptions): Promise<() => Promise<number>> {
  const connection = await mysql.createConnection({ uri: (db as { url: string }).url.replace(/^mariadb:/, 'mysql:') })
  t.teardown(() => connection.end())
  return async () => {
    const [rows] = await connection.query("SELECT COUNT(*) AS n FROM jackson_store WHERE `key` LIKE 'dsync:users:%'")
    return Number((rows as Array<{ n: number }>)[0].n)
  }
}
