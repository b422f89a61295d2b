// Each bad option is refused at registration with FST_DSYNC_INVALID_OPTION, naming the option.
import Fastify from 'fastify'
import t from 'tap'
import fastifyDirectorySync from '../src/index.js'
import { resolveOptions } from '../src/options.js'
import { externalUrl } from './helpers/app.js'

const cases: Array<[string, Record<string, unknown>, string, RegExp?]> = [
  ['no db', { externalUrl }, 'db', /PostgreSQL on localhost/],
  ['db not an object', { db: 'sqlite', externalUrl }, 'db'],
  ['unknown engine', { db: { engine: 'mongo', url: 'mongodb://x' }, externalUrl }, 'db.engine'],
  ['unknown sql type', { db: { engine: 'sql', type: 'oracle', url: 'x' }, externalUrl }, 'db.type'],
  ['sql without url', { db: { engine: 'sql', type: 'postgres' }, externalUrl }, 'db.url'],
  ['redis without url', { db: { engine: 'redis' }, externalUrl }, 'db.url'],
  ['unknown db option', { db: { engine: 'mem', pool: 3 }, externalUrl }, 'db.pool'],
  ['bad pageLimit', { db: { engine: 'mem', pageLimit: 0 }, externalUrl }, 'db.pageLimit'],
  ['short encryptionKey', { db: { engine: 'mem', encryptionKey: 'short' }, externalUrl }, 'db.encryptionKey'],
  ['no externalUrl', { db: { engine: 'mem' } }, 'externalUrl'],
  ['relative externalUrl', { db: { engine: 'mem' }, externalUrl: 'app.example.com' }, 'externalUrl', /absolute URL/],
  ['ftp externalUrl', { db: { engine: 'mem' }, externalUrl: 'ftp://app.example.com' }, 'externalUrl'],
  ['scimPath without leading slash', { db: { engine: 'mem' }, externalUrl, scimPath: 'scim' }, 'scimPath'],
  ['telemetry turned on', { db: { engine: 'mem' }, externalUrl, noAnalytics: false }, 'noAnalytics'],
  ['connectTimeout 0', { db: { engine: 'mem' }, externalUrl, connectTimeout: 0 }, 'connectTimeout'],
  ['unknown option', { db: { engine: 'mem' }, externalUrl, webhookUrl: 'x' }, 'webhookUrl'],
  ['a misspelt sql type names the allowed ones', { db: { engine: 'sql', type: 'postgress', url: 'x' }, externalUrl }, 'db.type',
    /expected "postgres", "mysql", "mariadb" or "sqlite", got "postgress"/],
  ['authFailures true names what it takes', { db: { engine: 'mem' }, externalUrl, authFailures: true }, 'authFailures', /expected false or an object, got true/],
  ['externalUrl with a query', { db: { engine: 'mem' }, externalUrl: 'https://app.example.com/?tenant=1' }, 'externalUrl', /without a query or fragment/],
  ['externalUrl with a fragment', { db: { engine: 'mem' }, externalUrl: 'https://app.example.com/#x' }, 'externalUrl', /without a query or fragment/],
  ['a register prefix without a leading slash', { db: { engine: 'mem' }, externalUrl, prefix: 'tenant' }, 'prefix'],
  ['a register logLevel that is not a name', { db: { engine: 'mem' }, externalUrl, logLevel: 3 }, 'logLevel']
]

for (const [name, options, option, detail] of cases) {
  t.test(name, async (t) => {
    const app = Fastify()
    t.after(() => app.close().catch(() => {}))
    await t.rejects(async () => { await app.register(fastifyDirectorySync, options as any) }, {
      code: 'FST_DSYNC_INVALID_OPTION',
      message: new RegExp(`invalid option "${option.replace('.', '\\.')}"`)
    })
    if (detail) t.throws(() => resolveOptions(options), { message: detail })
  })
}

