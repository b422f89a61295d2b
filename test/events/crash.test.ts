// kill -9 between recording an event and delivering it: the next process on the same database delivers
// it. The first child's hook SIGKILLs its own process, so the change and its event are stored (same
// transaction) but the delivery never completes; a second child on the same database picks it up once
// the dead process's claim (a 1 s lease) has expired.
import t, { type Test } from 'tap'
import type { DbOptions, ScimEvent } from '../../src/index.js'
import { scimUser, sqliteFile } from '../helpers/app.js'
import { withService } from '../helpers/services.js'
import { SCIM, startChild, until } from './support.js'

async function crashAndRestart (t: Test, db: DbOptions, settings = 'short'): Promise<void> {
  const userName = 'crash.victim@acme.example.com'
  const first = await startChild(t, 'die', db, settings)
  const directory = first.ready.directory!
  const auth = { authorization: `Bearer ${directory.scim.secret}` }
  const scimBase = (url: string) => `${url}/api/scim/v2.0/${directory.id}`

  const post = await fetch(`${scimBase(first.ready.ready)}/Users`, {
    method: 'POST', headers: { ...auth, 'content-type': SCIM }, body: JSON.stringify(scimUser(userName))
  }).then((res) => `answered ${res.status}`, (err: Error) => `failed: ${err.message}`)
  t.match(post, /^failed/, `the request died with the process (${post})`)
  t.same(await first.exited, { code: null, signal: 'SIGKILL' }, 'the first process was SIGKILLed (by its hook)')
  t.same(first.lines.filter((l) => l.event !== undefined), [], 'the first process never delivered the event')

  const started = Date.now()
  const second = await startChild(t, 'collect', db, settings)
  const listening = Date.now()
  const delivered = () => second.lines.filter((l) => l.event !== undefined).map((l) => l.event as ScimEvent)
  await until('the event to be delivered after restart', () => delivered().some((e) => e.event === 'user.created' && e.data.email === userName), 20_000)
  const afterListen = Date.now() - listening
  t.comment(`delivered ${Date.now() - started} ms after the second process was started, ${afterListen} ms after it listened`)
  // The recovery the README promises (a requirement, not a benchmark): the dead process's claims expire
  // within the lease, and the next look finds them.
  if (settings === 'defaults') t.ok(afterListen <= 5000, `with the default options, delivered within 5 s of listen() (${afterListen} ms)`)
  await new Promise((resolve) => setTimeout(resolve, 800)) // room for a redelivery to show (pollInterval 200)

  const events = delivered()
  t.equal(events.length, 1, 'one event delivered after the restart, once')
  const [event] = events
  t.match(event, { event: 'user.created', directory_id: directory.id, id: String, created: String, data: { email: userName } }, 'the user.created event of the POSTed user')

  const res = await fetch(`${scimBase(second.ready.ready)}/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`, { headers: auth })
  t.equal(res.status, 200, 'the restarted app answers SCIM')
  const list = await res.json() as { totalResults: number, Resources: Array<{ id: string, userName: string }> }
  t.equal(list.totalResults, 1, 'the user was stored before the crash')
  t.equal(list.Resources[0]?.id, event.data.id, 'and the delivered event is that user\'s')
}

t.test('sqlite file: an event recorded before kill -9 is delivered after the next start', async (t) => {
  await crashAndRestart(t, sqliteFile(t))
})

t.test('PostgreSQL: an event recorded before kill -9 is delivered after the next start', async (t) => {
  await withService(t, 'postgres', 'ev_crash_restart', (st, db) => crashAndRestart(st, db))
})

t.test('Redis: an event recorded before kill -9 is delivered after the next start', async (t) => {
  await withService(t, 'redis', 'ev_crash_restart', (st, db) => crashAndRestart(st, db))
})

for (const [engine, open] of [
  ['sqlite file', async (t: Test, fn: (t: Test, db: DbOptions) => Promise<void>) => fn(t, sqliteFile(t))],
  ['PostgreSQL', (t: Test, fn: (t: Test, db: DbOptions) => Promise<void>) => withService(t, 'postgres', 'ev_crash_defaults', fn)],
  ['MariaDB', (t: Test, fn: (t: Test, db: DbOptions) => Promise<void>) => withService(t, 'mariadb', 'ev_crash_defaults', fn)],
  ['Redis', (t: Test, fn: (t: Test, db: DbOptions) => Promise<void>) => withService(t, 'redis', 'ev_crash_defaults', fn)]
] as const) {
  t.test(`${engine}, default options: after kill -9 the event reaches the hook within 5 s of the next process listening`, (t) =>
    open(t, (st, db) => crashAndRestart(st, db, 'defaults')))
}
