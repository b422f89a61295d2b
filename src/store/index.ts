// Opens the resource store on the database the plugin was given.
import type { JacksonOptions } from '../engine/jackson.js'
import { openMemoryStore } from './memory.js'
import { openRedisStore } from './redis.js'
import { openSqlStore } from './sql.js'
import type { ResourceStore } from './types.js'

export async function openStore (db: JacksonOptions['db']): Promise<ResourceStore> {
  if (db.engine === 'sql') return openSqlStore({ type: db.type, url: db.url, ssl: db.ssl })
  if (db.engine === 'redis') return openRedisStore(db.url)
  return openMemoryStore()
}

export * from './types.js'
