// Registration, sharing and closing: the database is shared by registrations on the same database,
// closed by the last one, reopened fresh after that, and nothing keeps a process alive after close.
import { spawn } from 'node:child_process'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import Fastify from 'fastify'
import t from 'tap'
import fastifyDirectorySync, { type DbOptions } from '../../src/index.js'
import { buildApp, externalUrl, mem, sqliteFile } from '../helpers/app.js'
import { createDirectory } from '../helpers/directory.js'

const child = fileURLToPath(new URL('./children/serve-and-close.ts', import.meta.url))

function runChild (db: DbOptions): Promise<{ output: any, exitedAt: number, code: number | null }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child, JSON.stringify(db)], { stdio: ['ignore', 'pipe', 'inherit'] })
    let stdout = ''
    proc.stdout.on('data', (chunk) => { stdout += chunk })
    const killer = setTimeout(() => proc.kill('SIGKILL'), 30_000)
    proc.on('error', reject)
    proc.on('exit', (code) => {
      clearTimeout(killer)
      const exitedAt = Date.now()
      try {
        resolve({ output: JSON.parse(stdout.trim().split('\n').pop()!), exitedAt, code })
      } catch {
        reject(new Error(`child printed no result (exit ${code}): ${stdout}`))
      }
    })
  })
}

for (const [name, db] of [['mem', mem], ['sqlite file', undefined]] as const) {
  t.test(`a process exits by itself within 2 s of app.close() (${name})`, async (t) => {
    const { output, exitedAt, code } = await runChild(db ?? sqliteFile(t))
    t.equal(output.status, 200, 'the request was served')
    t.equal(output.body.count, 1)
    t.equal(code, 0)
    t.ok(exitedAt - output.closedAt < 2000, `exited ${exitedAt - output.closedAt} ms after close`)
  })
}

t.test('registrations on the same database share it; closing one leaves the other working', async (t) => {
  const db = sqliteFile(t)
  const first = Fastify()
  await first.register(fastifyDirectorySync, { db, externalUrl })
  const second = Fastify()
  t.after(() => second.close())
  await second.register(fastifyDirectorySync, { db, externalUrl })
  const directory = await createDirectory(first, 'shared')
  t.equal((await second.directorySync.directories.get(directory.id)).data?.id, directory.id, 'one store behind both')
  await first.close()
  t.equal((await second.directorySync.directories.get(directory.id)).data?.id, directory.id, 'the other still works')
  await t.rejects(first.directorySync.directories.get(directory.id), { code: 'FST_DSYNC_CLOSED' }, 'the closed one says so')
})

t.test('register → close → register again works with a fresh connection', async (t) => {
  const db = sqliteFile(t)
  const first = Fastify()
  await first.register(fastifyDirectorySync, { db, externalUrl })
  const directory = await createDirectory(first, 'again')
  await first.close()
  const app = await buildApp(t, db)
  t.equal((await app.directorySync.directories.get(directory.id)).data?.tenant, 'again')
})

t.test('registrations on different databases in one process each keep their own', async (t) => {
  const a = await buildApp(t, sqliteFile(t, 'a.db'))
  const b = await buildApp(t, sqliteFile(t, 'b.db'))
  const inA = await createDirectory(a, 'in-a')
  t.equal((await b.directorySync.directories.get(inA.id)).error?.code, 404)
  t.equal((await a.directorySync.directories.get(inA.id)).data?.id, inA.id)
})

t.test('sharing a database with other settings is refused, naming the setting', async (t) => {
  const db = sqliteFile(t)
  await buildApp(t, db)
  const other = Fastify()
  t.after(() => other.close())
  await t.rejects(async () => { await other.register(fastifyDirectorySync, { db: { ...db, encryptionKey: 'k'.repeat(32) }, externalUrl }) }, {
    code: 'FST_DSYNC_DB_CONFLICT',
    message: /encryptionKey/
  })
})

t.test('an unreachable database fails registration within connectTimeout', async (t) => {
  // A server that accepts connections and never answers: the slowest way for a database to fail.
  const sockets = new Set<net.Socket>()
  const silent = net.createServer((socket) => { sockets.add(socket) })
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  t.after(() => { for (const s of sockets) s.destroy(); silent.close() })
  const port = (silent.address() as net.AddressInfo).port
  const cases: Array<[string, DbOptions]> = [
    ['postgres', { engine: 'sql', type: 'postgres', url: `postgres://postgres@127.0.0.1:${port}/x` }],
    ['mariadb', { engine: 'sql', type: 'mariadb', url: `mariadb://root@127.0.0.1:${port}/x` }],
    ['redis', { engine: 'redis', url: `redis://127.0.0.1:${port}` }]
  ]
  for (const [name, db] of cases) {
    const app = Fastify()
    const started = Date.now()
    await t.rejects(async () => { await app.register(fastifyDirectorySync, { db, externalUrl, connectTimeout: 500 }) }, {
      code: 'FST_DSYNC_DB_UNREACHABLE',
      message: new RegExp(`the ${name} database did not answer within 500 ms`)
    }, name)
    const elapsed = Date.now() - started
    t.ok(elapsed < 3000, `${name} gave up after ${elapsed} ms`)
    await app.close().catch(() => {})
  }
})

t.test('a database that refuses connections is retried until connectTimeout; a sqlite file in a missing folder fails at once', async (t) => {
  const app = Fastify()
  const started = Date.now()
  await t.rejects(async () => { await app.register(fastifyDirectorySync, { db: { engine: 'sql', type: 'postgres', url: 'postgres://postgres@127.0.0.1:1/x' }, externalUrl, connectTimeout: 1500 }) },
    { code: 'FST_DSYNC_DB_UNREACHABLE', message: /ECONNREFUSED/ })
  t.ok(Date.now() - started >= 1000, 'retried for about connectTimeout (it may come up: containers start in any order)')
  await app.close().catch(() => {})
  const other = Fastify()
  await t.rejects(async () => { await other.register(fastifyDirectorySync, { db: { engine: 'sql', type: 'sqlite', url: '/nonexistent-folder/dsync.db' }, externalUrl, connectTimeout: 5000 }) },
    { code: 'FST_DSYNC_DB_MISSING', message: /nonexistent-folder/ })
  await other.close().catch(() => {})
})
