// Type tests of the ESM declarations (dist/esm/*.d.ts) as a strict TypeScript consumer sees them,
// checked with TypeScript 5.9 and 7.0. Each `@ts-expect-error` must stay an error: if a type
// regresses to `any` or loosens, the directive is unused and tsc fails.
import Fastify, { type FastifyInstance } from 'fastify'
import fastifyDirectorySync, {
  fastifyDirectorySync as named,
  errors,
  type DirectorySyncController,
  type DirectorySyncOptions,
  type DirectorySyncEvent,
  type ScimEvent,
  type Directory,
  type Result
} from 'fastify-directory-sync'

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
function expectType<T> (value: T): T { return value }

const app = Fastify()

// register options: the plugin's own and Fastify's register options (prefix, logLevel)
await app.register(fastifyDirectorySync, {
  db: { engine: 'sql', type: 'sqlite', url: ':memory:' },
  externalUrl: 'http://127.0.0.1:3000',
  prefix: '/tenant-api',
  logLevel: 'warn'
})
await app.register(named, { db: { engine: 'mem' }, externalUrl: 'http://127.0.0.1:3000' })
// @ts-expect-error a misspelt option (scimPath)
await app.register(fastifyDirectorySync, { db: { engine: 'mem' }, externalUrl: 'http://127.0.0.1:3000', scimPth: '/scim' })
// @ts-expect-error an unknown db engine
await app.register(fastifyDirectorySync, { db: { engine: 'mongo' }, externalUrl: 'http://127.0.0.1:3000' })
// @ts-expect-error externalUrl is required
const noUrl: DirectorySyncOptions = { db: { engine: 'mem' } }

// the decorator: exactly DirectorySyncController, not any
const isController: Equals<typeof app.directorySync, DirectorySyncController> = true
// @ts-expect-error no such method (fails if directorySync were any)
app.directorySync.nope()

// hooks: `this` is the Fastify instance, the event narrows on event.event
app.directorySync.addHook('onScimEvent', async function (event) {
  expectType<FastifyInstance>(this)
  expectType<ScimEvent>(event)
  const id: string = event.id
  const created: string = event.created
  if (event.event === 'user.created') {
    const e: string = event.data.email
    const active: boolean = event.data.active
    // @ts-expect-error a user has no name (groups do)
    event.data.name.toUpperCase()
  } else if (event.event === 'group.user_added') {
    const group: string = event.data.group.name
    const email: string = event.data.email
  } else if (event.event === 'group.created') {
    const name: string = event.data.name
    // @ts-expect-error a group has no email
    event.data.email.toUpperCase()
  }
  // @ts-expect-error not an event type
  if (event.event === 'user.renamed') return
})
// @ts-expect-error onScimEvent is the only hook
app.directorySync.addHook('onRequest', async () => {})

const handler = (event: DirectorySyncEvent): string => event.event
await app.register(fastifyDirectorySync, { db: { engine: 'mem' }, externalUrl: 'http://x', onScimEvent: async (event) => { handler(event) } })

// controller results
const result = await app.directorySync.directories.create({ tenant: 't', product: 'p' })
const isResult: Equals<typeof result, Result<Directory>> = true
if (result.error === null) {
  const secret: string = result.data.scim.secret
  const endpoint: string | undefined = result.data.scim.endpoint
} else {
  const code: number = result.error.code
  // @ts-expect-error data is null when there is an error
  result.data.id
}
// @ts-expect-error tenant and product are required
await app.directorySync.directories.create({ tenant: 't' })

const invalid = new errors.InvalidOptionError('db', 'is required')
const code: string = invalid.code

export { noUrl, isController, isResult, code }

// The admin subpath: tenantOf is required, and answers a scope.
import { directorySyncAdmin, directorySyncSetup, type AdminScope } from 'fastify-directory-sync/admin'
await app.register(directorySyncAdmin, { prefix: '/admin', onRequest: async () => {}, tenantOf: (): AdminScope => 'all' })
await app.register(directorySyncSetup, { prefix: '/setup' })
// @ts-expect-error tenantOf answers a scope, not a string tenant
await app.register(directorySyncAdmin, { prefix: '/admin2', onRequest: async () => {}, tenantOf: () => 'acme' })
