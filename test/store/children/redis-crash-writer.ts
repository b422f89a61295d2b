// A writer process for test/store/redis-events.test.ts, SIGKILLed by the test while it writes: opens the
// storage on the database it is given and, from a few concurrent writers, keeps creating users of one
// directory, each added to the directory's group, with a user.created and a group.user_added event in
// the same write. Prints a line every few commits so that the test knows it is writing.
// Usage: redis-crash-writer.ts '<db json>' <directory id> <group id>
import { randomUUID } from 'node:crypto'
import { openStorage } from '../../../src/store/index.js'

const [db, directoryId, groupId] = [JSON.parse(process.argv[2]), process.argv[3], process.argv[4]]
const storage = await openStorage(db)
let committed = 0
await Promise.all([0, 1, 2].map(async () => {
  for (;;) {
    await storage.atomically(directoryId, async (scope) => {
      const id = randomUUID()
      const created = new Date().toISOString()
      await scope.resources.insert({
        directoryId, type: 'User', id, keys: { name: `${id}@crash.example`, externalId: null, displayName: null }, body: { userName: `${id}@crash.example` }, created, lastModified: created, version: 1
      })
      const added = await scope.resources.addMembers(directoryId, groupId, [{ value: id }])
      await scope.record([
        { id: randomUUID(), payload: { event: 'user.created', user: id }, createdAt: Date.now() },
        ...added.map((user) => ({ id: randomUUID(), payload: { event: 'group.user_added', user }, createdAt: Date.now() }))
      ])
    })
    if (++committed % 5 === 0) process.stdout.write(`${committed}\n`)
  }
}))
