// An ESM consumer of the built package (resolved through package.json "exports", by the package's own name).
import Fastify from 'fastify'
import fastifyDirectorySync, { fastifyDirectorySync as named, errors } from 'fastify-directory-sync'

if (fastifyDirectorySync !== named) throw new Error('default and named exports differ')
if (typeof errors.InvalidOptionError !== 'function') throw new Error('errors are not exported')
const app = Fastify()
await app.register(fastifyDirectorySync, { db: { engine: 'mem' }, externalUrl: 'http://127.0.0.1' })
const { data, error } = await app.directorySync.directories.create({ tenant: 'esm', product: 'app' })
if (error || !data.scim.endpoint) throw new Error('directory not created: ' + JSON.stringify(error))
await app.close()
console.log('esm consumer: ok')
