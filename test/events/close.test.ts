// close() while a handler is still running: every claim is released (the next process does not wait for
// a lease to expire), nothing is logged at error level, and the event whose handler did not finish is
// delivered again by the next holder (at least once).
import { Writable } from 'node:stream'
import Database from 'better-sqlite3'
import Fastify from 'fastify'
import t from 'tap'
import fastifyDirectorySync, { type ScimEvent } from '../../src/index.js'
import { externalUrl, scimUser, sqliteFile } from '../helpers/app.js'
import { ok, openDirectory, sleep } from '../helpers/scim.js'

t.test('close() during a slow handler releases the claims; the next process delivers the event again', async (t) => {
  const db = sqliteFile(t) as { engine: 'sql', type: 'sqlite', url: string }
  const lines: Array<{ level: number, msg: string }> = []
  const stream = new Writable({ write (chunk, _encoding, done) { lines.push(JSON.parse(String(chunk))); done() } })
  let started = 0
  const first = Fastify({ logger: { level: 'warn', stream } })
  await first.register(fastifyDirectorySync, {
    db, externalUrl, events: { budget: 50 }, onScimEvent: async () => { started++; await sleep(4000) }
  })
  const scim = await openDirectory(first, 'closing')
  const user = await ok(scim, 'POST', '/Users', scimUser('slow@example.com'), 201)
  await sleep(200)
  t.equal(started, 1, 'the handler is running')
  await first.close()
  t.same(lines.filter((l) => l.level >= 50).map((l) => l.msg), [], 'nothing logged at error level by close()')

  const raw = new Database(db.url, { readonly: true })
  const held = raw.prepare('SELECT handler, owner FROM dsync_event_cursors WHERE owner IS NOT NULL').all()
  raw.close()
  t.same(held, [], 'no claim is left taken')

  const delivered: ScimEvent[] = []
  const second = Fastify()
  t.after(() => second.close())
  await second.register(fastifyDirectorySync, { db, externalUrl, onScimEvent: (event) => { delivered.push(event) } })
  await second.ready()
  for (let i = 0; i < 50 && delivered.length === 0; i++) await sleep(100)
  t.match(delivered, [{ event: 'user.created', data: { id: user.id } }], 'the next process delivers the event whose handler did not finish')
})
