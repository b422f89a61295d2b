// A writer process for test/store/stream.test.ts: opens the storage on the database it is given and
// records events in the given directories concurrently, `count` writes each, then says how many it
// recorded and exits. Usage: stream-writer.ts '<db json>' '<directory ids json>' <count>
import { randomUUID } from 'node:crypto'
import { openStorage } from '../../../src/store/index.js'

const [db, directories, count] = [JSON.parse(process.argv[2]), JSON.parse(process.argv[3]) as string[], Number(process.argv[4])]
const storage = await openStorage(db)
let recorded = 0
await Promise.all(directories.map(async (directoryId) => {
  for (let i = 0; i < count; i++) {
    const events = [0, 1].map(() => ({ id: randomUUID(), payload: { event: 'user.created', pid: process.pid }, createdAt: Date.now() }))
    const written = await storage.atomically(directoryId, (scope) => scope.record(events))
    recorded += written.length
  }
}))
await storage.close()
process.stdout.write(JSON.stringify({ recorded }) + '\n')
