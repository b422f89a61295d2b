// Type-checks the ESM declarations as a TypeScript consumer sees them.
import Fastify from 'fastify'
import fastifyDirectorySync, { type DirectorySyncOptions, type DirectorySyncEvent } from 'fastify-directory-sync'

const options: DirectorySyncOptions = { db: { engine: 'sql', type: 'sqlite', url: './x.db' }, externalUrl: 'http://x' }
const app = Fastify()
await app.register(fastifyDirectorySync, options)
const created = await app.directorySync.directories.create({ tenant: 't', product: 'p' })
if (created.error === null) created.data.scim.secret.toUpperCase()
export const handler = (event: DirectorySyncEvent): string => event.event
