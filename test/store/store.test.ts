// One behavioural suite for every resource store: memory, sqlite, PostgreSQL, MariaDB and Redis. Each
// case works in a directory of its own (a random id), so that the memory store, which lives as long as
// the process, and the shared databases carry nothing from one case to the next.
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { openStore } from '../../src/store/index.js'
import { openMemoryStore } from '../../src/store/memory.js'
import { openSqlStore } from '../../src/store/sql.js'
import {
  UniquenessError, type ResourceKeys, type ResourceStore, type ResourceType, type StoredResource
} from '../../src/store/types.js'
import { withService } from '../helpers/services.js'

const created = '2024-05-01T10:00:00.000Z'

function resource (directoryId: string, type: ResourceType, name: string, keys: Partial<ResourceKeys> = {}, id: string = randomUUID()): StoredResource {
  return {
    directoryId,
    type,
    id,
    keys: { name, externalId: null, displayName: null, ...keys },
    body: type === 'User' ? { userName: name, active: true } : { displayName: name },
    created,
    lastModified: created,
    version: 1
  }
}

async function rejection (promise: Promise<unknown>): Promise<unknown> {
  return promise.then(() => undefined, (err: unknown) => err)
}

async function isUniquenessError (t: Test, promise: Promise<unknown>, type: ResourceType, message: string): Promise<void> {
  const err = await rejection(promise)
  t.ok(err instanceof UniquenessError, message)
  t.equal((err as UniquenessError | undefined)?.type, type, 'the error names the type')
}

async function all<T> (iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = []
  for await (const item of iterable) items.push(item)
  return items
}

const ids = (resources: StoredResource[]) => resources.map((r) => r.id)

