// The command line (src/cli), run as a program in a child process as an operator runs it: exit codes,
// text and --json output, a directory's whole life against a server on the same database (sqlite and
// PostgreSQL), an encrypted database, `migrate`, and that it takes no delivery claim.
import { execFile } from 'node:child_process'
import Database from 'better-sqlite3'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import type { DbOptions } from '../../src/index.js'
import { main } from '../../src/cli/index.js'
import { buildApp, externalUrl, scimUser, sqliteFile } from '../helpers/app.js'
import { SCIM, sleep } from '../helpers/scim.js'
import { withService } from '../helpers/services.js'

// Each command is a process of its own that loads jackson (about 40 of them): some 70 s alone, and over
// tap's 120 s beside the other files on a loaded 2-core machine (seen once).
t.setTimeout(300_000)

interface Outcome { code: number | null, stdout: string, stderr: string }

// The test run's own DSYNC_* variables must not reach the CLI.
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('DSYNC_')))

function cli (args: string[], env: Record<string, string> = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', ...args], { env: { ...baseEnv, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null
      resolve({ code, stdout, stderr })
    })
  })
}

const json = (outcome: Outcome) => JSON.parse(outcome.stdout)

const SCIM_PATH = '/scim/v2'

// What is decided before a database is opened is checked in-process (a child process costs 1-2 s).
async function inProcess (args: string[]): Promise<Outcome> {
  let stdout = ''
  let stderr = ''
  const code = await main(args, { stdout: { write: (text: string) => { stdout += text } }, stderr: { write: (text: string) => { stderr += text } }, env: {} })
  return { code, stdout, stderr }
}

t.test('usage and help: exit codes 0 and 2', async (t) => {
  const help = await inProcess(['help'])
  t.equal(help.code, 0, 'help: 0')
  t.match(help.stdout, /^Usage: fastify-directory-sync <command>/, 'usage on stdout')
  t.match(help.stdout, /Exit codes:/)
  const helpFlag = await inProcess(['directories', 'list', '--help'])
  t.equal(helpFlag.code, 0, '--help anywhere: 0')
  t.equal(helpFlag.stdout, help.stdout)
  const unknownOption = await inProcess(['directories', 'list', '--colour'])
  t.equal(unknownOption.code, 2, 'an unknown option: 2')
  t.match(unknownOption.stderr, /--colour/)
  const noTenant = await inProcess(['directories', 'create', '--product', 'p', '--db', 'x.db', '--external-url', externalUrl])
  t.equal(noTenant.code, 2, 'create without --tenant: 2')
  t.match(noTenant.stderr, /--tenant is required/)
  const noDb = await inProcess(['directories', 'list', '--external-url', externalUrl])
  t.equal(noDb.code, 2, 'no --db nor DSYNC_DB: 2')
  t.match(noDb.stderr, /--db \(or DSYNC_DB\) is required/)
  const noUrl = await inProcess(['directories', 'show', 'x', '--db', 'x.db'])
  t.equal(noUrl.code, 2, 'show without --external-url: 2')
  t.same([help.stderr, noTenant.stdout], ['', ''], 'help writes nothing to stderr, a usage error nothing to stdout')
})

t.test('as a program: an unknown command (2) and an unreachable database (3)', async (t) => {
  const [unknown, unreachable] = await Promise.all([
    cli(['frobnicate']),
    cli(['directories', 'list', '--json', '--connect-timeout', '500', '--external-url', externalUrl], { DSYNC_DB: 'postgres://postgres@127.0.0.1:1/nothing' })
  ])
  t.equal(unknown.code, 2, 'an unknown command: 2')
  t.match(unknown.stderr, /unknown command "frobnicate"/)
  t.equal(unreachable.code, 3, 'postgres on a closed port (from DSYNC_DB): 3')
  t.match(unreachable.stderr, /FST_DSYNC_DB_UNREACHABLE: .*did not answer within 500 ms/)
  t.equal(json(unreachable).error.code, 'FST_DSYNC_DB_UNREACHABLE', 'with --json, the error as JSON on stdout')
})

