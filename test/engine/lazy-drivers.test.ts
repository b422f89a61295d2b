// Only the configured engine's driver is loaded (cold start): a process serving SCIM on sqlite never
// loads the Redis client, pg, mysql2, MongoDB or the AWS SDK (jackson's db.js requires the last three
// and its Redis client when it loads: engine/lazy-drivers.ts defers them). And the requires that
// deferral relies on are pinned, so that a jackson release that renames them is noticed.
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { DEFERRED_DRIVERS, DEFERRED_ENTITIES, DEFERRED_GOOGLE, DEFERRED_MODULES, NativeRipemd160, RIPEMD160_MODULE } from '../../src/engine/lazy-drivers.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const require = createRequire(import.meta.url)

t.test('jackson\'s db.js requires the drivers that are deferred (workaround: engine/lazy-drivers.ts)', async (t) => {
  const source = readFileSync(require.resolve('@boxyhq/saml-jackson/dist/db/db.js'), 'utf8')
  for (const driver of DEFERRED_DRIVERS) t.match(source, `require("${driver}")`, `db.js requires ${driver}`)
  t.match(source, /\.default\.new\(/, 'and uses each through default.new()')
  // jackson's typeorm entities: read only where db.js builds its own SQL driver, which it does not when
  // given one (engine/jackson-driver.ts).
  for (const entity of DEFERRED_ENTITIES) t.match(source, `require("${entity}")`, `db.js requires ${entity}`)
  t.match(source, /if \('driver' in dbOpts\) \{\s+return new DB\(dbOpts\.driver, encryptionKey/, 'and takes a driver it is given before building any')
})

t.test('jackson\'s directory sync requires its Google provider where it is deferred (workaround: engine/lazy-drivers.ts)', async (t) => {
  for (const { parent, request } of DEFERRED_GOOGLE) {
    const source = readFileSync(require.resolve(`@boxyhq/saml-jackson/${parent}`), 'utf8')
    t.match(source, `require("${request}")`, `${parent} requires ${request}`)
    t.match(source, /newGoogleProvider\)\(\{/, 'and uses only its newGoogleProvider()')
  }
  const google = readFileSync(require.resolve('@boxyhq/saml-jackson/dist/directory-sync/non-scim/google/index.js'), 'utf8')
  t.match(google, /directory: new api_1\.GoogleProvider/, 'whose provider has `directory`')
  t.match(google, /oauth: new oauth_1\.GoogleAuth/, 'and `oauth`, the two objects the stand-in stands for')
})

t.test('the libraries deferred where they are required are used only inside calls there (workaround: engine/lazy-drivers.ts)', async (t) => {
  const sourceOf = (parent: string) => readFileSync(require.resolve(parent), 'utf8')
  const utils = sourceOf('@boxyhq/saml-jackson/dist/controller/utils.js')
  t.match(utils, 'const saml20_1 = __importDefault(require("@boxyhq/saml20"));', 'controller/utils.js requires @boxyhq/saml20 through __importDefault')
  t.same(utils.match(/saml20_1\.[\w.]+/g), ['saml20_1.default.WrapError'], 'and uses only its WrapError, inside getErrorMessage()')
  const axios = sourceOf('@boxyhq/saml-jackson/dist/event/axios.js')
  t.match(axios, 'const axios_1 = __importDefault(require("axios"));', 'event/axios.js requires axios through __importDefault')
  t.same(axios.match(/axios_1\.[\w.]+/g), ['axios_1.default.create'], 'and uses only axios.create, inside createAxiosInstance()')
  const init = sourceOf('@boxyhq/metrics/dist/init.js')
  for (const { request } of DEFERRED_MODULES.filter((d) => d.parent === '@boxyhq/metrics/dist/init.js')) {
    t.match(init, new RegExp(`const (\\w+) = require\\("${request.replace(/[/.]/g, '\\$&')}"\\);`), `@boxyhq/metrics' init.js requires ${request}`)
  }
  t.match(init, /^function initializeMetrics\(/m, 'and uses them inside initializeMetrics(), which only jackson\'s controllers() calls')
  for (const { request, esModule } of DEFERRED_MODULES) {
    t.equal(require(request).__esModule === true, esModule, `${request} says __esModule: ${esModule}, as its stand-in answers`)
  }
})

t.test('jackson digests its keys with the ripemd160 package; node:crypto gives the same digests (workaround: engine/lazy-drivers.ts)', async (t) => {
  const utils = readFileSync(require.resolve(RIPEMD160_MODULE.parent), 'utf8')
  t.match(utils, 'const ripemd160_1 = __importDefault(require("ripemd160"));', 'db/utils.js requires ripemd160 through __importDefault')
  t.same(utils.match(/ripemd160_1\.[^;]+/g), ['ripemd160_1.default().update(k).digest(\'hex\')'], 'and uses it only as new RIPEMD160().update(k).digest(\'hex\') in keyDigest')
  const Package = require('ripemd160') as new () => { update: (data: string | Buffer) => { digest: (encoding?: string) => string | Buffer } }
  const inputs = ['', 'abc', 'dsync:users:acme:app:2819c223-7f76-453a-919d-413861904646', 'Zoë Ångström ✓ 𝄞', 'x'.repeat(100_000)]
  for (const input of inputs) {
    t.equal(new NativeRipemd160().update(input).digest('hex'), new Package().update(input).digest('hex'), `the same hex digest of ${JSON.stringify(input.slice(0, 40))}`)
  }
  const bytes = Buffer.from([0, 1, 2, 255])
  t.same(new NativeRipemd160().update(bytes).digest(), new Package().update(bytes).digest(), 'and of bytes, as a Buffer')
})

// A child process: register on a sqlite file, answer one SCIM request, then list the packages loaded.
const CHILD = `
import Fastify from 'fastify'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRequire } from 'node:module'
import plugin from './src/index.ts'
const app = Fastify()
await app.register(plugin, { db: { engine: 'sql', type: process.argv[1], url: process.argv[2] || join(mkdtempSync(join(tmpdir(), 'lazy-')), 'd.db') }, externalUrl: 'http://127.0.0.1:3000' })
const { data } = await app.directorySync.directories.create({ tenant: 't', product: 'p' })
const res = await app.inject({ url: new URL(data.scim.endpoint).pathname + '/Users', headers: { authorization: 'Bearer ' + data.scim.secret } })
await app.close()
const loaded = Object.keys(createRequire(import.meta.url).cache)
console.log(JSON.stringify({ status: res.statusCode, loaded }))
`

function run (type: string, url = ''): Promise<{ status: number, loaded: string[] }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD, type, url], { cwd: root, timeout: 60_000 }, (err, stdout) => {
      if (err !== null) return reject(err)
      resolve(JSON.parse(stdout.trim().split('\n').pop()!))
    })
  })
}

