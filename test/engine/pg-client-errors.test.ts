// A PostgreSQL backend terminated while a pool's client is checked out but between queries (a restart
// does that) is an 'error' event on the client. pg-pool listens only while a client is idle, typeorm
// (jackson's connection) only while a query runner holds it: an event in between was unhandled, and an
// unhandled 'error' event ends the host's process (seen once in CI's outage test). Every client of
// jackson's pool gets a listener (engine/database.ts guardPgClients); this pins both halves.
import Fastify from 'fastify'
import t from 'tap'
import { openCore } from '../../src/engine/core.js'
import { withService } from '../helpers/services.js'

interface PgClient { emit: (event: string, err: Error) => boolean, listenerCount: (event: string) => number, release: (err?: Error) => void }
interface PgPool { connect: () => Promise<PgClient> }

t.test('a checked-out client of jackson\'s pool erroring between queries does not throw', (t) =>
  withService(t, 'postgres', 'pg_client_errors', async (t, db) => {
    const core = await openCore({ db, externalUrl: 'http://127.0.0.1:3000', samlPath: '/saml', scimPath: '/scim', connectTimeout: 10_000 }, Fastify().log, 1)
    t.teardown(() => core.close())
    const pool = (core.lease.database.db.db as any).dataSource.driver.master as PgPool
    const client = await pool.connect()
    try {
      t.ok(client.listenerCount('error') >= 1, 'a checked-out client has a listener of its own')
      t.doesNotThrow(() => client.emit('error', new Error('terminating connection due to administrator command')), 'its error event is handled')
    } finally {
      client.release(new Error('discarded by the test'))
    }
    // What it works around: a client straight from pg-pool has no listener once checked out.
    const { default: pg } = await import('pg')
    const bare = new pg.Pool({ connectionString: (db as { url: string }).url, max: 1 })
    const plain = await bare.connect()
    t.equal(plain.listenerCount('error'), 0, 'pg-pool leaves a checked-out client without an error listener')
    plain.release()
    await bare.end()
  }))
