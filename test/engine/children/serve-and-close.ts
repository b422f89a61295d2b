// A host app in a process of its own: registers the plugin, serves one request over a real socket,
// closes, and then must exit by itself (nothing left running).
import Fastify from 'fastify'
import fastifyDirectorySync, { type DbOptions } from '../../../src/index.js'

const db: DbOptions = JSON.parse(process.argv[2])
const app = Fastify()
await app.register(fastifyDirectorySync, { db, externalUrl: 'http://127.0.0.1' })
app.get('/directories', async () => {
  const created = await app.directorySync.directories.create({ tenant: 'acme', product: 'app' })
  const all = await app.directorySync.directories.getAll()
  return { created: created.data?.id, count: all.data?.length }
})
const address = await app.listen({ host: '127.0.0.1', port: 0 })
const response = await fetch(`${address}/directories`)
const body = await response.json()
await app.close()
console.log(JSON.stringify({ status: response.status, body, closedAt: Date.now() }))
