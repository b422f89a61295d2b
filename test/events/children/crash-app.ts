// A host app in a process of its own, for crash tests: `node --import tsx crash-app.ts <mode> <db json>`.
// Listens on 127.0.0.1 (port 0) and prints one JSON line `{ ready: url, directory? }` first. A third
// argument `defaults` leaves the events options at their defaults.
// mode `die`: creates a directory; its onScimEvent hook SIGKILLs the process on its first call, so an event
//   is recorded but never delivered.
// mode `collect`: its onScimEvent hook prints `{ event }` for every event it is given; exits on SIGTERM.
import Fastify from 'fastify'
import fastifyDirectorySync, { type DbOptions, type Directory, type ScimEvent } from '../../../src/index.js'

const [mode, dbJson, settings] = process.argv.slice(2)
const db: DbOptions = JSON.parse(dbJson)
const print = (value: unknown) => process.stdout.write(JSON.stringify(value) + '\n')

const app = Fastify()
await app.register(fastifyDirectorySync, {
  db,
  externalUrl: 'http://127.0.0.1',
  // A killed process's claim blocks its (directory, handler) for `lease` ms: short here, unless the
  // test is about the default options (argument `defaults`).
  events: settings === 'defaults' ? undefined : { lease: 1000, handlerTimeout: 500, pollInterval: 200, backoff: 50 },
  onScimEvent (event: ScimEvent) {
    if (mode === 'die') process.kill(process.pid, 'SIGKILL')
    print({ event, at: performance.timeOrigin + performance.now(), pid: process.pid })
  }
})
let directory: Directory | undefined
if (mode === 'die') {
  const created = await app.directorySync.directories.create({ tenant: 'crash', product: 'app', type: 'generic-scim-v2', name: 'crash' })
  if (created.error) throw new Error(created.error.message)
  directory = created.data
}
const url = await app.listen({ host: '127.0.0.1', port: 0 })
process.once('SIGTERM', () => { app.close().then(() => process.exit(0), () => process.exit(1)) })
print({ ready: url, directory })
