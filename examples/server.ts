// The example host app: a Fastify server with directory sync on a sqlite file in ./data.
// On first start it creates a demo directory and prints its SCIM base URL and token for the person
// running it (on standard output, never through the logger, which must not carry secrets).
//   npm run example          PORT=3000 HOST=127.0.0.1 EXTERNAL_URL=http://127.0.0.1:3000 DATA_DIR=./data
import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import Fastify from 'fastify'
import fastifyDirectorySync from '../src/index.js'

const port = Number(process.env.PORT ?? 3000)
const host = process.env.HOST ?? '127.0.0.1'
const externalUrl = process.env.EXTERNAL_URL ?? `http://${host}:${port}`
const dataDir = resolve(process.env.DATA_DIR ?? 'data')
mkdirSync(dataDir, { recursive: true })

const app = Fastify({ logger: { level: process.env.LOG_LEVEL ?? 'info' } })
await app.register(fastifyDirectorySync, {
  db: { engine: 'sql', type: 'sqlite', url: join(dataDir, 'dsync.db') },
  externalUrl
})

// A host route using the decorator: what a customer's directory holds.
app.get<{ Params: { directoryId: string } }>('/directories/:directoryId/users', async (request, reply) => {
  const { data, error } = await app.directorySync.users.list(request.params.directoryId)
  if (error) return reply.code(error.code).send({ error: error.message })
  return data
})

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
  ''
].join('\n') + '\n')

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => { app.close().then(() => process.exit(0), () => process.exit(1)) })
}
