// Two instances on one PostgreSQL database (two Fastify apps in this process, each with its own
// storage connections, dispatcher and hook): 500 provisioning requests spread over both, then every
// event is handled exactly once across the two, and each directory's events in the directory's order.
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import type { ScimEvent } from '../../src/index.js'
import { buildApp } from '../helpers/app.js'
import { withService } from '../helpers/services.js'
import { openScim, scimFor, sleep, until, type Scim } from './support.js'

const DIRECTORIES = 5
const REQUESTS_PER_DIRECTORY = 100

interface Handled { instance: number, event: ScimEvent, key: string }

// What identifies an event among its directory's: a user's creation, or the PATCH that set this givenName.
const keyOf = (event: ScimEvent) => event.event === 'user.created' ? `created ${event.data.id}` : `${event.event} ${event.event === 'user.updated' ? event.data.first_name : event.data.id}`

t.test('two instances on one PostgreSQL database: each event handled once, in order per directory', async (t) => {
  await withService(t, 'postgres', 'ev_instances', async (t, db) => {
    const handled: Handled[] = [] // in the order the handlers were called, across both instances
    const byInstance: Handled[][] = [[], []]
    const apps: FastifyInstance[] = []
    for (const instance of [0, 1]) {
      apps.push(await buildApp(t, db, {
        async onScimEvent (event) {
          const entry = { instance, event, key: keyOf(event) }
          handled.push(entry)
          byInstance[instance].push(entry)
          if (Math.random() < 0.1) await sleep(5) // a handler that sometimes takes a moment, so deliveries overlap
        },
        events: { pollInterval: 100, backoff: 20, lease: 5000, handlerTimeout: 2000 }
      }))
    }

    const started = Date.now()
    const scims: Array<[Scim, Scim]> = []
    for (let d = 0; d < DIRECTORIES; d++) {
      const scim = await openScim(apps[d % 2])
      scims.push([scimFor(apps[0], scim.directory), scimFor(apps[1], scim.directory)])
    }
    // Per directory, requests one after another (so their order is the directory's order), alternating
    // between instances; directories in parallel.
    const expected = await Promise.all(scims.map(async ([onFirst, onSecond], d) => {
      const keys: string[] = []
      let user = ''
      for (let k = 0; k < REQUESTS_PER_DIRECTORY; k++) {
        const scim = ((k >> 1) + k + d) % 2 === 0 ? onFirst : onSecond
        if (k % 2 === 0) {
          user = (await scim.createUser(`user${k}.dir${d}@acme.example.com`)).id
          keys.push(`created ${user}`)
        } else {
          await scim.rename(user, `g${k}`)
          keys.push(`user.updated g${k}`)
        }
      }
      return keys
    }))
    const sent = Date.now()
    const total = DIRECTORIES * REQUESTS_PER_DIRECTORY
    await until(`${total} events handled`, () => new Set(handled.map((h) => h.event.id)).size >= total, 30_000)
    await sleep(1000) // room for a duplicate to show
    t.comment(`${total} requests in ${sent - started} ms; all delivered ${Date.now() - 1000 - sent} ms later; handled by instance 0: ${byInstance[0].length}, 1: ${byInstance[1].length}`)

    const ids = handled.map((h) => h.event.id)
    t.equal(handled.length, total, `${total} handler calls in all`)
    t.equal(new Set(ids).size, total, 'each event id handled exactly once across both instances')
    const twice = ids.filter((id, i) => ids.indexOf(id) !== i)
    t.same(twice, [], 'no event handled twice')
    t.ok(byInstance[0].length > 0 && byInstance[1].length > 0, 'both instances handled events')

    for (const [d, [scim]] of scims.entries()) {
      const mine = handled.filter((h) => h.event.directory_id === scim.directory.id)
      t.same(mine.map((h) => h.key), expected[d], `directory ${d}: its ${expected[d].length} events handled in the order of its requests`)
      const created = mine.map((h) => Date.parse(h.event.created))
      t.ok(created.every((c, i) => i === 0 || c >= created[i - 1]), `directory ${d}: handled in the order of the events' \`created\``)
    }
    for (const app of apps) t.same((await app.directorySync.events.failed()).data, [], 'nothing failed')
  })
})

t.test('a run of slow (but in-time) handler calls does not let the other instance deliver the same events', async (t) => {
  // lease 1000 > handlerTimeout 500, as required; each call takes 250 ms, well within handlerTimeout.
  // Ten events queued behind one in progress make a batch of ~2.5 s: more than one lease.
  await withService(t, 'postgres', 'ev_instances_lease', async (t, db) => {
    const handled: Array<{ instance: number, id: string, user: string, start: number, end: number }> = []
    const apps: FastifyInstance[] = []
    for (const instance of [0, 1]) {
      apps.push(await buildApp(t, db, {
        async onScimEvent (event) {
          const entry = { instance, id: event.id, user: event.data.id, start: Date.now(), end: 0 }
          handled.push(entry)
          await sleep(250)
          entry.end = Date.now()
        },
        events: { budget: 0, lease: 1000, handlerTimeout: 500, pollInterval: 100 }
      }))
    }
    const scim = await openScim(apps[0])
    const users: string[] = []
    for (let i = 0; i < 11; i++) users.push((await scim.createUser(`slow${i}@acme.example.com`)).id)
    await until('11 events handled', () => new Set(handled.map((h) => h.id)).size >= 11 && handled.every((h) => h.end > 0), 20_000)
    await sleep(1500)
    const ids = handled.map((h) => h.id)
    t.comment(handled.map((h) => `#${h.instance} ${users.indexOf(h.user)} ${h.start}-${h.end}`).join('; '))
    t.same(ids.filter((id, i) => ids.indexOf(id) !== i), [], 'no event handled twice')
    t.same(handled.map((h) => h.user), users, 'handled once each, in order')
    const overlapping = handled.filter((h, i) => i > 0 && h.start < handled[i - 1].end)
    t.equal(overlapping.length, 0, 'one delivery at a time for the directory')
  })
})
