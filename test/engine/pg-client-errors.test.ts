// A PostgreSQL backend terminated while a pool's client is checked out but between queries (a restart
// does that) is an 'error' event on the client. pg-pool listens only while a client is idle, and typeorm
// (jackson's own driver) only while a query runner holds it: an event in between was unhandled, and an
// unhandled 'error' event ends the host's process (seen once in CI's outage test). jackson's store now
// runs on the plugin's own client (engine/jackson-driver.ts), whose pool gives every client a listener
// (store/sql-client.ts); typeorm's pool lives only while it creates jackson's tables at registration.
// test/faults/outage.test.ts terminates the backends for real; this pins the parts.
import Fastify from 'fastify'
import t from 'tap'
import { openCore } from '../../src/engine/core.js'
import { withService } from '../helpers/services.js'

t.test('jackson\'s store on PostgreSQL keeps no typeorm pool after registration', (t) =>
  withService(t, 'postgres', 'pg_client_errors', async (t, db) => {
    const core = await openCore({ db, externalUrl: 'http://127.0.0.1:3000', samlPath: '/saml', scimPath: '/scim', connectTimeout: 10_000 }, Fastify().log, 1)
    t.teardown(() => core.close())
    const driver = core.lease.database.db.db as { dataSource?: unknown, getStats?: () => unknown }
    t.equal(driver.dataSource, undefined, 'no typeorm DataSource behind jackson\'s store')
    t.same(driver.getStats?.(), {}, 'the plugin\'s driver serves it')
    const created = await core.run(undefined, (set) => set.directories.create({ tenant: 'acme', product: 'app', type: 'okta-scim-v2' } as never))
    t.equal(created.error, null, 'and jackson stores a directory through it')

    // What it works around: a client straight from pg-pool has no listener once checked out.
    const { default: pg } = await import('pg')
    const bare = new pg.Pool({ connectionString: (db as { url: string }).url, max: 1 })
    const plain = await bare.connect()
    t.equal(plain.listenerCount('error'), 0, 'pg-pool leaves a checked-out client without an error listener')
    plain.release()
    await bare.end()
  }))
