// Registration waits for a database that is not up yet (the usual container start order), and fails at
// once, each with its own error code, on what waiting cannot fix: refused credentials, a database that
// does not exist. A TCP proxy of the test's own stands in for the database that comes up late.
import Fastify from 'fastify'
import t from 'tap'
import fastifyDirectorySync, { type DbOptions } from '../../src/index.js'
import { externalUrl } from '../helpers/app.js'
import { serverOf, tcpProxy } from '../helpers/proxy.js'
import { sleep } from '../helpers/scim.js'
import { withService } from '../helpers/services.js'

async function register (db: DbOptions, connectTimeout: number) {
  const app = Fastify()
  const started = Date.now()
  try {
    await app.register(fastifyDirectorySync, { db, externalUrl, connectTimeout })
    await app.ready()
    return { app, error: undefined, ms: Date.now() - started }
  } catch (error) {
    await app.close().catch(() => {})
    return { app: undefined, error: error as Error & { code?: string }, ms: Date.now() - started }
  }
}

for (const service of ['postgres', 'mariadb'] as const) {
  t.test(`${service}: a database that comes up 1 s after the app`, (t) => withService(t, service, 'registration_wait', async (t, db) => {
    const proxy = await tcpProxy(t, serverOf(db))
    proxy.cut()
    const late = { ...db, url: proxy.through((db as { url: string }).url) } as DbOptions
    setTimeout(() => proxy.restore(), 1000)
    const { app, error, ms } = await register(late, 5000)
    t.equal(error, undefined, `registration succeeded after ${ms} ms`)
    t.ok(ms >= 900, 'having waited for the database')
    if (app !== undefined) {
      const { data } = await app.directorySync.directories.create({ tenant: 'late', product: 'p' })
      t.ok(data?.id, 'and the app works')
      await app.close()
    }
  }))

  t.test(`${service}: what waiting cannot fix fails at once, with its own code`, (t) => withService(t, service, 'registration_fail', async (t, db) => {
    const url = new URL((db as { url: string }).url)
    const missing = new URL(url)
    missing.pathname = '/dsync_no_such_database'
    const refused = new URL(url)
    refused.username = 'dsync_no_such_role'
    if (service === 'mariadb') refused.password = 'wrong'
    for (const [what, target, code] of [['a missing database', missing, 'FST_DSYNC_DB_MISSING'], ['refused credentials', refused, 'FST_DSYNC_DB_REFUSED']] as const) {
      const { error, ms } = await register({ ...db, url: target.toString() } as DbOptions, 10_000)
      t.equal(error?.code, code, `${what}: ${code}`)
      t.match(error?.message, /database/, 'with a message naming the cause')
      t.ok(ms < 5000, `${what}: failed after ${ms} ms, not after connectTimeout`)
    }
  }))
}

t.test('an unknown host is retried (DNS may know it soon), then fails with the cause', async (t) => {
  const { error, ms } = await register({ engine: 'sql', type: 'postgres', url: 'postgres://postgres@no-such-host.invalid:5432/x' }, 1200)
  t.equal(error?.code, 'FST_DSYNC_DB_UNREACHABLE')
  t.match(error?.message, /ENOTFOUND|getaddrinfo/, 'naming the cause')
  t.ok(ms >= 1000, `after connectTimeout (${ms} ms)`)
  await sleep(0)
})
