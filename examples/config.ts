// The example's settings, shared by the server and the directory command so that both use the same
// database file:  PORT=3000 HOST=127.0.0.1 EXTERNAL_URL=http://127.0.0.1:3000 DATA_DIR=./data
import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { DirectorySyncOptions } from '../src/index.js'

export const port = Number(process.env.PORT ?? 3000)
export const host = process.env.HOST ?? '127.0.0.1'
export const externalUrl = process.env.EXTERNAL_URL ?? `http://${host}:${port}`
const dataDir = resolve(process.env.DATA_DIR ?? 'data')

export function pluginOptions (): DirectorySyncOptions {
  mkdirSync(dataDir, { recursive: true })
  return { db: { engine: 'sql', type: 'sqlite', url: join(dataDir, 'dsync.db') }, externalUrl }
}