const has = (loaded: string[], pkg: string) => loaded.some((file) => file.includes(`/node_modules/${pkg}/`))

t.test('on sqlite: no Redis client, pg, mysql2, MongoDB or AWS SDK is loaded', async (t) => {
  const { status, loaded } = await run('sqlite')
  t.equal(status, 200, 'SCIM answered')
  t.ok(has(loaded, 'better-sqlite3'), 'the sqlite driver is loaded')
  for (const pkg of ['@redis/client', 'pg', 'mysql2', 'mongodb', '@aws-sdk/client-dynamodb', '@googleapis/admin', 'google-auth-library']) t.notOk(has(loaded, pkg), `${pkg} is not`)
  for (const pkg of ['@boxyhq/saml20', 'axios', '@opentelemetry/exporter-metrics-otlp-http', '@opentelemetry/sdk-metrics']) t.notOk(has(loaded, pkg), `${pkg} is not (used only inside calls)`)
  t.notOk(has(loaded, 'ripemd160'), 'nor ripemd160 (node:crypto digests jackson\'s keys)')
})

// The deferred libraries' stand-ins give the real modules on first use.
const MODULES_CHILD = `
import { createRequire } from 'node:module'
import Fastify from 'fastify'
import { openCore } from './src/engine/core.ts'
const require = createRequire(import.meta.url)
const core = await openCore({ db: { engine: 'mem' }, externalUrl: 'http://127.0.0.1:3000', samlPath: '/saml', scimPath: '/scim', connectTimeout: 5000 }, Fastify().log, 1)
const loaded = (pkg) => Object.keys(require.cache).some((f) => f.includes('/node_modules/' + pkg + '/'))
const before = ['@boxyhq/saml20', 'axios', '@opentelemetry/sdk-metrics'].filter(loaded)
const { getErrorMessage } = require('@boxyhq/saml-jackson/dist/controller/utils.js')
const { WrapError } = require('@boxyhq/saml20').default
const wrapped = new WrapError('outer')
wrapped.inner = new Error('inner')
const message = getErrorMessage(wrapped)
const instance = require('@boxyhq/saml-jackson/dist/event/axios.js').createAxiosInstance(console)
process.env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT = 'http://127.0.0.1:9/v1/metrics'
const { metrics } = require('@opentelemetry/api')
const provider = metrics.getMeterProvider()
require('@boxyhq/metrics').initializeMetrics({ name: 'lazy-test' })
const providerSet = metrics.getMeterProvider() !== provider
await core.close()
console.log(JSON.stringify({ before, message, axios: typeof instance.get, providerSet, after: ['@boxyhq/saml20', 'axios', '@opentelemetry/sdk-metrics'].filter(loaded) }))
process.exit(0)
`

