// Runs raw jackson (no plugin) in a process of its own, because jackson leaves timers and retry loops
// behind that would keep a test process alive. Prints one JSON line with what it measured, then exits.
import { controllers } from '@boxyhq/saml-jackson'

const quiet = { info () {}, warn () {}, error () {} }
const mode = process.argv[2]

if (mode === 'interleaved') {
  // 2 tenants × 20 creates, interleaved, straight into requests.handle on the mem engine.
  const jackson = await controllers({ externalUrl: 'http://127.0.0.1', samlPath: '/sso', db: { engine: 'mem' }, noAnalytics: true, logger: quiet })
  const dsync = jackson.directorySyncController
  const a = (await dsync.directories.create({ tenant: 'tenant-a', product: 'app', type: 'generic-scim-v2' })).data
  const b = (await dsync.directories.create({ tenant: 'tenant-b', product: 'app', type: 'generic-scim-v2' })).data
  const creates = []
  for (let n = 0; n < 20; n++) {
    for (const [name, dir] of [['a', a], ['b', b]]) {
      creates.push(dsync.requests.handle({
        method: 'POST',
        directoryId: dir.id,
        resourceType: 'users',
        resourceId: undefined,
        apiSecret: dir.scim.secret,
        query: {},
        body: { userName: `u${n}@${name}.example.com`, name: { givenName: 'G', familyName: 'F' }, emails: [{ value: `u${n}@${name}.example.com`, primary: true }], active: true }
      }, async () => {}))
    }
  }
  const responses = await Promise.all(creates)
  // Read each created user back through the directory it was sent to.
  let wrongTenant = 0
  for (const [i, response] of responses.entries()) {
    const dir = i % 2 === 0 ? a : b
    const got = await dsync.requests.handle({ method: 'GET', directoryId: dir.id, resourceType: 'users', resourceId: response.data?.id, apiSecret: dir.scim.secret, query: {}, body: undefined }, async () => {})
    if (got.status !== 200) wrongTenant++
  }
  console.log(JSON.stringify({ created: responses.filter((r) => r.status === 201).length, wrongTenant, globalDb: typeof globalThis.__jacksonDb }))
  process.exit(0)
}

if (mode === 'unreachable') {
  // jackson's own connection loop on a database that refuses connections: does controllers() ever settle?
  let settled = false
  controllers({ externalUrl: 'http://127.0.0.1', samlPath: '/sso', db: { engine: 'sql', type: 'postgres', url: 'postgres://postgres@127.0.0.1:1/none' }, noAnalytics: true, logger: quiet })
    .then(() => { settled = true }, () => { settled = true })
  setTimeout(() => { console.log(JSON.stringify({ settledWithin3s: settled })); process.exit(0) }, 3000)
}
