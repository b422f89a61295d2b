// Fairness between directories and limits on unauthenticated callers: the per-directory gate for
// expensive work (a queue, then 429 + Retry-After), scans that let other requests run, the limit on
// failed authentication per client address, the negative cache of unknown directories, and a request
// with two Authorization headers. Mechanisms are tested, never times.
import net from 'node:net'
import t from 'tap'
import { DirectoryCache } from '../../src/engine/directory-cache.js'
import { authorize } from '../../src/scim/auth.js'
import { ScimProblem } from '../../src/scim/errors.js'
import { DirectoryGate } from '../../src/scim/fairness.js'
import { openStore } from '../../src/store/index.js'
import type { Directory, Result } from '../../src/index.js'
import { buildApp, scimUser, sqliteFile } from '../helpers/app.js'
import { isScimError, ok, openDirectory, type Json } from '../helpers/scim.js'

t.test('the gate: concurrency per directory, then a queue, then 429 with Retry-After; directories apart', async (t) => {
  const gate = new DirectoryGate({ concurrency: 1, queue: 1, retryAfter: 7 })
  const order: string[] = []
  let release!: () => void
  const held = new Promise<void>((resolve) => { release = resolve })
  const first = gate.run('a', async () => { order.push('first'); await held })
  const second = gate.run('a', async () => { order.push('second') })
  t.same(gate.load('a'), { running: 1, waiting: 1 })
  const third = await gate.run('a', async () => 'ran').catch((err) => err)
  t.type(third, ScimProblem, 'past the queue: refused')
  t.equal(third.status, 429)
  t.same(third.headers, { 'retry-after': '7' })
  t.equal(await gate.run('b', async () => 'other directory'), 'other directory', 'another directory runs meanwhile')
  release()
  await Promise.all([first, second])
  t.same(order, ['first', 'second'], 'the waiting one runs when the slot is handed over')
  t.same(gate.load('a'), { running: 0, waiting: 0 }, 'nothing left behind')
})

t.test('expensive requests: one directory queued and refused, another served', async (t) => {
  const db = sqliteFile(t)
  const app = await buildApp(t, db, { fairness: { concurrency: 1, queue: 1, retryAfter: 2 } })
  const a = await openDirectory(app, 'attacker')
  const b = await openDirectory(app, 'victim')
  const store = await openStore(db)
  t.teardown(() => store.close())
  const time = new Date().toISOString()
  for (let i = 0; i < 3000; i++) {
    const body = scimUser(`u${i}@a.example.com`)
    await store.insert({ directoryId: a.directory.id, type: 'User', id: `a-${i}`, keys: { name: body.userName, externalId: null, displayName: null }, body, created: time, lastModified: time, version: 1 })
  }
  const bUser = await ok(b, 'POST', '/Users', scimUser('victim@b.example.com'), 201)
  const scan = () => a.send('GET', `/Users?filter=${encodeURIComponent('name.familyName co "nobody"')}&count=1000`)
  const finished: string[] = []
  const scans = [scan(), scan(), scan(), scan()].map((p) => p.then((res) => { finished.push('scan'); return res }))
  const read = b.send('GET', `/Users/${bUser.id}`).then((res) => { finished.push('read'); return res })
  const [results, readRes] = await Promise.all([Promise.all(scans), read])
  t.equal(readRes.statusCode, 200, 'the other directory\'s read is served')
  t.ok(finished.indexOf('read') < finished.lastIndexOf('scan'), 'and answered before the scans are through (they let it run between batches)')
  const statuses = results.map((r) => r.statusCode).sort()
  t.same(statuses, [200, 200, 429, 429], 'one running, one queued, the rest refused')
  const refused = results.find((r) => r.statusCode === 429)!
  isScimError(t, refused, 429)
  t.equal(refused.headers['retry-after'], '2', 'with Retry-After')
  t.equal(results.find((r) => r.statusCode === 200)!.json().totalResults, 0, 'a refused scan does not change the answer of the others')
  t.equal((await scan()).statusCode, 200, 'afterwards the directory is served again')
})

t.test('a large body takes its directory\'s slot before it is read: past the queue it is refused unread', async (t) => {
  const app = await buildApp(t, sqliteFile(t), { fairness: { concurrency: 1, queue: 0, retryAfter: 3 } })
  const a = await openDirectory(app, 'bodies')
  const b = await openDirectory(app, 'others')
  const big = (scim: typeof a, i: number) => scim.send('POST', '/Users', scimUser(`big${i}@example.com`, { title: 'x'.repeat(20_000), nickName: 'y'.repeat(50_000) }))
  const [first, second] = await Promise.all([big(a, 1), big(a, 2)])
  t.same([first.statusCode, second.statusCode].sort(), [400, 429], 'one is read (and refused for its size), the other answered 429 before its body was read')
  const refused = first.statusCode === 429 ? first : second
  t.equal(refused.headers['retry-after'], '3')
  t.equal((await big(b, 3)).statusCode, 400, 'another directory\'s slot is its own')
  t.equal((await big(a, 4)).statusCode, 400, 'the slot was given back with the response')
  t.equal((await a.send('POST', '/Users', scimUser('small@example.com'))).statusCode, 201, 'a small body never waits')
})

