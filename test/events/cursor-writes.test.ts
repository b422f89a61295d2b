// An awaited hook's cursor is written once per drained batch, and while one instance alone serves a busy
// directory at most every 50 ms (dispatcher.ts carrying()): a burst of writes moves it far fewer times
// than it has events, and it still stands at the last event soon after the burst (the status shows
// nothing pending, and a restart would not deliver the burst again).
import t from 'tap'
import { buildApp, scimUser } from '../helpers/app.js'
import { createDirectory } from '../helpers/directory.js'
import { statementsOf } from '../helpers/pg-statements.js'
import { scimClient } from '../helpers/scim.js'
import { withService } from '../helpers/services.js'
import { sleep, until } from './support.js'

t.test('a burst of writes: the hook\'s cursor is written a few times, and ends at the last event', (t) =>
  withService(t, 'postgres', 'cursor_writes', async (t, db) => {
    let delivered = 0
    // Without jackson's copy and webhooks: the cursor writes counted are the hook's.
    const app = await buildApp(t, db, { jacksonCopy: false, onScimEvent () { delivered++ } })
    const directory = await createDirectory(app, 'acme')
    const scim = scimClient(app, directory)
    const n = 120
    const sent = await statementsOf(async () => {
      let next = 0
      await Promise.all(Array.from({ length: 8 }, async () => {
        while (next < n) {
          const i = next++
          const res = await scim.send('POST', '/Users', scimUser(`burst.${i}@acme.example.com`))
          if (res.statusCode !== 201) throw new Error(`POST answered ${res.statusCode}`)
        }
      }))
      await sleep(200)
    })
    t.equal(delivered, n, 'every event reached the hook, before its response')
    const moves = sent.filter((sql) => sql.startsWith('UPDATE dsync_event_cursors SET last_seq')).length
    t.ok(moves > 0 && moves < n / 3, `the cursor was written ${moves} times for ${n} events`)
    await until('the hook\'s cursor to stand at the last event', async () => {
      const { data } = await app.directorySync.directories.status(directory.id)
      return data!.deliveries.every((d) => d.pending === 0)
    })
    t.pass('nothing is pending once the burst is over')
  }))
