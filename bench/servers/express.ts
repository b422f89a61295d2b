// Reference (c): raw jackson behind a minimal Express app, wired as jackson's Express guide does it: one
// catch-all route handing the params, the bearer token, count/startIndex/filter and the parsed body to
// `directorySyncController.requests.handle`. express@4: the optional `:resourceId?` throws on Express 5.
import express from 'express'
import { controllers } from '@boxyhq/saml-jackson'
import { announce, ENV, INSPECT, readEnv } from '../protocol.js'

const port = Number(readEnv(ENV.port))
const db = JSON.parse(readEnv(ENV.db))
const externalUrl = `http://127.0.0.1:${port}`
const quiet = { info () {}, warn () {}, error () {} }

const jackson = await controllers({ externalUrl, samlPath: '/sso', scimPath: '/api/scim', db, noAnalytics: true, logger: quiet } as never)
const { directorySyncController } = jackson

const found = await directorySyncController.directories.getByTenantAndProduct('bench', 'bench')
const directory = found.data?.[0] ?? (await directorySyncController.directories.create({ tenant: 'bench', product: 'bench', type: 'generic-scim-v2' })).data
if (!directory) throw new Error('could not create the bench directory')

const app = express()
const router = express.Router()
app.use(express.json({ type: ['application/json', 'application/scim+json'] }))

// As in the guide; the event callback does what the plugin's example handler does with a disabled logger:
// nothing. One addition: Express 4 does not catch a rejected handler, so a throw from jackson (it throws
// for some requests instead of answering) would end the process; here it answers 500 and the run goes on.
router.all('/api/scim/:directoryId/:resourceType/:resourceId?', (req, res, next) => { handle(req, res).catch(next) })

async function handle (req: express.Request, res: express.Response) {
  const { params, method, body, headers, query } = req
  const { directoryId, resourceType, resourceId } = params
  const authToken = headers.authorization?.split(' ')[1] ?? null
  const request = {
    method,
    body,
    directoryId,
    resourceId,
    resourceType: resourceType.toLowerCase(),
    apiSecret: authToken,
    query: {
      count: query.count ? parseInt(query.count as string) : undefined,
      startIndex: query.startIndex ? parseInt(query.startIndex as string) : undefined,
      filter: query.filter as string | undefined
    }
  }
  const { status, data } = await directorySyncController.requests.handle(request as never, async () => {})
  return res.status(status).json(data)
}

// What it stored is read by the driver from the database itself (bench/jackson-store.ts).
router.get(`${INSPECT}/rss`, (_req, res) => { res.json({ rss: process.memoryUsage().rss }) })
router.post(`${INSPECT}/profile/:what`, (req, res, next) => {
  import('./profiler.js')
    .then(({ startProfile, stopProfile }) => req.params.what === 'start' ? startProfile() : stopProfile())
    .then((result) => { res.json(result) }, next)
})
app.use(router)

app.listen(port, '127.0.0.1', () => {
  announce({ base: `${externalUrl}/api/scim/${directory.id}`, token: directory.scim.secret, directoryId: directory.id })
})

// A clean exit on SIGTERM, so that node --cpu-prof writes its profile.
process.once('SIGTERM', () => process.exit(0))
