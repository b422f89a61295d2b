// The example host app: a Fastify server with directory sync on a sqlite file in ./data, and an admin
// page at / (examples/admin: directories, tokens, users, groups, live events, setup links).
// On first start it creates a demo directory and prints its SCIM base URL and token for the person
// running it, and on every start the admin page's password (on standard output, never through the
// logger, which must not carry secrets): random each start unless ADMIN_PASSWORD is set.
//   npm run example          PORT=3000 HOST=127.0.0.1 EXTERNAL_URL=http://127.0.0.1:3000 DATA_DIR=./data
// More directories: npm run directory -- create --tenant acme
import { randomBytes } from 'node:crypto'
import Fastify from 'fastify'
import fastifyDirectorySync, { clientErrorHandler, frameworkErrors } from '../src/index.js'
import { externalUrl, host, pluginOptions, port } from './config.js'
import { adminPage } from './admin/plugin.js'

const app = Fastify({
  logger: { level: process.env.LOG_LEVEL ?? 'info' },
  // Errors Fastify answers before any route runs (a URL that does not decode, headers too large) are
  // SCIM errors under the SCIM path too.
  frameworkErrors,
  clientErrorHandler,
  // A client that sends its request slowly is cut off instead of holding a connection for ever.
  connectionTimeout: 60_000,
  requestTimeout: 30_000,
  keepAliveTimeout: 10_000
})
await app.register(fastifyDirectorySync, {
  ...pluginOptions(),
  // Where a real app would create, update or revoke accounts.
  onScimEvent (event) {
    const data = event.data as { id: string, email?: string, name?: string }
    this.log.info({ event: event.event, directory: event.directory_id, id: data.id, email: data.email, group: data.name }, 'provisioning event')
  }
})

// A host route using the decorator: what a customer's directory holds.
app.get<{ Params: { directoryId: string } }>('/directories/:directoryId/users', async (request, reply) => {
  const { data, error } = await app.directorySync.users.list(request.params.directoryId)
  if (error) return reply.code(error.code).send({ error: error.message })
  return data
})

// The admin page at /, its API at /admin/api and the setup-link pages at /setup.
const adminPassword = process.env.ADMIN_PASSWORD || randomBytes(12).toString('base64url')
await app.register(adminPage, { password: adminPassword, externalUrl })

const existing = await app.directorySync.directories.getByTenantAndProduct('demo', 'demo-app')
let directory = existing.data?.[0]
if (!directory) {
  const created = await app.directorySync.directories.create({ tenant: 'demo', product: 'demo-app', name: 'Demo directory', type: 'generic-scim-v2' })
  if (created.error) throw new Error(`could not create the demo directory: ${created.error.message}`)
  directory = created.data
}

await app.listen({ port, host })
process.stdout.write([
  '',
  `Demo directory ${directory.id} (tenant "demo", product "demo-app")`,
  `  SCIM base URL: ${directory.scim.endpoint}`,
  `  SCIM token:    ${directory.scim.secret}`,
  `  Its users:     ${externalUrl}/directories/${directory.id}/users`,
  '',
  `Admin page: ${externalUrl}/`,
  `  Password:      ${process.env.ADMIN_PASSWORD ? '(ADMIN_PASSWORD)' : adminPassword}`,
  ''
].join('\n') + '\n')

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => { app.close().then(() => process.exit(0), () => process.exit(1)) })
}
