// Type tests of the CommonJS declarations (dist/cjs/*.d.ts) as a strict TypeScript consumer sees them,
// checked with TypeScript 5.9 and 7.0. Each `@ts-expect-error` must stay an error: if a type
// regresses to `any` or loosens, the directive is unused and tsc fails.
import Fastify = require('fastify')
import pkg = require('fastify-directory-sync')
import type { FastifyInstance } from 'fastify'
import type { DirectorySyncController, ScimEvent } from 'fastify-directory-sync'

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
function expectType<T> (value: T): T { return value }

const sameExport: Equals<typeof pkg.default, typeof pkg.fastifyDirectorySync> = true

async function main (): Promise<void> {
  const app = Fastify()
  await app.register(pkg.fastifyDirectorySync, {
    db: { engine: 'redis', url: 'redis://127.0.0.1:6379' },
    externalUrl: 'http://127.0.0.1:3000',
    prefix: '/tenant-api',
    logLevel: 'warn'
  })
  await app.register(pkg.default, { db: { engine: 'mem' }, externalUrl: 'http://127.0.0.1:3000' })
  // @ts-expect-error a misspelt option (externalUrl)
  await app.register(pkg.default, { db: { engine: 'mem' }, externalUrl: 'http://127.0.0.1:3000', externalURL: 'http://x' })

  const isController: Equals<typeof app.directorySync, DirectorySyncController> = true
  // @ts-expect-error no such method (fails if directorySync were any)
  app.directorySync.nope()

  app.directorySync.addHook('onScimEvent', async function (event) {
    expectType<FastifyInstance>(this)
    expectType<ScimEvent>(event)
    if (event.event === 'user.created') {
      const e: string = event.data.email
      // @ts-expect-error a user has no name (groups do)
      event.data.name.toUpperCase()
    }
  })

  const users = await app.directorySync.users.list('id', { pageLimit: 10 })
  if (users.error === null) {
    const emails: string[] = users.data.map((user) => user.email)
  }
  void isController
}

export = { main, sameExport }
