// Reference (b), the HTTP ceiling: a bare Fastify app answering every SCIM route the scenarios use with
// a fixed SCIM user (or a list of one), no database, no auth. Given a sqlite db (the cold start's
// reference), it opens that file and reads it for each list, as the least an app on it does.
import Fastify from 'fastify'
import { announce, ENV, INSPECT, readEnv } from '../protocol.js'
import { scimUser } from '../scim.js'

const port = Number(readEnv(ENV.port))
const externalUrl = `http://127.0.0.1:${port}`
const base = '/api/scim/v2.0/:directoryId'
const user = { ...scimUser('jane.doe@example.com'), id: '2819c223-7f76-453a-919d-413861904646' }
const list = { schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 1, startIndex: 1, itemsPerPage: 1, Resources: [user] }

const app = Fastify({ logger: false })
app.addContentTypeParser('application/scim+json', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'ignore'))
const send = (status: number, body: unknown) => (_request: unknown, reply: any) => reply.code(status).type('application/scim+json').send(body)
app.get(`${base}/Users/:id`, send(200, user))
const db = process.env[ENV.db] === undefined ? undefined : JSON.parse(readEnv(ENV.db)) as { type?: string, url?: string }
if (db?.type === 'sqlite' && db.url !== undefined) {
  const { default: Database } = await import('better-sqlite3')
  const count = new Database(db.url, { readonly: true }).prepare('SELECT count(*) AS n FROM sqlite_master')
  app.get(`${base}/Users`, (_request, reply) => { count.get(); return send(200, list)(_request, reply) })
} else {
  app.get(`${base}/Users`, send(200, list))
}
app.post(`${base}/Users`, send(201, user))
app.patch(`${base}/Users/:id`, send(200, user))
app.get(`${INSPECT}/rss`, async () => ({ rss: process.memoryUsage().rss }))

await app.listen({ port, host: '127.0.0.1' })
announce({ base: `${externalUrl}/api/scim/v2.0/bare`, token: 'none', directoryId: 'bare' })

// A clean exit on SIGTERM, so that node --cpu-prof writes its profile.
process.once('SIGTERM', () => process.exit(0))