t.test('failed authentication is limited per client address; a valid token is still accepted from it', async (t) => {
  const app = await buildApp(t, sqliteFile(t), { authFailures: { max: 3, windowMs: 60_000 } })
  const scim = await openDirectory(app, 'limited')
  const request = (remoteAddress: string, token: string) => app.inject({
    method: 'GET', url: `${scim.base}/Users`, remoteAddress, headers: { authorization: `Bearer ${token}` }
  })
  for (let i = 0; i < 3; i++) t.equal((await request('10.0.0.1', 'wrong')).statusCode, 401, `failure ${i + 1} of 10.0.0.1: 401`)
  const limited = await request('10.0.0.1', 'wrong')
  isScimError(t, limited, 429, undefined, 'past the limit: 429')
  t.ok(Number(limited.headers['retry-after']) >= 1 && Number(limited.headers['retry-after']) <= 60, 'Retry-After within the window')
  t.equal((await request('10.0.0.2', 'wrong')).statusCode, 401, 'another address is not limited')
  t.equal((await request('10.0.0.1', scim.directory.scim.secret)).statusCode, 200, 'a valid token from the limited address succeeds')
  const unknown = await app.inject({ method: 'GET', url: '/api/scim/v2.0/no-such-directory/Users', remoteAddress: '10.0.0.1', headers: { authorization: 'Bearer x' } })
  t.equal(unknown.statusCode, 429, 'an unknown directory counts as a failure too')

  const off = await buildApp(t, sqliteFile(t), { authFailures: false })
  const other = await openDirectory(off, 'unlimited')
  for (let i = 0; i < 30; i++) {
    const res = await off.inject({ method: 'GET', url: `${other.base}/Users`, remoteAddress: '10.0.0.9', headers: { authorization: 'Bearer wrong' } })
    if (res.statusCode !== 401) t.fail(`authFailures: false: ${res.statusCode}`)
  }
  t.pass('authFailures: false never answers 429')
})

t.test('an unknown directory id and a wrong token make the same directory reads', async (t) => {
  const directory = { id: 'known', scim: { secret: 'right' }, deactivated: false } as unknown as Directory
  let reads = 0
  const cache = new DirectoryCache(async (id): Promise<Result<Directory>> => {
    reads++
    return id === 'known' ? { data: directory, error: null } : { data: null, error: { message: 'not found', code: 404 } }
  }, 60_000)
  const count = async (fn: () => Promise<unknown>) => { const before = reads; await fn(); return reads - before }
  const unknownReads = await count(async () => { for (let i = 0; i < 5; i++) await authorize((id) => cache.get(id), 'unknown', 'x') })
  const wrongReads = await count(async () => { for (let i = 0; i < 5; i++) await authorize((id) => cache.get(id), 'known', 'x') })
  t.equal(unknownReads, 1, 'an unknown id is read once, then remembered')
  t.equal(wrongReads, unknownReads, 'as many as a wrong token for a directory that exists')
  t.equal(await count(() => authorize((id) => cache.get(id), 'not a directory id \u0000', 'x')), 0, 'what cannot be an id is not read at all')
  cache.forget('unknown')
  t.equal(await count(() => cache.get('unknown')), 1, 'forget (on create) makes it read again')
})

t.test('two Authorization headers answer 400', async (t) => {
  const app = await buildApp(t, sqliteFile(t))
  const scim = await openDirectory(app, 'headers')
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  const port = Number(new URL(address).port)
  const raw = (headers: string) => new Promise<{ status: number, body: Json }>((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(`GET ${scim.base}/Users HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}Connection: close\r\n\r\n`)
    })
    let data = ''
    socket.on('data', (chunk) => { data += chunk })
    socket.on('end', () => {
      const [head, body] = data.split('\r\n\r\n')
      const chunked = /transfer-encoding: chunked/i.test(head)
      const json = chunked ? body.split('\r\n').filter((_, i) => i % 2 === 1).join('') : body
      resolve({ status: Number(head.split(' ')[1]), body: JSON.parse(json) })
    })
    socket.on('error', reject)
  })
  const secret = scim.directory.scim.secret
  t.equal((await raw(`Authorization: Bearer ${secret}\r\n`)).status, 200, 'one header: served')
  const two = await raw(`Authorization: Bearer ${secret}\r\nAuthorization: Bearer other\r\n`)
  t.equal(two.status, 400, 'two headers: 400')
  t.equal(two.body.status, '400', 'a SCIM error')
  t.equal((await raw(`Authorization: Bearer other\r\nAuthorization: Bearer ${secret}\r\n`)).status, 400, 'whichever comes first')
})
