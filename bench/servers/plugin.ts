// The contender: the plugin registered as examples/server.ts does it (same event handler), with
// `logger: false`. With BENCH_SEED_USERS it first fills its directory in-process, through the
// plugin's public `requests.handle`, so that a large directory does not have to be sent over HTTP.
import Fastify from 'fastify'
import fastifyDirectorySync from '../../src/index.js'
import { announce, ENV, INSPECT, readEnv } from '../protocol.js'
import { scimUser } from '../scim.js'
import { pluginInspector } from './plugin-inspect.js'

const port = Number(readEnv(ENV.port))
const db = JSON.parse(readEnv(ENV.db))
const seedUsers = Number(readEnv(ENV.seedUsers, '0'))
const externalUrl = `http://127.0.0.1:${port}`

const app = Fastify({ logger: false })
await app.register(fastifyDirectorySync, {
  db,
  externalUrl,
  onScimEvent (event) {
    const data = event.data as { id: string, email?: string, name?: string }
    this.log.info({ event: event.event, directory: event.directory_id, id: data.id, email: data.email, group: data.name }, 'provisioning event')
  }
})

const found = await app.directorySync.directories.getByTenantAndProduct('bench', 'bench')
let directory = found.data?.[0]
if (!directory) {
  const created = await app.directorySync.directories.create({ tenant: 'bench', product: 'bench', type: 'generic-scim-v2' })
  if (created.error) throw new Error(`could not create the bench directory: ${created.error.message}`)
  directory = created.data
}
const base = `${externalUrl}/api/scim/v2.0/${directory.id}`
// The inspection routes read the plugin through its own SCIM API. They come before the seeding: no route
// can be added after the first app.inject, which makes the app ready.
const inspector = pluginInspector(app, new URL(base).pathname, directory.scim.secret)
app.get(`${INSPECT}/rss`, async () => process.memoryUsage())
// With node --expose-gc: a full collection first, to tell garbage not yet collected from memory kept.
app.post(`${INSPECT}/gc`, async () => {
  (globalThis as { gc?: () => void }).gc?.()
  return process.memoryUsage()
})
app.get<{ Querystring: { users: string, groups: string } }>(`${INSPECT}/sample`, (request) =>
  inspector.sample(Number(request.query.users), Number(request.query.groups)))
app.get(`${INSPECT}/stored`, () => inspector.stored())
app.post<{ Body: { groupIds: string[] } }>(`${INSPECT}/members`, (request) => inspector.members(request.body.groupIds))
// bench/profile.ts: a CPU profile of one run (the profiler is loaded only when asked for).
app.post(`${INSPECT}/profile/start`, async () => (await import('./profiler.js')).startProfile())
app.post(`${INSPECT}/profile/stop`, async () => (await import('./profiler.js')).stopProfile())
app.post(`${INSPECT}/heap/start`, async () => (await import('./profiler.js')).startHeapSampling())
app.post(`${INSPECT}/heap/stop`, async () => (await import('./profiler.js')).stopHeapSampling())

let seeded: { users: number, ms: number } | undefined
if (seedUsers > 0) {
  const started = Date.now()
  const { users: have } = await inspector.stored()
  let next = have
  // Eight callers, as an identity provider's initial sync would send them.
  const worker = async () => {
    while (next < seedUsers) {
      const n = next++
      const { status } = await app.directorySync.requests.handle({
        method: 'POST', directoryId: directory.id, resourceType: 'users', resourceId: undefined, apiSecret: directory.scim.secret, query: {}, body: scimUser(`seed.${n}@scale.example.com`)
      })
      if (status !== 201) throw new Error(`seeding user ${n} answered ${status}`)
    }
  }
  await Promise.all(Array.from({ length: 8 }, worker))
  seeded = { users: seedUsers - have, ms: Date.now() - started }
}

await app.listen({ port, host: '127.0.0.1' })
announce({ base, token: directory.scim.secret, directoryId: directory.id, seeded })

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => { app.close().then(() => process.exit(0), () => process.exit(1)) })
}
