// Reference (a), the engine's own limit: jackson's directory sync called in-process, without HTTP. It
// loads jackson's parts the way the plugin does (src/engine/jackson.ts) and answers the driver's
// requests to run a scenario, replayed on `requests.handle` by concurrent async loops.
import Fastify from 'fastify'
import { withDefaults } from '../../src/engine/database.js'
import { createDirectorySync, openJacksonDb, type JacksonOptions } from '../../src/engine/jackson.js'
import { inProcessRunner } from '../inprocess-runner.js'
import { jacksonStoreInspector } from '../jackson-store.js'
import { announce, ENV, INSPECT, readEnv } from '../protocol.js'
import { runScenario, type RunData } from '../scenarios.js'

const port = Number(readEnv(ENV.port))
const externalUrl = `http://127.0.0.1:${port}`
const quiet = { info () {}, warn () {}, error () {} }
const db = withDefaults(JSON.parse(readEnv(ENV.db))) as JacksonOptions['db']
const opts: JacksonOptions = { externalUrl, samlPath: '/sso', scimPath: '/api/scim', db, logger: quiet, noAnalytics: true }
const dsync = await createDirectorySync(await openJacksonDb(db, quiet), opts)

const found = await dsync.directories.getByTenantAndProduct('bench', 'bench')
const directory = found.data?.[0] ?? (await dsync.directories.create({ tenant: 'bench', product: 'bench', type: 'generic-scim-v2' })).data
if (!directory) throw new Error('could not create the bench directory')

// What a run stored is read on a connection of its own: jackson's may hold writes it never commits.
const inspector = jacksonStoreInspector(db as { type: 'sqlite' | 'postgres', url: string })
const runner = inProcessRunner((op) => dsync.requests.handle({
  method: op.method,
  directoryId: directory.id,
  resourceType: op.resourceType.toLowerCase(),
  resourceId: op.id,
  apiSecret: directory.scim.secret,
  query: op.query ?? {},
  body: op.body
}, async () => {}))

// The control channel: idle while a run is in flight.
const app = Fastify({ logger: false, bodyLimit: 64 * 1024 * 1024 })
app.get(`${INSPECT}/rss`, async () => ({ rss: process.memoryUsage().rss }))
app.post<{ Body: RunData }>(`${INSPECT}/run`, (request) => runScenario(request.body, runner, inspector))
app.post(`${INSPECT}/profile/start`, async () => (await import('./profiler.js')).startProfile())
app.post(`${INSPECT}/profile/stop`, async () => (await import('./profiler.js')).stopProfile())

await app.listen({ port, host: '127.0.0.1' })
announce({ base: `${externalUrl}/in-process/${directory.id}`, token: directory.scim.secret, directoryId: directory.id })

// A clean exit on SIGTERM, so that node --cpu-prof writes its profile.
process.once('SIGTERM', () => process.exit(0))
