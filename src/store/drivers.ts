// The database drivers that only some engines need, loaded when one is first used: the Redis client
// alone is over 500 modules, which a process on sqlite or PostgreSQL never needs (cold start).
// better-sqlite3 stays a static import: it is small, and the sqlite client prepares statements
// synchronously.
import type * as Redis from 'redis'
import type Pg from 'pg'
import type Mysql from 'mysql2/promise'

/** A CommonJS module's exports, whether Node gives them as the namespace or as its default. */
const exportsOf = <T>(namespace: unknown): T => ((namespace as { default?: T }).default ?? namespace) as T

let redis: Promise<typeof Redis> | undefined
let pg: Promise<typeof Pg> | undefined
let mysql: Promise<typeof Mysql> | undefined

export const loadRedis = (): Promise<typeof Redis> => (redis ??= import('redis').then((m) => ('createClient' in m ? m : exportsOf<typeof Redis>(m))))
export const loadPg = (): Promise<typeof Pg> => (pg ??= import('pg').then((m) => exportsOf<typeof Pg>(m)))
export const loadMysql = (): Promise<typeof Mysql> => (mysql ??= import('mysql2/promise').then((m) => exportsOf<typeof Mysql>(m)))

/** `make` run once, on first use; its answer (or failure) given to every caller; `started()` says whether it was. */
export function onFirstUse<T> (make: () => Promise<T>): (() => Promise<T>) & { started(): boolean } {
  let made: Promise<T> | undefined
  return Object.assign(() => (made ??= make()), { started: () => made !== undefined })
}
