// The IdP simulator (examples/idp), run as a child process as a person runs it, against the plugin on a
// real socket with a sqlite file: for each provider it must exit 0 with its OK line, and the plugin's
// store (read through app.directorySync) must hold the state the simulator's plan says it left. A wrong
// token exits 1 naming the 401; bad arguments exit 2. Entra gets its Tenant URL with the flag, as given.
import { execFile } from 'node:child_process'
import { freePort } from '../helpers/net.js'
import { fileURLToPath } from 'node:url'
import Fastify, { type FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import fastifyDirectorySync, { type DirectoryType } from '../../src/index.js'
import { sqliteFile } from '../helpers/app.js'
import { parseBaseUrl } from '../../examples/idp/client.js'
import { DIRECTORY_TYPES, PROVIDERS, type Provider } from '../../examples/idp/dialects.js'
import { expectedState, plan } from '../../examples/idp/scenario.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const USERS = 12
const SEED = 7

interface Outcome { code: number | null, stdout: string, stderr: string }

function simulate (args: string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'examples/idp/simulate.ts', ...args], { cwd: root, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null
      resolve({ code, stdout, stderr })
    })
  })
}

async function listening (t: Test): Promise<FastifyInstance> {
  const port = await freePort()
  const app = Fastify({ logger: false })
  t.after(() => app.close())
  await app.register(fastifyDirectorySync, { db: sqliteFile(t), externalUrl: `http://127.0.0.1:${port}` })
  await app.listen({ port, host: '127.0.0.1' })
  return app
}

async function directory (app: FastifyInstance, type: string) {
  const created = await app.directorySync.directories.create({ tenant: 'acme', product: 'idp-sim', type: type as DirectoryType })
  if (created.error) throw new Error(created.error.message)
  return created.data
}

t.test('the base URL: Entra\'s Tenant URL keeps its flag as a dialect, not on requests', async (t) => {
  const base = 'https://host.example/api/scim/v2.0/d1'
  t.same(parseBaseUrl(`${base}?aadOptscim062020`, 'entra').base, base)
  t.equal(parseBaseUrl(`${base}?aadOptscim062020`, 'entra').entraFlag, true)
  t.same(parseBaseUrl(`${base}/?aadOptscim062020`, 'entra').base, base)
  t.equal(parseBaseUrl(`${base}/`, 'entra').entraFlag, false)
  t.equal(parseBaseUrl(`${base}?aadOptscim062020`, 'okta').entraFlag, false, 'the flag means nothing to Okta')
  t.same(parseBaseUrl(base, 'okta'), { base, entraFlag: false, notes: [] })
  t.throws(() => parseBaseUrl('host/scim', 'okta'))
})

for (const provider of PROVIDERS) {
  t.test(`${provider}: the sequence runs, reads back as expected and the store agrees`, async (t) => {
    const app = await listening(t)
    const dir = await directory(app, DIRECTORY_TYPES[provider])
    const url = dir.scim.endpoint as string
    if (provider === 'entra') t.match(url, /\?aadOptscim062020$/, 'the Tenant URL as the plugin gives it')
    const runId = `t${provider}`
    const outcome = await simulate(['--provider', provider, '--users', String(USERS), '--seed', String(SEED), '--run-id', runId,
      '--url', url, '--token', dir.scim.secret])
    t.equal(outcome.code, 0, outcome.stderr)
    const expected = expectedState(plan(provider as Provider, USERS, SEED, runId))
    const alive = expected.users.filter((u) => !u.deleted)
    const memberships = expected.groups.reduce((sum, g) => sum + g.members.length, 0)
    t.match(outcome.stdout, new RegExp(`^OK: ${alive.length} users, 2 groups, ${memberships} memberships as expected$`, 'm'))
    t.match(outcome.stdout, /^6\/7 deletions: /m)
    if (provider === 'entra') t.match(outcome.stdout, /aadOptscim062020/)
    if (provider === 'okta') {
      t.equal(alive.length, USERS, 'Okta deletes nobody')
      t.match(outcome.stdout, /deletions: skipped: Okta never DELETEs users/)
    } else {
      t.ok(alive.length < USERS, 'some users were deleted')
    }

    // What the plugin's store holds, through the decorator a host uses.
    const users = await app.directorySync.users.list(dir.id, { pageLimit: 100 })
    if (users.error) throw new Error(users.error.message)
    t.equal(users.data.length, alive.length, 'deleted users are gone')
    const byUserName = new Map(users.data.map((u) => [u.raw.userName as string, u]))
    for (const want of alive) {
      const got = byUserName.get(want.userName)
      if (got === undefined) {
        t.fail(`user ${want.userName} is missing`)
        continue
      }
      t.same({ first_name: got.first_name, last_name: got.last_name, email: got.email, active: got.active },
        { first_name: want.givenName, last_name: want.familyName, email: want.email, active: want.active }, want.userName)
    }
    const userNameOf = new Map(users.data.map((u) => [u.id, u.raw.userName as string]))
    const groups = await app.directorySync.groups.list(dir.id)
    if (groups.error) throw new Error(groups.error.message)
    t.same(groups.data.map((g) => g.name).sort(), expected.groups.map((g) => g.displayName).sort())
    for (const want of expected.groups) {
      const group = groups.data.find((g) => g.name === want.displayName)
      if (group === undefined) continue
      const members = await app.directorySync.groups.members(dir.id, group.id, { pageLimit: 100 })
      if (members.error) throw new Error(members.error.message)
      t.same(members.data.map((m) => userNameOf.get(m.user_id)).sort(),
        want.members.map((n) => expected.users[n - 1].userName).sort(), `${want.displayName} members`)
    }
  })
}

t.test('a wrong token: exit 1, naming the 401', async (t) => {
  const app = await listening(t)
  const dir = await directory(app, 'okta-scim-v2')
  const outcome = await simulate(['--provider', 'okta', '--users', '3', '--url', dir.scim.endpoint as string, '--token', 'not-the-token', '--quiet'])
  t.equal(outcome.code, 1)
  t.match(outcome.stderr, /401 Unauthorized/)
  t.match(outcome.stderr, /FAILED: 1 mismatch/)
  t.equal(outcome.stdout, '', 'nothing on standard output with --quiet')
  const users = await app.directorySync.users.list(dir.id)
  t.same(users.data, [], 'nothing was created')
})

t.test('a token that starts with "-" (one in 64 of them) is taken as the token, not as an option', async (t) => {
  const app = await listening(t)
  const dir = await directory(app, 'okta-scim-v2')
  const outcome = await simulate(['--provider', 'okta', '--users', '3', '--url', dir.scim.endpoint as string, '--token', '-dashed-token', '--quiet'])
  t.equal(outcome.code, 1, 'exit 1: the request was made (exit 2 would be a usage error)')
  t.match(outcome.stderr, /401 Unauthorized/)
})

t.test('bad arguments: usage and exit 2', async (t) => {
  const outcome = await simulate(['--provider', 'ping', '--url', 'http://127.0.0.1:1/x', '--token', 'x'])
  t.equal(outcome.code, 2)
  t.match(outcome.stderr, /--provider must be one of okta, entra, onelogin, jumpcloud/)
  t.match(outcome.stderr, /Usage: npm run example:idp/)
})
