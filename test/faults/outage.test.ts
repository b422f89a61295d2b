// A database outage while SCIM requests are served: the connection to the database is cut (a TCP proxy
// of the test's own in front of it, so no service other test files use is touched), and on PostgreSQL
// the test database's backends are also terminated as a restart would. The host process lives on (an
// unhandled 'error' event of a driver's client would end this test's process), requests answer 201 or
// a prompt 503 with Retry-After, the app serves again soon after the database is back, and no write
// that was acknowledged is lost.
import pg from 'pg'
import t, { type Test } from 'tap'
import type { DbOptions } from '../../src/index.js'
import { buildApp, scimUser } from '../helpers/app.js'
import { openDirectory, sleep, type ScimClient } from '../helpers/scim.js'
import { serverOf, tcpProxy } from '../helpers/proxy.js'
import { serviceUrls, withService } from '../helpers/services.js'

/** Sends POST /Users until stopped; remembers what was acknowledged and every status seen. */
function writer (scim: ScimClient, name: string) {
  const acknowledged: string[] = []
  const statuses = new Map<number, number>()
  const slowest = { ms: 0 }
  const state = { running: true }
  let n = 0
  const loop = (async () => {
    while (state.running) {
      const started = Date.now()
      const res = await scim.send('POST', '/Users', scimUser(`${name}${n++}@outage.example.com`))
      slowest.ms = Math.max(slowest.ms, Date.now() - started)
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
      if (res.statusCode === 201) acknowledged.push(res.json().id)
      else if (res.statusCode === 503) {
        if (res.headers['retry-after'] === undefined || res.json().status !== '503') statuses.set(-1, (statuses.get(-1) ?? 0) + 1)
        await sleep(50)
      }
    }
  })()
  return { acknowledged, statuses, slowest, stop: async () => { state.running = false; await loop } }
}

async function waitFor (what: () => Promise<boolean>, ms: number): Promise<number> {
  const started = Date.now()
  while (Date.now() - started < ms) {
    if (await what()) return Date.now() - started
    await sleep(100)
  }
  return -1
}

async function outage (t: Test, db: DbOptions, service: string) {
  const proxy = await tcpProxy(t, serverOf(db))
  const through = { ...db, url: proxy.through((db as { url: string }).url) } as DbOptions
  const delivered = new Set<string>()
  const app = await buildApp(t, through, {
    onScimEvent: (event) => { if (event.event === 'user.created') delivered.add(event.data.id) },
    events: { maxAttempts: 2 } // an outage must not use up attempts: with two, one counted failure would show
  })
  const scim = await openDirectory(app, `outage-${service}`)
  const writers = [writer(scim, 'a'), writer(scim, 'b'), writer(scim, 'c'), writer(scim, 'd')]
  await sleep(300)

  proxy.cut()
  const refused = await waitFor(async () => (await scim.send('POST', '/Users', scimUser(`probe${Date.now()}@outage.example.com`))).statusCode === 503, 10_000)
  t.ok(refused >= 0, `while the database is unreachable, a write answers 503 (after ${refused} ms)`)
  await sleep(2500) // past the directory cache: authentication itself needs the database now
  const read = await scim.send('GET', '/Users?count=1')
  t.equal(read.statusCode, 503, 'a read answers 503 too (not 401: an identity provider may stop provisioning on 401)')
  t.ok(Number(read.headers['retry-after']) > 0, 'with Retry-After')
  t.equal(read.json().status, '503', 'as a SCIM error')

  proxy.restore()
  const recovered = await waitFor(async () => (await scim.send('POST', '/Users', scimUser(`back${Date.now()}@outage.example.com`))).statusCode === 201, 15_000)
  t.ok(recovered >= 0 && recovered <= 5000, `serving again ${recovered} ms after the database is back (at most 5 s)`)
  await sleep(300)
  for (const w of writers) await w.stop()

  const statuses = new Map<number, number>()
  for (const w of writers) for (const [status, count] of w.statuses) statuses.set(status, (statuses.get(status) ?? 0) + count)
  t.comment(`statuses: ${JSON.stringify(Object.fromEntries(statuses))}; slowest answer ${Math.max(...writers.map((w) => w.slowest.ms))} ms`)
  t.same([...statuses.keys()].filter((s) => s !== 201 && s !== 503), [], 'every answer was 201 or a SCIM 503 with Retry-After')
  t.ok(writers.every((w) => w.slowest.ms < 10_000), 'no request hung (each answered within 10 s)')
  const acknowledged = writers.flatMap((w) => w.acknowledged)
  let missing = 0
  for (const id of acknowledged) if ((await scim.send('GET', `/Users/${id}`)).statusCode !== 200) missing++
  t.equal(missing, 0, `all ${acknowledged.length} acknowledged writes are there`)
  const caughtUp = await waitFor(async () => acknowledged.every((id) => delivered.has(id)), 15_000)
  t.ok(caughtUp >= 0, `every acknowledged user's event reached the hook (${acknowledged.filter((id) => delivered.has(id)).length} of ${acknowledged.length})`)
  const failed = (await app.directorySync.events.failed()).data ?? []
  t.same(failed.map((f) => f.error), [], 'no delivery was given up on (jackson\'s copy included): the outage used no attempts')
}

t.test('postgres: the connection cut', (t) => withService(t, 'postgres', 'outage_cut', (t, db) => outage(t, db, 'postgres')))
t.test('mariadb: the connection cut', (t) => withService(t, 'mariadb', 'outage_cut', (t, db) => outage(t, db, 'mariadb')))

t.test('postgres: the test database\'s backends terminated (as a restart does)', (t) => withService(t, 'postgres', 'outage_terminate', async (t, db) => {
  const app = await buildApp(t, db)
  const scim = await openDirectory(app, 'terminated')
  const database = new URL((db as { url: string }).url).pathname.slice(1)
  const admin = new pg.Client({ connectionString: serviceUrls.postgres })
  await admin.connect()
  t.teardown(() => admin.end())
  const writers = [writer(scim, 'a'), writer(scim, 'b'), writer(scim, 'c'), writer(scim, 'd')]
  for (let i = 0; i < 3; i++) {
    await sleep(300)
    const { rowCount } = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database])
    t.ok((rowCount ?? 0) > 0, `round ${i + 1}: ${rowCount} backends of ${database} terminated`)
  }
  await sleep(1000)
  for (const w of writers) await w.stop()
  const statuses = new Map<number, number>()
  for (const w of writers) for (const [status, count] of w.statuses) statuses.set(status, (statuses.get(status) ?? 0) + count)
  t.comment(`statuses: ${JSON.stringify(Object.fromEntries(statuses))}`)
  t.same([...statuses.keys()].filter((s) => s !== 201 && s !== 503), [], 'every answer was 201 or a SCIM 503 with Retry-After')
  t.equal((await scim.send('POST', '/Users', scimUser('after@outage.example.com'))).statusCode, 201, 'and the app serves on')
  const acknowledged = writers.flatMap((w) => w.acknowledged)
  let missing = 0
  for (const id of acknowledged) if ((await scim.send('GET', `/Users/${id}`)).statusCode !== 200) missing++
  t.equal(missing, 0, `all ${acknowledged.length} acknowledged writes are there`)
}))
t.test('redis: the connection cut', (t) => withService(t, 'redis', 'outage_cut', (t, db) => outage(t, db, 'redis')))