t.test('defaults', async (t) => {
  const resolved = resolveOptions({ db: { engine: 'mem' }, externalUrl: 'https://app.example.com/' })
  t.same(resolved, {
    db: { engine: 'mem' },
    externalUrl: 'https://app.example.com',
    scimPath: '/api/scim/v2.0',
    samlPath: '/api/oauth/saml',
    connectTimeout: 10_000,
    bodyLimit: 8_388_608,
    openapi: true,
    limits: {
      operationsPerPatch: 1000,
      valuesPerAttribute: 50_000,
      attributeNames: 200,
      filterTerms: 64,
      filterDepth: 20,
      jsonDepth: 32,
      resourceBytes: 32_768,
      membersPerPage: 10_000
    },
    fairness: { concurrency: 1, queue: 16, retryAfter: 1 },
    authFailures: { max: 20, windowMs: 60_000 },
    onScimEvent: undefined,
    metrics: {},
    jacksonCopy: true,
    events: { budget: 3000, maxAttempts: 8, backoff: 1000, maxBackoff: 300_000, handlerTimeout: 30_000, lease: 3000, pollInterval: 1000, webhookTimeout: 10_000, lifecycleWebhooks: false, retention: 2_592_000_000, failedRetention: 7_776_000_000 },
    routes: {}
  })
})

t.test('Fastify\'s register options: prefix joins scimPath, logLevel and logSerializers go to the SCIM routes', async (t) => {
  const serializers = { req: () => 'r' }
  const resolved = resolveOptions({ db: { engine: 'mem' }, externalUrl, prefix: '/tenant-api/', scimPath: '/scim/v2/', logLevel: 'warn', logSerializers: serializers })
  t.equal(resolved.scimPath, '/tenant-api/scim/v2')
  t.same(resolved.routes, { logLevel: 'warn', logSerializers: serializers })
})

t.test('limits, fairness and authFailures: given values replace the defaults one by one; unknown names are refused', async (t) => {
  const resolved = resolveOptions({ db: { engine: 'mem' }, externalUrl, limits: { jsonDepth: 8 }, fairness: { queue: 0 }, authFailures: { max: 3 } })
  t.equal(resolved.limits.jsonDepth, 8)
  t.equal(resolved.limits.operationsPerPatch, 1000, 'the others keep their defaults')
  t.same(resolved.fairness, { concurrency: 1, queue: 0, retryAfter: 1 })
  t.same(resolved.authFailures, { max: 3, windowMs: 60_000 })
  t.equal(resolveOptions({ db: { engine: 'mem' }, externalUrl, authFailures: false }).authFailures, undefined, 'false turns the limit off')
  t.throws(() => resolveOptions({ db: { engine: 'mem' }, externalUrl, limits: { depth: 3 } }), { code: 'FST_DSYNC_INVALID_OPTION', message: /limits/ })
  t.throws(() => resolveOptions({ db: { engine: 'mem' }, externalUrl, limits: { jsonDepth: 0 } }), { code: 'FST_DSYNC_INVALID_OPTION', message: /limits\.jsonDepth/ })
})

t.test('a 32-byte base64 encryptionKey is accepted', async (t) => {
  const key = Buffer.alloc(32, 7).toString('base64')
  t.equal(resolveOptions({ db: { engine: 'mem', encryptionKey: key }, externalUrl }).db.encryptionKey, key)
})

t.test('events: the lease is independent of handlerTimeout (a heartbeat renews it), and at least 300 ms', async (t) => {
  t.throws(() => resolveOptions({ db: { engine: 'mem' }, externalUrl, events: { lease: 299 } }), { code: 'FST_DSYNC_INVALID_OPTION', message: /events\.lease/ })
  t.equal(resolveOptions({ db: { engine: 'mem' }, externalUrl, events: { handlerTimeout: 30_000, lease: 2000 } }).events.lease, 2000, 'shorter than handlerTimeout')
  t.throws(() => resolveOptions({ db: { engine: 'mem' }, externalUrl, events: { retries: 3 } }), { code: 'FST_DSYNC_INVALID_OPTION', message: /events/ })
})