async function suite (t: Test, open: () => Promise<ResourceStore>): Promise<void> {
  const store = await open()
  t.after(() => store.close())

  t.test('insert and get round trip', async (t) => {
    const directory = randomUUID()
    const user: StoredResource = {
      directoryId: directory,
      type: 'User',
      id: randomUUID(),
      keys: { name: 'jane.doe@example.com', externalId: 'ext-1', displayName: 'jane doe' },
      body: {
        userName: 'Jane.Doe@example.com',
        name: { givenName: 'Jäne', familyName: 'Doe 🌍' },
        emails: [{ value: 'jane.doe@example.com', primary: true }],
        active: true,
        logins: 3,
        manager: null
      },
      created: '2024-05-01T10:00:00.000Z',
      lastModified: '2024-05-02T11:30:00.000Z',
      version: 7
    }
    await store.insert(user)
    t.strictSame(await store.get(directory, 'User', user.id), user, 'body, keys, created, lastModified and version come back')
    const group = resource(directory, 'Group', 'sales', { displayName: null })
    await store.insert(group)
    t.strictSame(await store.get(directory, 'Group', group.id), group)
    t.equal(await store.get(directory, 'Group', user.id), null, 'a user is not found as a group')
    t.equal(await store.get(directory, 'User', group.id), null, 'a group is not found as a user')
    t.equal(await store.get(randomUUID(), 'User', user.id), null, 'nor in another directory')
    t.equal(await store.get(directory, 'User', randomUUID()), null, 'an unknown id is null')
  })

  t.test('keys.name is unique per directory and type', async (t) => {
    const directory = randomUUID()
    await store.insert(resource(directory, 'User', 'ann'))
    await isUniquenessError(t, store.insert(resource(directory, 'User', 'ann')), 'User', 'the same name twice is refused')
    await store.insert(resource(randomUUID(), 'User', 'ann'))
    t.pass('the same name in another directory is fine')
    await store.insert(resource(directory, 'Group', 'ann'))
    t.pass('the same name for the other type is fine')
    await isUniquenessError(t, store.insert(resource(directory, 'Group', 'ann')), 'Group', 'and unique there too')
    t.equal((await store.list(directory, 'User', { offset: 0, limit: 10 })).total, 1, 'the refused insert left nothing')

    const racers = Array.from({ length: 20 }, () => resource(directory, 'User', 'bob'))
    const results = await Promise.allSettled(racers.map((r) => store.insert(r)))
    t.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'of 20 concurrent inserts of one name, one succeeds')
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    t.ok(refused.every((r) => r.reason instanceof UniquenessError), 'the others are UniquenessErrors')
    const winner = racers[results.findIndex((r) => r.status === 'fulfilled')]
    const found = await store.list(directory, 'User', { lookup: { key: 'name', value: 'bob' }, offset: 0, limit: 10 })
    t.same(ids(found.items), [winner.id], 'the winner holds the name')
    t.equal(found.total, 1)
    t.equal((await store.list(directory, 'User', { offset: 0, limit: 100 })).total, 2, 'no loser was stored')
  })

  t.test('keys are compared exactly as given', async (t) => {
    const directory = randomUUID()
    const names = ['jose', 'josé', 'ann', 'ann ', 'Ann']
    for (const name of names) {
      const err = await rejection(store.insert(resource(directory, 'User', name, { externalId: name, displayName: name })))
      t.equal(err, undefined, `${JSON.stringify(name)} is a name of its own`)
    }
    t.equal((await store.list(directory, 'User', { offset: 0, limit: 10 })).total, names.length, 'names differing by accent, case or trailing space are distinct')
    for (const key of ['name', 'externalId', 'displayName'] as const) {
      for (const name of names) {
        const found = await store.list(directory, 'User', { lookup: { key, value: name }, offset: 0, limit: 10 })
        t.same(found.items.map((r) => r.keys.name), [name], `${key} ${JSON.stringify(name)} finds only itself`)
      }
    }
  })

  t.test('replace', async (t) => {
    const directory = randomUUID()
    const ann = resource(directory, 'User', 'ann', { externalId: 'e-ann', displayName: 'ann smith' })
    const bob = resource(directory, 'User', 'bob')
    await store.insert(ann)
    await store.insert(bob)

    const v2: StoredResource = {
      ...ann,
      keys: { name: 'ann', externalId: 'e-ann-2', displayName: 'ann jones' },
      body: { userName: 'ann', active: false, title: 'CEO' },
      lastModified: '2024-06-01T00:00:00.000Z',
      version: 2
    }
    t.equal(await store.replace(v2), true, 'version + 1 is written')
    t.strictSame(await store.get(directory, 'User', ann.id), v2, 'the new body and keys are read back')
    const byExternal = (value: string) => store.list(directory, 'User', { lookup: { key: 'externalId', value }, offset: 0, limit: 10 })
    const byDisplay = (value: string) => store.list(directory, 'User', { lookup: { key: 'displayName', value }, offset: 0, limit: 10 })
    t.same(ids((await byExternal('e-ann-2')).items), [ann.id], 'the new externalId finds it')
    t.equal((await byExternal('e-ann')).total, 0, 'the old one no longer does')
    t.same(ids((await byDisplay('ann jones')).items), [ann.id], 'the new displayName finds it')
    t.equal((await byDisplay('ann smith')).total, 0, 'the old one no longer does')
    t.same(ids((await store.list(directory, 'User', { offset: 0, limit: 10 })).items), [ann.id, bob.id], 'a replace keeps the creation order')

    const stale = { ...v2, body: { userName: 'ann', stale: true }, version: 2 }
    t.equal(await store.replace(stale), false, 'a stale version is refused')
    t.equal(await store.replace({ ...stale, version: 5 }), false, 'so is a version from the future')
    t.strictSame(await store.get(directory, 'User', ann.id), v2, 'and nothing changed')

    const taken = { ...v2, keys: { ...v2.keys, name: 'bob' }, version: 3 }
    await isUniquenessError(t, store.replace(taken), 'User', 'renaming to a name another holds is refused')
    t.strictSame(await store.get(directory, 'User', ann.id), v2, 'and nothing changed')
    t.strictSame(await store.get(directory, 'User', bob.id), bob, 'the holder neither')

    const renamed = { ...v2, keys: { ...v2.keys, name: 'anne' }, body: { userName: 'anne' }, version: 3 }
    t.equal(await store.replace(renamed), true, 'a rename to a free name is written')
    const byName = (value: string) => store.list(directory, 'User', { lookup: { key: 'name', value }, offset: 0, limit: 10 })
    t.same(ids((await byName('anne')).items), [ann.id], 'the new name finds it')
    t.equal((await byName('ann')).total, 0, 'the old name finds nothing')
    const newcomer = resource(directory, 'User', 'ann')
    await store.insert(newcomer)
    t.pass('the old name is free again')
    t.same(ids((await byName('ann')).items), [newcomer.id], 'and finds the newcomer')
    await isUniquenessError(t, store.insert(resource(directory, 'User', 'anne')), 'User', 'the new name is held')

    const racers = [1, 2, 3, 4, 5].map((n) => ({ ...renamed, body: { userName: 'anne', n }, version: 4 }))
    const results = await Promise.all(racers.map((r) => store.replace(r)))
    t.equal(results.filter((written) => written).length, 1, 'of concurrent replaces of one version, one is written')
    t.same((await store.get(directory, 'User', ann.id))?.body, racers[results.indexOf(true)].body, 'the one that answered true')

    t.equal(await store.replace(resource(directory, 'User', 'nobody', {}, randomUUID())), false, 'replacing an unknown id answers false')
    const group = resource(directory, 'Group', 'g')
    await store.insert(group)
    t.equal(await store.replace({ ...group, type: 'User', version: 2 }), false, 'replacing with the wrong type answers false')
    t.strictSame(await store.get(directory, 'Group', group.id), group)
  })

  t.test('list', async (t) => {
    const directory = randomUUID()
    // ids sort against creation order, so that an order by id shows
    const users = ['e', 'd', 'c', 'b', 'a'].map((name, n) => resource(directory, 'User', name, {}, `${9 - n}-${randomUUID()}`))
    for (const user of users) await store.insert(user)
    await store.insert(resource(directory, 'Group', 'staff'))
    await store.insert(resource(randomUUID(), 'User', 'z'))

    const page = (offset: number, limit: number) => store.list(directory, 'User', { offset, limit })
    const everything = await page(0, 100)
    t.same(ids(everything.items), ids(users), 'in creation order')
    t.strictSame(everything.items, users, 'whole resources')
    t.equal(everything.total, 5, 'total counts every user of the directory')
    const window = await page(1, 2)
    t.same(ids(window.items), ids(users.slice(1, 3)), 'offset and limit give the window')
    t.equal(window.total, 5, 'with the full total')
    t.same(ids((await page(3, 10)).items), ids(users.slice(3)), 'a window past the end is cut')
    t.same(await page(0, 0), { total: 5, items: [] }, 'limit 0 answers the total and no items')
    t.same(await page(5, 10), { total: 5, items: [] }, 'an offset at the end answers no items')
    t.same(await page(50, 10), { total: 5, items: [] }, 'so does one past it')
    t.same(await store.list(randomUUID(), 'User', { offset: 0, limit: 10 }), { total: 0, items: [] }, 'an unknown directory is empty')
    const groups = await store.list(directory, 'Group', { offset: 0, limit: 10 })
    t.equal(groups.total, 1, 'groups are listed apart')
    t.same(groups.items.map((g) => g.keys.name), ['staff'])
  })

  t.test('lookups', async (t) => {
    const directory = randomUUID()
    const ann = resource(directory, 'User', 'ann', { externalId: 'E1', displayName: 'ann smith' })
    const bob = resource(directory, 'User', 'bob', { externalId: 'E2', displayName: 'same' })
    const cat = resource(directory, 'User', 'cat', { displayName: 'same' })
    const dan = resource(directory, 'User', 'dan', { externalId: 'E1', displayName: 'same' })
    for (const user of [ann, bob, cat, dan]) await store.insert(user)
    const group = resource(directory, 'Group', 'ann', { externalId: 'E1', displayName: 'same' })
    await store.insert(group)
    const other = randomUUID()
    await store.insert(resource(other, 'User', 'ann', { externalId: 'E1', displayName: 'same' }, ann.id))

    const find = async (key: 'id' | 'name' | 'externalId' | 'displayName', value: string, offset = 0, limit = 10) => {
      const found = await store.list(directory, 'User', { lookup: { key, value }, offset, limit })
      return { total: found.total, ids: ids(found.items) }
    }
    t.same(await find('id', bob.id), { total: 1, ids: [bob.id] }, 'id')
    t.same(await find('id', group.id), { total: 0, ids: [] }, 'id of a group, among users')
    t.same(await find('id', randomUUID()), { total: 0, ids: [] }, 'unknown id')
    t.same(await find('name', 'ann'), { total: 1, ids: [ann.id] }, 'name')
    t.same(await find('name', 'an'), { total: 0, ids: [] }, 'a name prefix finds nothing')
    t.same(await find('externalId', 'E1'), { total: 2, ids: [ann.id, dan.id] }, 'externalId, in creation order')
    t.same(await find('externalId', 'E2'), { total: 1, ids: [bob.id] })
    t.same(await find('externalId', 'E3'), { total: 0, ids: [] })
    t.same(await find('displayName', 'same'), { total: 3, ids: [bob.id, cat.id, dan.id] }, 'displayName, in creation order')
    t.same(await find('displayName', 'ann smith'), { total: 1, ids: [ann.id] })
    t.same(await find('displayName', 'same', 1, 1), { total: 3, ids: [cat.id] }, 'a lookup takes a window')
    t.same(await find('displayName', 'same', 0, 0), { total: 3, ids: [] }, 'and limit 0')
    t.same(await find('name', 'ann', 1, 10), { total: 1, ids: [] }, 'and an offset past its match')
    const groups = await store.list(directory, 'Group', { lookup: { key: 'name', value: 'ann' }, offset: 0, limit: 10 })
    t.same(ids(groups.items), [group.id], 'a group name is looked up among groups')

    const long = (c: string) => 'x'.repeat(299) + c
    const l1 = resource(directory, 'User', long('1'), { externalId: long('1'), displayName: long('1') })
    const l2 = resource(directory, 'User', long('2'), { externalId: long('2'), displayName: long('2') })
    await store.insert(l1)
    await store.insert(l2)
    t.pass('300-character names that share their first 299 characters are distinct')
    for (const key of ['name', 'externalId', 'displayName'] as const) {
      t.same(await find(key, long('1')), { total: 1, ids: [l1.id] }, `${key} of 300 characters`)
      t.same(await find(key, long('2')), { total: 1, ids: [l2.id] })
      t.same(await find(key, long('3')), { total: 0, ids: [] })
    }
    await isUniquenessError(t, store.insert(resource(directory, 'User', long('1'))), 'User', 'a long name is unique too')
  })

  t.test('long keys are read back as given', async (t) => {
    const directory = randomUUID()
    const long = 'y'.repeat(300)
    const user = resource(directory, 'User', long, { externalId: long, displayName: long })
    await store.insert(user)
    t.strictSame((await store.get(directory, 'User', user.id))?.keys, user.keys, 'by get')
    t.strictSame((await store.list(directory, 'User', { offset: 0, limit: 10 })).items.map((r) => r.keys), [user.keys], 'by list')
    t.strictSame((await all(store.scan(directory, 'User'))).map((r) => r.keys), [user.keys], 'by scan')
  })

  t.test('scan', async (t) => {
    const directory = randomUUID()
    const users: StoredResource[] = []
    for (let n = 0; n < 1100; n++) {
      const user = resource(directory, 'User', `user-${n}`, {}, `${String(1100 - n).padStart(4, '0')}-${randomUUID()}`)
      users.push(user)
      await store.insert(user)
      if (n % 400 === 0) await store.insert(resource(directory, 'Group', `group-${n}`))
    }
    await store.insert(resource(randomUUID(), 'User', 'elsewhere'))
    const scanned = await all(store.scan(directory, 'User'))
    t.equal(scanned.length, 1100, 'every user')
    t.ok(ids(scanned).every((id, n) => id === users[n].id), 'in creation order')
    t.strictSame(scanned[1099], users[1099], 'whole resources')
    t.same((await all(store.scan(directory, 'Group'))).map((g) => g.keys.name), ['group-0', 'group-400', 'group-800'], 'groups apart')
    t.same(await all(store.scan(randomUUID(), 'User')), [], 'an unknown directory yields nothing')
  })

  t.test('members', async (t) => {
    const directory = randomUUID()
    const [u1, u2, u3, u4] = ['a', 'b', 'c', 'd'].map((c) => resource(directory, 'User', c, {}, `${c}-${randomUUID()}`))
    for (const user of [u4, u2, u1, u3]) await store.insert(user)
    const g1 = resource(directory, 'Group', 'g1', {}, `g1-${randomUUID()}`)
    const g2 = resource(directory, 'Group', 'g2', {}, `g2-${randomUUID()}`)
    const g3 = resource(directory, 'Group', 'g3', {}, `g3-${randomUUID()}`)
    for (const group of [g3, g1, g2]) await store.insert(group)

    t.same(await store.addMembers(directory, g1.id, []), [], 'adding nobody adds nobody')
    t.same((await store.addMembers(directory, g1.id, [{ value: u3.id }, { value: u1.id, display: 'Ann' }])).sort(), [u1.id, u3.id], 'new members are answered')
    t.same(await store.addMembers(directory, g1.id, [{ value: u1.id }, { value: u3.id, display: 'again' }]), [], 'adding them twice answers none')
    t.same(await store.addMembers(directory, g1.id, [{ value: u2.id }, { value: u1.id }, { value: u2.id }]), [u2.id], 'only the new one, once')
    t.same(await store.members(directory, g1.id), [
      { value: u1.id, display: 'Ann' }, { value: u2.id }, { value: u3.id }
    ], 'members sorted by user id, display kept where given')
    t.same(await store.members(directory, g2.id), [], 'a group without members')
    t.same(await store.members(randomUUID(), g1.id), [], 'nor in another directory')

    t.same(await store.removeMembers(directory, g1.id, []), [], 'removing nobody removes nobody')
    t.same(await store.removeMembers(directory, g1.id, [u2.id, u4.id]), [u2.id], 'only members actually removed are answered')
    t.same(await store.removeMembers(directory, g1.id, [u2.id]), [], 'removing twice answers none')
    t.same(await store.members(directory, g1.id), [{ value: u1.id, display: 'Ann' }, { value: u3.id }])

    await store.addMembers(directory, g2.id, [{ value: u1.id }, { value: u2.id }])
    await store.addMembers(directory, g3.id, [{ value: u1.id }, { value: u3.id }])
    t.same(await store.delete(directory, 'User', u1.id), [g1.id, g2.id, g3.id], 'deleting a user answers its groups, sorted')
    t.equal(await store.get(directory, 'User', u1.id), null, 'and deletes it')
    t.same(await store.members(directory, g1.id), [{ value: u3.id }], 'it left every group')
    t.same(await store.members(directory, g2.id), [{ value: u2.id }])
    t.same(await store.members(directory, g3.id), [{ value: u3.id }])
    t.equal(await store.delete(directory, 'User', u1.id), null, 'deleting it again answers null')
    t.same(await store.delete(directory, 'User', u4.id), [], 'a user in no group answers []')

    t.equal(await store.delete(directory, 'User', g3.id), null, 'a group is not deleted as a user')
    t.same(await store.delete(directory, 'Group', g3.id), [], 'deleting a group answers []')
    t.equal(await store.get(directory, 'Group', g3.id), null)
    t.same(await store.members(directory, g3.id), [], 'its memberships are gone')
    t.same(await store.delete(directory, 'User', u3.id), [g1.id], 'and its members no longer belong to it')
    t.same(await store.members(directory, g1.id), [])
    t.equal(await store.delete(directory, 'Group', randomUUID()), null, 'an unknown id answers null')
    t.equal(await store.delete(randomUUID(), 'User', u2.id), null, 'so does one in another directory')
    t.same(await store.members(directory, g2.id), [{ value: u2.id }], 'which left it alone')
    t.same(ids((await store.list(directory, 'Group', { offset: 0, limit: 10 })).items), [g1.id, g2.id], 'the remaining groups are listed')
    t.same(ids((await store.list(directory, 'User', { offset: 0, limit: 10 })).items), [u2.id], 'the remaining users too')
  })

  t.test('getMany: the resources of a type in a directory, by id, in one call of any size', async (t) => {
    const directory = randomUUID()
    const users = Array.from({ length: 1200 }, (_, i) => resource(directory, 'User', `many${i}`))
    const group = resource(directory, 'Group', 'g')
    const elsewhere = resource(randomUUID(), 'User', 'other')
    for (const r of [...users, group, elsewhere]) await store.insert(r)
    const found = await store.getMany(directory, 'User', [...users.map((u) => u.id), group.id, elsewhere.id, randomUUID()])
    t.ok(found instanceof Map, 'a Map')
    t.equal(found.size, 1200, 'every user of the directory, over several batches; not the group, nor another directory\'s user')
    t.same(found.get(users[777].id), users[777], 'each as stored')
    t.equal((await store.getMany(directory, 'User', [])).size, 0, 'no ids, none')
  })

  t.test('dropDirectory', async (t) => {
    const fill = async (directory: string) => {
      const user = resource(directory, 'User', 'ann', { externalId: 'E1', displayName: 'ann' })
      const group = resource(directory, 'Group', 'staff', { externalId: 'G1' })
      await store.insert(user)
      await store.insert(group)
      await store.addMembers(directory, group.id, [{ value: user.id }])
      return { user, group }
    }
    const dropped = randomUUID()
    const kept = randomUUID()
    const a = await fill(dropped)
    const b = await fill(kept)
    await store.dropDirectory(dropped)
    t.equal(await store.get(dropped, 'User', a.user.id), null, 'its users are gone')
    t.equal(await store.get(dropped, 'Group', a.group.id), null, 'its groups too')
    t.same(await store.list(dropped, 'User', { offset: 0, limit: 10 }), { total: 0, items: [] })
    t.same(await store.list(dropped, 'User', { lookup: { key: 'externalId', value: 'E1' }, offset: 0, limit: 10 }), { total: 0, items: [] }, 'and its lookups')
    t.same(await store.list(dropped, 'Group', { offset: 0, limit: 10 }), { total: 0, items: [] })
    t.same(await all(store.scan(dropped, 'User')), [])
    t.same(await store.members(dropped, a.group.id), [], 'its memberships too')
    t.equal((await store.getMany(dropped, 'User', [a.user.id])).size, 0)
    await store.insert(resource(dropped, 'User', 'ann'))
    t.pass('its names are free again')

    t.strictSame(await store.get(kept, 'User', b.user.id), b.user, 'another directory keeps its users')
    t.strictSame(await store.get(kept, 'Group', b.group.id), b.group, 'and groups')
    t.same(await store.members(kept, b.group.id), [{ value: b.user.id }], 'and memberships')
    t.same(ids((await store.list(kept, 'User', { lookup: { key: 'externalId', value: 'E1' }, offset: 0, limit: 10 })).items), [b.user.id], 'and lookups')
    await store.dropDirectory(randomUUID())
    t.pass('dropping an unknown directory is fine')
  })
}

