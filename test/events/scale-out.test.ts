// Scale-out on PostgreSQL: 4 processes of the host app (each with its own plugin, dispatcher, claims and
// connections) on one database, 4 tenants, 2,000 mixed requests sent over HTTP to any of the processes.
// No cross-tenant mixing, no duplicate userName (the same user created at once through two processes
// gives one 201 and one 409), and every event reaches the hook once, in each directory's order, whichever
// process delivers it.
import t from 'tap'
import type { Directory, ScimEvent } from '../../src/index.js'
import { buildApp, scimUser } from '../helpers/app.js'
import { withService } from '../helpers/services.js'
import { PATCH_OP, SCIM, startChild, until, type Child } from './support.js'

const PROCESSES = 4
const TENANTS = 4
const REQUESTS_PER_TENANT = Number(process.env.SCALE_REQUESTS ?? 500)

t.setTimeout(5 * 60_000)

t.test('4 processes, 4 tenants, 2,000 mixed requests on PostgreSQL', (t) => withService(t, 'postgres', 'ev_scale_out', async (t, db) => {
  // Directories are created by an app of the test's own (no hook: it delivers no hook events).
  const admin = await buildApp(t, db)
  const directories: Directory[] = []
  for (let i = 0; i < TENANTS; i++) directories.push((await admin.directorySync.directories.create({ tenant: `scale-${i}`, product: 'p' })).data!)
  const children: Child[] = []
  for (let i = 0; i < PROCESSES; i++) children.push(await startChild(t, 'collect', db, 'defaults'))

  const send = async (directory: Directory, method: string, path: string, body?: unknown) => {
    const child = children[Math.floor(Math.random() * PROCESSES)]
    const res = await fetch(`${child.ready.ready}/api/scim/v2.0/${directory.id}${path}`, {
      method,
      headers: { authorization: `Bearer ${directory.scim.secret}`, ...(body === undefined ? {} : { 'content-type': SCIM }) },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    return { status: res.status, body: res.status === 204 ? undefined : await res.json() as any }
  }

  // Per tenant, requests one after another (so that the commit order is the order sent); tenants at once.
  const expected = new Map<string, string[]>() // directory → the events its requests made, in order
  const statuses = new Map<number, number>()
  const count = (status: number) => statuses.set(status, (statuses.get(status) ?? 0) + 1)
  let duplicates = 0
  await Promise.all(directories.map(async (directory, d) => {
    const made: string[] = []
    expected.set(directory.id, made)
    const live: string[] = []
    for (let n = 0; n < REQUESTS_PER_TENANT; n++) {
      const pick = Math.random()
      if (live.length === 0 || pick < 0.35) {
        const res = await send(directory, 'POST', '/Users', scimUser(`u${n}@tenant${d}.example.com`))
        count(res.status)
        if (res.status === 201) { live.push(res.body.id); made.push(`user.created ${res.body.id}`) }
      } else if (pick < 0.4) {
        // The same userName through two processes at once: one wins.
        const body = scimUser(`twice${n}@tenant${d}.example.com`)
        const both = await Promise.all([send(directory, 'POST', '/Users', body), send(directory, 'POST', '/Users', body)])
        for (const res of both) count(res.status)
        const won = both.filter((res) => res.status === 201)
        if (won.length !== 1 || both.some((res) => res.status !== 201 && res.status !== 409)) duplicates++
        for (const res of won) { live.push(res.body.id); made.push(`user.created ${res.body.id}`) }
      } else if (pick < 0.75) {
        const id = live[Math.floor(Math.random() * live.length)]
        const res = await send(directory, 'PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: `title ${n}` }] })
        count(res.status)
        if (res.status === 200) made.push(`user.updated ${id}`)
      } else if (pick < 0.9) {
        const id = live[Math.floor(Math.random() * live.length)]
        const res = await send(directory, 'GET', `/Users/${id}`)
        count(res.status)
        if (res.status === 200 && res.body.userName.indexOf(`@tenant${d}.`) < 0) duplicates += 1000 // another tenant's user
      } else {
        const id = live.splice(Math.floor(Math.random() * live.length), 1)[0]
        const res = await send(directory, 'DELETE', `/Users/${id}`)
        count(res.status)
        if (res.status === 204) made.push(`user.deleted ${id}`)
      }
    }
  }))
  t.comment(`statuses: ${JSON.stringify(Object.fromEntries(statuses))}`)
  t.same([...statuses.keys()].filter((s) => ![200, 201, 204, 409].includes(s)), [], 'only 200, 201, 204 and 409 (the same user at once through two processes)')
  t.equal(duplicates, 0, 'each concurrent pair of creates gave one 201 and one 409, and no read saw another tenant\'s user')

  for (const directory of directories) {
    const { body } = await send(directory, 'GET', '/Users?count=1000')
    const names = body.Resources.map((u: { userName: string }) => u.userName)
    t.equal(new Set(names).size, names.length, `${directory.tenant}: no duplicate userName`)
    const tenantIndex = directory.tenant.split('-')[1]
    t.ok(names.every((name: string) => name.includes(`@tenant${tenantIndex}.`)), `${directory.tenant}: only its own users`)
  }

  const total = [...expected.values()].reduce((n, list) => n + list.length, 0)
  type Line = { event: ScimEvent, at: number, pid: number }
  const lines = () => children.flatMap((child) => child.lines.filter((l): l is Line => l.event !== undefined))
  await until('every event to reach a hook', () => lines().length >= total, 60_000)
  await new Promise((resolve) => setTimeout(resolve, 1500)) // room for a duplicate delivery to show
  const delivered = lines()
  const ids = delivered.map((l) => l.event.id)
  t.equal(ids.length, total, `${total} events delivered in all`)
  t.equal(new Set(ids).size, ids.length, 'each exactly once across the 4 processes')
  t.ok(new Set(delivered.map((l) => l.pid)).size > 1, 'by more than one process')
  for (const directory of directories) {
    const got = delivered.filter((l) => l.event.directory_id === directory.id).sort((a, b) => a.at - b.at).map((l) => `${l.event.event} ${l.event.data.id}`)
    t.same(got, expected.get(directory.id), `${directory.tenant}: its events, in its order`)
  }
}))
