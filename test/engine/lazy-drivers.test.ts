// Only the configured engine's driver is loaded (cold start): a process serving SCIM on sqlite never
// loads the Redis client, pg, mysql2, MongoDB or the AWS SDK (jackson's db.js requires the last three
// and its Redis client when it loads: engine/lazy-drivers.ts defers them). And the requires that
// deferral relies on are pinned, so that a jackson release that renames them is noticed.
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { DEFERRED_DRIVERS } from '../../src/engine/lazy-drivers.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const require = createRequire(import.meta.url)

t.test('jackson\'s db.js requires the drivers that are deferred (workaround: engine/lazy-drivers.ts)', async (t) => {
  const source = readFileSync(require.resolve('@boxyhq/saml-jackson/dist/db/db.js'), 'utf8')
  for (const driver of DEFERRED_DRIVERS) t.match(source, `require("${driver}")`, `db.js requires ${driver}`)
  t.match(source, /\.default\.new\(/, 'and uses each through default.new()')
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
  for (const pkg of ['@redis/client', 'pg', 'mysql2', 'mongodb', '@aws-sdk/client-dynamodb']) t.notOk(has(loaded, pkg), `${pkg} is not`)
})
