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

type Directory = { id: string, scim: { secret: string } }
// The directory of a tenant (product `bench`), created if need be: `bench` is the one every scenario
// uses; the fairness scenario adds a second tenant beside it (bench/fairness.ts).
async function directoryOf (tenant: string): Promise<Directory> {
  const found = await app.directorySync.directories.getByTenantAndProduct(tenant, 'bench')
  if (found.data?.[0]) return found.data[0]
  const created = await app.directorySync.directories.create({ tenant, product: 'bench', type: 'generic-scim-v2' })
  if (created.error) throw new Error(`could not create the directory of tenant ${tenant}: ${created.error.message}`)
  return created.data
}
const directory = await directoryOf('bench')
const baseOf = (dir: Directory) => `${externalUrl}/api/scim/v2.0/${dir.id}`
const base = baseOf(directory)

// Creates users in-process, through the plugin's public `requests.handle`, until the directory holds
// `target` of them: eight callers, as an identity provider's initial sync would send them.
async function seed (dir: Directory, target: number, userName: (n: number) => string): Promise<{ users: number, ms: number }> {
  const started = Date.now()
  const call = (method: string, query: Record<string, number>, body?: unknown) => app.directorySync.requests.handle({
    method, directoryId: dir.id, resourceType: 'users', resourceId: undefined, apiSecret: dir.scim.secret, query, body
  })
  const counted = await call('GET', { count: 0 })
  if (counted.status !== 200) throw new Error(`counting the users of ${dir.id} answered ${counted.status}`)
  const have = Number(counted.data?.totalResults ?? 0)
  let next = have
  const worker = async () => {
    while (next < target) {
      const n = next++
      const { status } = await call('POST', {}, scimUser(userName(n)))
      if (status !== 201) throw new Error(`seeding user ${n} answered ${status}`)
    }
  }
  await Promise.all(Array.from({ length: 8 }, worker))
  return { users: Math.max(0, target - have), ms: Date.now() - started }
}
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
// Another tenant's directory, filled to `users` users in-process: its base URL and token (bench/fairness.ts).
app.post<{ Body: { tenant: string, users: number } }>(`${INSPECT}/tenant`, async (request) => {
  const { tenant, users } = request.body
  const dir = await directoryOf(tenant)
  const seeded = await seed(dir, users, (n) => `${tenant}.${n}@tenant.example.com`)
  return { base: baseOf(dir), token: dir.scim.secret, directoryId: dir.id, seeded }
})
// bench/profile.ts: a CPU profile of one run (the profiler is loaded only when asked for).
app.post(`${INSPECT}/profile/start`, async () => (await import('./profiler.js')).startProfile())
app.post(`${INSPECT}/profile/stop`, async () => (await import('./profiler.js')).stopProfile())
app.post(`${INSPECT}/heap/start`, async () => (await import('./profiler.js')).startHeapSampling())
app.post(`${INSPECT}/heap/stop`, async () => (await import('./profiler.js')).stopHeapSampling())

const seeded = seedUsers > 0 ? await seed(directory, seedUsers, (n) => `seed.${n}@scale.example.com`) : undefined

await app.listen({ port, host: '127.0.0.1' })
announce({ base, token: directory.scim.secret, directoryId: directory.id, seeded })

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => { app.close().then(() => process.exit(0), () => process.exit(1)) })
}
