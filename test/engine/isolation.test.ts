// Tenant isolation under concurrency: 4 tenants × 250 creates, interleaved and all in flight at once,
// through the plugin's controller. jackson alone mixes tenants here (see jackson-pinned.test.ts).
import t, { type Test } from 'tap'
import type { DbOptions } from '../../src/index.js'
import { buildApp, mem, scimUser, sqliteFile } from '../helpers/app.js'
import { allUsers, createDirectory } from '../helpers/directory.js'
import { withService } from '../helpers/services.js'

const TENANTS = 4
const PER_TENANT = 250

async function provisionConcurrently (t: Test, db: DbOptions) {
  const app = await buildApp(t, db)
  const directories = []
  for (let i = 0; i < TENANTS; i++) directories.push(await createDirectory(app, `tenant-${i}`))

  // Round-robin over the tenants, so that consecutive calls always switch tenant.
  const creates = []
  for (let n = 0; n < PER_TENANT; n++) {
    for (const [i, directory] of directories.entries()) {
      creates.push(app.directorySync.requests.handle({
        method: 'POST',
        directoryId: directory.id,
        resourceType: 'users',
        resourceId: undefined,
        apiSecret: directory.scim.secret,
        query: {},
        body: scimUser(`user${n}@tenant-${i}.example.com`)
      }))
    }
  }
  const responses = await Promise.all(creates)
  t.same(responses.filter((r) => r.status !== 201).map((r) => r.status), [], 'every create answered 201')

  for (const [i, directory] of directories.entries()) {
    const users = await allUsers(app, directory.id)
    t.equal(users.length, PER_TENANT, `tenant-${i} holds its ${PER_TENANT} users`)
    t.same(users.filter((u) => !u.email.endsWith(`@tenant-${i}.example.com`)).map((u) => u.email), [], `tenant-${i} holds no other tenant's user`)
    const other = directories[(i + 1) % TENANTS]
    let readable = 0
    let leaked = 0
    for (const user of users) {
      if ((await app.directorySync.users.get(directory.id, user.id)).error === null) readable++
      if ((await app.directorySync.users.get(other.id, user.id)).error === null) leaked++
    }
    t.equal(readable, PER_TENANT, `every tenant-${i} user is readable through its own directory`)
    t.equal(leaked, 0, `no tenant-${i} user is readable through another tenant's directory`)
  }
}

t.test('mem', (t) => provisionConcurrently(t, mem))
t.test('sqlite file', (t) => provisionConcurrently(t, sqliteFile(t)))
t.test('postgres', (t) => withService(t, 'postgres', 'isolation', provisionConcurrently))
