// Round trips per write on PostgreSQL, counted as issue 14 defines them: every query the process sends
// (the plugin's, jackson's copy's, the queue's, background work included) from the first write until
// every handler has caught up, divided by the writes. The pollers' own queries while idle (measured
// before, per second) are taken off; the status reads that look whether it caught up are not counted. The plugin runs in this process on a
// fresh database, driven through inject (no HTTP: the count is of database round trips), 8 writes at a
// time. `npm run bench:round-trips -- [writes]` (default 400); needs PostgreSQL on 127.0.0.1:5432.
import pg from 'pg'
import Fastify from 'fastify'
import fastifyDirectorySync from '../src/index.js'

// `--no-copy`: with jacksonCopy: false (reported beside the default, which is what is judged).
const noCopy = process.argv.includes('--no-copy')
const WRITES = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 400)
const ADMIN = process.env.DSYNC_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const DATABASE = 'dsync_round_trips'

// DSYNC_BREAKDOWN=1: also each scenario's queries per write, by their first 70 characters.
const breakdown = process.env.DSYNC_BREAKDOWN === '1' ? new Map<string, number>() : undefined
let queries = 0
let counting = true
const query = pg.Client.prototype.query
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  if (counting) {
    queries++
    if (breakdown !== undefined) {
      const first = args[0] as string | { text?: string }
      const text = (typeof first === 'string' ? first : first?.text ?? '?').replace(/\s+/g, ' ').slice(0, 70)
      breakdown.set(text, (breakdown.get(text) ?? 0) + 1)
    }
  }
  return (query as (...a: unknown[]) => unknown).apply(this, args)
} as typeof query

async function admin (sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN })
  await client.connect()
  try { await client.query(sql) } finally { await client.end() }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function pool<T> (items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: limit }, async () => { while (next < items.length) await fn(items[next++]) }))
}

await admin(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`)
await admin(`CREATE DATABASE ${DATABASE}`)
const url = new URL(ADMIN)
url.pathname = `/${DATABASE}`
const app = Fastify({ logger: false })
// A host that reacts to the events, as the bench's plugin server and the example do: one onScimEvent hook.
await app.register(fastifyDirectorySync, { db: { engine: 'sql', type: 'postgres', url: url.href }, externalUrl: 'http://127.0.0.1:3000', jacksonCopy: !noCopy, onScimEvent () {} })
const { data: directory } = await app.directorySync.directories.create({ tenant: 'rt', product: 'bench' })
const base = new URL(directory!.scim.endpoint!).pathname
const headers = { authorization: `Bearer ${directory!.scim.secret}`, 'content-type': 'application/scim+json' }
const send = async (method: 'POST' | 'PATCH', path: string, body: unknown, status: number) => {
  const res = await app.inject({ method, url: base + path, headers, payload: JSON.stringify(body) })
  if (res.statusCode !== status) throw new Error(`${method} ${path} answered ${res.statusCode}: ${res.body}`)
  return res.json()
}
const user = (i: number) => ({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `user.${i}@rt.example`, name: { givenName: 'U', familyName: String(i) }, emails: [{ value: `user.${i}@rt.example`, primary: true }], active: true })
const patch = (...Operations: unknown[]) => ({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations })

/** Until no handler has an event pending (the status read itself not counted). */
async function caughtUp (): Promise<void> {
  for (;;) {
    counting = false
    const { data } = await app.directorySync.directories.status(directory!.id)
    counting = true
    if (data!.deliveries.every((d) => d.pending === 0)) return
    await sleep(50)
  }
}

// The pollers' queries while nothing happens, per second.
await caughtUp()
await sleep(1000)
let before = queries
let started = Date.now()
await sleep(5000)
const idlePerSecond = (queries - before) / ((Date.now() - started) / 1000)

const figures: Array<[string, number]> = []
async function measure (name: string, items: number[], fn: (i: number) => Promise<void>) {
  await caughtUp()
  before = queries
  started = Date.now()
  breakdown?.clear()
  await pool(items, 8, fn)
  await caughtUp()
  const polls = idlePerSecond * (Date.now() - started) / 1000
  figures.push([name, (queries - before - polls) / items.length])
  if (breakdown === undefined) return
  console.log(`${name}, queries per write:`)
  for (const [text, n] of [...breakdown].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`  ${(n / items.length).toFixed(2)}  ${text}`)
}

const ids: string[] = []
const indexes = Array.from({ length: WRITES }, (_, i) => i)
await measure('POST /Users', indexes, async (i) => { ids[i] = (await send('POST', '/Users', user(i), 201)).id })
await measure('PATCH deactivate', indexes, async (i) => { await send('PATCH', `/Users/${ids[i]}`, patch({ op: 'replace', path: 'active', value: false }), 200) })
const groups: string[] = []
for (let g = 0; g < 8; g++) groups.push((await send('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: `G${g}` }, 201)).id)
// membership
await measure('membership PATCH', indexes, async (i) => { await send('PATCH', `/Groups/${groups[i % 8]}`, patch({ op: 'add', path: 'members', value: [{ value: ids[i] }] }), 200) })

await app.close()
await admin(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`)
console.log(noCopy ? 'jacksonCopy: false' : 'jacksonCopy: true (default)')
console.log(`idle: ${idlePerSecond.toFixed(1)} queries per second (taken off)`)
for (const [name, perWrite] of figures) console.log(`${name}: ${perWrite.toFixed(1)} round trips per write (${WRITES} writes, until every handler caught up)`)
