// The directory cache (src/engine/directory-cache.ts): a change made through the controller forgets the
// directory, and a lookup that was already reading it when the change committed must not keep what it
// read. Seen for real: a hook's drain looked the directory up while `update({ deactivated: false })`
// committed, and SCIM answered 403 for the cache's lifetime after the update had returned.
import t from 'tap'
import { DirectoryCache } from '../../src/engine/directory-cache.js'
import type { Directory, Result } from '../../src/types.js'

const directory = (deactivated: boolean) => ({ id: 'd1', deactivated }) as unknown as Directory

/** A loader answering what the "database" holds when each load is released. */
function controlledLoader () {
  let stored = directory(true)
  const waiting: Array<() => void> = []
  let loads = 0
  return {
    set (value: Directory) { stored = value },
    get loads () { return loads },
    releaseAll () { for (const release of waiting.splice(0)) release() },
    load: async (): Promise<Result<Directory>> => {
      loads++
      const read = stored // read now, answered later: a read that began before the change
      await new Promise<void>((resolve) => waiting.push(resolve))
      return { data: read, error: null }
    }
  }
}

t.test('a lookup in flight when the directory is forgotten is answered, but not kept', async (t) => {
  const db = controlledLoader()
  const cache = new DirectoryCache(db.load, 60_000)
  const inFlight = cache.get('d1') // reads "deactivated"
  db.set(directory(false)) // the update commits
  cache.forget('d1') // and the controller forgets the entry
  db.releaseAll()
  t.equal((await inFlight).data?.deactivated, true, 'the lookup that read before the change answers what it read')

  const next = cache.get('d1')
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(db.loads, 2, 'the next lookup reads the directory again')
  db.releaseAll()
  t.equal((await next).data?.deactivated, false, 'and sees the change')
  t.equal((await cache.get('d1')).data?.deactivated, false, 'which is kept')
  t.equal(db.loads, 2, 'without a third read')
})

t.test('without a change in between, a lookup is kept for its lifetime', async (t) => {
  const db = controlledLoader()
  const cache = new DirectoryCache(db.load, 60_000)
  const first = cache.get('d1')
  db.releaseAll()
  await first
  t.equal((await cache.get('d1')).data?.deactivated, true, 'answered from the cache')
  t.equal(db.loads, 1, 'one read')
})
