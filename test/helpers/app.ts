// A fresh Fastify app with the plugin registered, closed when the test ends.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import fastifyDirectorySync, { type DbOptions, type DirectorySyncOptions } from '../../src/index.js'

export const externalUrl = 'http://127.0.0.1:3000'

export async function buildApp (t: Test, db: DbOptions, options: Partial<DirectorySyncOptions> = {}): Promise<FastifyInstance> {
  return buildAppWith(t, db, options, async () => {})
}

/** buildApp, with more registered after the plugin (before ready). */
export async function buildAppWith (t: Test, db: DbOptions, options: Partial<DirectorySyncOptions>, more: (app: FastifyInstance) => Promise<void>): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  t.after(() => app.close())
  await app.register(fastifyDirectorySync, { db, externalUrl, ...options })
  await more(app)
  await app.ready()
  return app
}

/** A sqlite file in a temporary folder that is removed when the test ends. */
export function sqliteFile (t: Test, name = 'dsync.db'): DbOptions {
  const folder = mkdtempSync(join(tmpdir(), 'dsync-test-'))
  t.after(() => rmSync(folder, { recursive: true, force: true }))
  return { engine: 'sql', type: 'sqlite', url: join(folder, name) }
}

export const mem: DbOptions = { engine: 'mem' }

/** A SCIM user body as identity providers send it. */
export function scimUser (userName: string, extra: Record<string, unknown> = {}) {
  const [givenName, familyName] = userName.split('@')[0].split('.')
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    userName,
    name: { givenName: givenName ?? 'Given', familyName: familyName ?? 'Family' },
    emails: [{ value: userName, primary: true, type: 'work' }],
    active: true,
    ...extra
  }
}
