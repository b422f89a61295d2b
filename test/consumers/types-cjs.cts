// Type-checks the CommonJS declarations as a TypeScript consumer sees them.
import Fastify = require('fastify')
import pkg = require('fastify-directory-sync')

const app = Fastify()
app.register(pkg.fastifyDirectorySync, { db: { engine: 'mem' }, externalUrl: 'http://x' })
export const users = app.directorySync.users.list('id')
