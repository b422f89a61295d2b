// Whatever the plugin accepts, jackson's copy can store: jackson keeps a user in one row of its store,
// a 64 KB TEXT column on MariaDB, and with an encryptionKey as base64 of the ciphertext. A user at
// `limits.resourceBytes` reaches jackson's copy there; one past it is refused up front with a 400 instead
// of being accepted and then failing in jackson's copy (which held that directory's later changes back).
import t from 'tap'
import type { DbOptions } from '../../src/index.js'
import { DEFAULT_LIMITS } from '../../src/scim/limits.js'
import { buildApp, scimUser } from '../helpers/app.js'
import { isScimError, ok, openDirectory, sleep } from '../helpers/scim.js'
import { withService } from '../helpers/services.js'
import { jacksonUserCount } from '../helpers/jackson-copy.js'

t.test('mariadb with an encryptionKey', (t) => withService(t, 'mariadb', 'jackson_copy_size', async (t, db: DbOptions) => {
  const app = await buildApp(t, { ...db, encryptionKey: 'e'.repeat(32) } as DbOptions, { events: { maxAttempts: 1 } })
  const scim = await openDirectory(app, 'sizes')
  const copies = await jacksonUserCount(t, db)

  // As large as accepted: the padding brings the stored body to just under resourceBytes.
  const base = scimUser('large@example.com')
  const padding = DEFAULT_LIMITS.resourceBytes - Buffer.byteLength(JSON.stringify({ ...base, title: '' })) - 16
  await ok(scim, 'POST', '/Users', { ...base, title: 'é'.repeat(Math.floor(padding / 2)) }, 201)
  isScimError(t, await scim.send('POST', '/Users', scimUser('larger@example.com', { title: 'x'.repeat(DEFAULT_LIMITS.resourceBytes) })), 400, 'invalidValue',
    'one past resourceBytes is refused up front')

  for (let i = 0; i < 100 && await copies() < 1; i++) await sleep(100)
  t.equal(await copies(), 1, 'the largest accepted user is in jackson\'s copy')
  t.same((await app.directorySync.events.failed()).data, [], 'and no delivery to it failed')
  await ok(scim, 'POST', '/Users', scimUser('after@example.com'), 201)
  for (let i = 0; i < 100 && await copies() < 2; i++) await sleep(100)
  t.equal(await copies(), 2, 'the directory\'s later changes follow')
}))