const post = (app: FastifyInstance, endpoint: string, token: string, userName: string) => app.inject({
  method: 'POST',
  url: `${new URL(endpoint).pathname}/Users`,
  headers: { authorization: `Bearer ${token}`, 'content-type': SCIM },
  payload: JSON.stringify(scimUser(userName))
}).then((response) => response.statusCode)

/** Polls until the server answers `expected` (its directory cache keeps a directory 2 s). */
async function eventually (t: Test, what: string, request: () => Promise<number>, expected: number) {
  const deadline = Date.now() + 5000
  let status = await request()
  while (status !== expected && Date.now() < deadline) {
    await sleep(200)
    status = await request()
  }
  t.equal(status, expected, what)
}

// A directory's life through the CLI, with a server on the same database taking SCIM requests.
async function lifecycle (t: Test, db: DbOptions, dbArgument: string) {
  const app = await buildApp(t, db, { scimPath: SCIM_PATH })
  const globals = ['--db', dbArgument, '--external-url', externalUrl, '--scim-path', SCIM_PATH]
  let users = 0
  const user = () => `user${++users}@cli.example`

  const created = await cli(['directories', 'create', '--tenant', 'acme', '--product', 'app', '--name', 'Acme', ...globals])
  t.equal(created.code, 0, 'create: 0')
  const lines = created.stdout.trim().split('\n')
  const [endpoint, token, ...extra] = lines[lines.length - 1].split(' ')
  t.same(extra, [], 'the last line is "ENDPOINT TOKEN"')
  const id = endpoint.split('/').pop()!
  const served = await app.directorySync.directories.get(id)
  t.equal(endpoint, served.data?.scim.endpoint, 'the endpoint printed is the one the server hands out for the same external URL and scim path')
  t.equal(token, served.data?.scim.secret)
  t.equal(await post(app, endpoint, token, user()), 201, 'the server takes the token')

  const listed = await cli(['directories', 'list', '--json', '--tenant', 'acme', '--product', 'app', ...globals])
  t.equal(listed.code, 0, 'list --json: 0')
  const { directories } = json(listed)
  t.same(directories.map((d: any) => [d.id, d.name, d.scim.endpoint, d.deactivated]), [[id, 'Acme', endpoint, false]], 'list answers it, as JSON')
  t.notOk(listed.stdout.includes(token), 'without its token')

  const shown = await cli(['directories', 'show', id, ...globals])
  t.equal(shown.code, 0, 'show: 0')
  t.match(shown.stdout, new RegExp(`endpoint: +${endpoint}`))
  t.match(shown.stdout, /users: +1\n/, 'with its user count')
  t.match(shown.stdout, /groups: +0\n/, 'and its group count')
  t.match(shown.stdout, /deliveries: +.*jackson \d+ pending, 0 failed/, 'and its deliveries per handler')
  t.notOk(shown.stdout.includes(token), 'without its token')

  const rotated = await cli(['directories', 'rotate-token', id, '--json', ...globals])
  t.equal(rotated.code, 0, 'rotate-token: 0')
  const { token: newToken, endpoint: sameEndpoint } = json(rotated)
  t.equal(sameEndpoint, endpoint, 'the same endpoint')
  t.not(newToken, token, 'a new token')
  await eventually(t, 'the server refuses the old token (within its cache window)', () => post(app, endpoint, token, user()), 401)
  t.equal(await post(app, endpoint, newToken, user()), 201, 'and takes the new one')

  const deactivated = await cli(['directories', 'deactivate', id, ...globals])
  t.equal(deactivated.code, 0, 'deactivate: 0')
  await eventually(t, 'the server answers 403', () => post(app, endpoint, newToken, user()), 403)
  const activated = await cli(['directories', 'activate', id, ...globals])
  t.equal(activated.code, 0, 'activate: 0')
  await eventually(t, 'the server takes requests again', () => post(app, endpoint, newToken, user()), 201)

  const deleted = await cli(['directories', 'delete', id, '--db', dbArgument])
  t.equal(deleted.code, 0, 'delete (which needs no external URL): 0')
  t.equal((await app.directorySync.directories.get(id)).error?.code, 404, 'the directory is gone')
  const unknown = await cli(['directories', 'show', id, '--json', ...globals])
  t.equal(unknown.code, 1, 'an unknown id: 1')
  t.match(unknown.stderr, /\(404\)/)
  t.equal(json(unknown).error.status, 404, 'with --json, the error as JSON')
}