t.test('the deferred libraries load, and work, on first use', async (t) => {
  const out = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', MODULES_CHILD], { cwd: root, timeout: 60_000 }, (err, stdout) => err === null ? resolve(stdout) : reject(err))
  })
  const { before, message, axios, providerSet, after } = JSON.parse(out.trim().split('\n').pop()!)
  t.same(before, [], 'none is loaded while nothing uses it')
  t.equal(message, 'outer inner', 'jackson\'s getErrorMessage knows saml20\'s WrapError (the real class)')
  t.equal(axios, 'function', 'jackson\'s createAxiosInstance makes a real axios instance')
  t.ok(providerSet, 'initializeMetrics sets up the OpenTelemetry meter provider with the real SDK')
  t.same(after, ['@boxyhq/saml20', 'axios', '@opentelemetry/sdk-metrics'], 'each is loaded once used')
})

// The Google provider's stand-in still gives the real objects when used (jackson's `google` is its oauth).
const GOOGLE_CHILD = `
import { createRequire } from 'node:module'
import Fastify from 'fastify'
import { openCore } from './src/engine/core.ts'
const core = await openCore({ db: { engine: 'mem' }, externalUrl: 'http://127.0.0.1:3000', samlPath: '/saml', scimPath: '/scim', connectTimeout: 5000 }, Fastify().log, 1)
const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((f) => f.includes('/node_modules/google-auth-library/'))
const before = loaded()
const google = core.sets[0].google
const kind = typeof google.generateAuthorizationUrl
await core.close()
console.log(JSON.stringify({ before, kind, after: loaded() }))
`

t.test('the deferred Google provider loads, and works, on first use', async (t) => {
  const out = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', GOOGLE_CHILD], { cwd: root, timeout: 60_000 }, (err, stdout) => err === null ? resolve(stdout) : reject(err))
  })
  const { before, kind, after } = JSON.parse(out.trim().split('\n').pop()!)
  t.equal(before, false, 'google-auth-library is not loaded while nothing uses the provider')
  t.equal(kind, 'function', 'jackson\'s google.generateAuthorizationUrl is there on first use')
  t.equal(after, true, 'then google-auth-library is loaded')
})
