// "Hooks run before the response" holds with several instances: two apps on one PostgreSQL database
// (each its own dispatcher, claims and connections), writes sent to either; each answer comes after the
// awaited hook has handled the write's event, whichever instance delivered it (before, half of them did
// not: the instance that answered did not hold the directory's claim, and returned at once).
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { buildApp, scimUser } from '../helpers/app.js'
import { scimClient } from '../helpers/scim.js'
import { withService } from '../helpers/services.js'
import { sleep } from './support.js'

t.test('two instances: every write answers after its event was handled', (t) => withService(t, 'postgres', 'ev_before_response', async (t, db) => {
  const handled = new Set<string>()
  const byInstance = [0, 0]
  const apps: FastifyInstance[] = []
  for (const instance of [0, 1]) {
    apps.push(await buildApp(t, db, {
      async onScimEvent (event) {
        await sleep(15) // a hook that takes a moment
        if (event.event === 'user.created') handled.add(event.data.id)
        byInstance[instance]++
      }
    }))
  }
  const { data: directory } = await apps[0].directorySync.directories.create({ tenant: 'before', product: 'p' })
  const clients = apps.map((app) => scimClient(app, directory!))
  let late = 0
  for (let i = 0; i < 40; i++) {
    const res = await clients[i % 2].send('POST', '/Users', scimUser(`before${i}@example.com`))
    t.equal(res.statusCode, 201)
    if (!handled.has(res.json().id)) late++
  }
  t.equal(late, 0, 'no write was answered before its event had been handled')
  t.comment(`events handled by instance 0: ${byInstance[0]}, by instance 1: ${byInstance[1]}`)
}))