t.test('sqlite', async (t) => {
  const db = sqliteFile(t) as DbOptions & { url: string }
  await lifecycle(t, db, `sqlite:${db.url}`)
})

t.test('postgres', (t) => withService(t, 'postgres', 'cli', async (t, db) => {
  await lifecycle(t, db, (db as { url: string }).url)
}))

const owners = (file: string) => {
  const sqlite = new Database(file, { readonly: true })
  try {
    return (sqlite.prepare('SELECT owner FROM dsync_event_cursors WHERE owner IS NOT NULL').all() as Array<{ owner: string }>).map((r) => r.owner)
  } finally {
    sqlite.close()
  }
}

t.test('an encrypted database, a 400, no delivery claim, and migrate on a fresh file', async (t) => {
  const db = sqliteFile(t) as DbOptions & { url: string }
  const fresh = sqliteFile(t, 'fresh.db') as DbOptions & { url: string }
  const key = 'k'.repeat(32)
  const globals = ['--db', db.url, '--external-url', externalUrl]
  const [created, migrated, missing] = await Promise.all([
    cli(['directories', 'create', '--tenant', 'enc', '--product', 'app', '--json', ...globals, '--encryption-key', key]),
    cli(['migrate', '--db', fresh.url]),
    cli(['directories', 'list', '--db', fresh.url + '.typo', '--external-url', externalUrl])
  ])
  t.equal(created.code, 0, 'create on an encrypted database: 0')
  const { directory } = json(created)
  t.equal(migrated.code, 0, 'migrate on a fresh sqlite file: 0')
  t.match(migrated.stdout, /^jackson's tables: up to date\nthe plugin's migrations applied: 1 \(tables\), 2 \(.*\), 3 \(.*\)\n$/)
  const tables = new Database(fresh.url, { readonly: true })
  t.teardown(() => tables.close())
  const names = (tables.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((r) => r.name)
  t.ok(names.includes('jackson_store') && names.includes('dsync_migrations'), 'jackson\'s tables and the plugin\'s are there')
  t.equal(missing.code, 3, 'a sqlite file that does not exist (list makes none): 3')
  t.match(missing.stderr, /FST_DSYNC_DB_MISSING/)

  const [withoutKey, otherKey, withKey, badWebhook] = await Promise.all([
    cli(['directories', 'list', ...globals]),
    cli(['directories', 'list', ...globals, '--encryption-key', 'o'.repeat(32)]),
    cli(['directories', 'list', '--json', ...globals], { DSYNC_ENCRYPTION_KEY: key }),
    cli(['directories', 'create', '--tenant', 'enc', '--product', 'app', '--webhook-url', 'not a url', '--webhook-secret', 's', ...globals, '--encryption-key', key])
  ])
  t.equal(withoutKey.code, 3, 'without the key: 3')
  t.match(withoutKey.stderr, /FST_DSYNC_ENCRYPTION_KEY_REQUIRED/)
  t.equal(otherKey.code, 3, 'with another key: 3')
  t.match(otherKey.stderr, /FST_DSYNC_ENCRYPTION_KEY_MISMATCH/)
  t.equal(withKey.code, 0, 'with the key (from DSYNC_ENCRYPTION_KEY): 0')
  t.same(json(withKey).directories.map((d: any) => d.id), [directory.id])
  t.equal(badWebhook.code, 1, 'a webhook URL that is not http(s): 1')
  t.match(badWebhook.stderr, /webhook_url must be an http or https URL.*\(400\)/)

  const deleted = await cli(['directories', 'delete', directory.id, '--db', db.url], { DSYNC_ENCRYPTION_KEY: key })
  t.equal(deleted.code, 0, 'delete: 0')
  t.same(owners(db.url), [], 'the CLI took no delivery claim (no cursor has an owner)')
})