t.test('memory', (t) => suite(t, async () => openMemoryStore()))

t.test('sqlite', (t) => {
  const folder = mkdtempSync(join(tmpdir(), 'dsync-store-'))
  t.after(() => rmSync(folder, { recursive: true, force: true }))
  return suite(t, () => openSqlStore({ type: 'sqlite', url: join(folder, 'store.db') }))
})

t.test('postgres', (t) => withService(t, 'postgres', 'store', (t, db) => suite(t, () => openStore(db))))
t.test('mariadb', (t) => withService(t, 'mariadb', 'store', (t, db) => suite(t, () => openStore(db))))
t.test('redis', (t) => withService(t, 'redis', 'store', (t, db) => suite(t, () => openStore(db))))

// The same contract with an encryptionKey: keys stored as digests, values sealed (store/codec.ts), each
// engine on a database of its own (an encrypted database refuses to be opened without its key).
const encryptionKey = 'k'.repeat(32)
t.test('sqlite, encrypted', (t) => {
  const folder = mkdtempSync(join(tmpdir(), 'dsync-store-'))
  t.after(() => rmSync(folder, { recursive: true, force: true }))
  return suite(t, () => openStore({ engine: 'sql', type: 'sqlite', url: join(folder, 'store.db'), encryptionKey }))
})
t.test('postgres, encrypted', (t) => withService(t, 'postgres', 'store_enc', (t, db) => suite(t, () => openStore({ ...db, encryptionKey }))))
t.test('mariadb, encrypted', (t) => withService(t, 'mariadb', 'store_enc', (t, db) => suite(t, () => openStore({ ...db, encryptionKey }))))
t.test('redis, encrypted', (t) => withService(t, 'redis', 'store_enc', (t, db) => suite(t, () => openStore({ ...db, encryptionKey }))))
