// Reading a whole directory back through the controller, page by page (jackson caps a page at pageLimit).
import type { FastifyInstance } from 'fastify'
import type { User } from '../../src/index.js'

export async function allUsers (app: FastifyInstance, directoryId: string): Promise<User[]> {
  const users: User[] = []
  for (let pageOffset = 0; ; pageOffset += 50) {
    const page = await app.directorySync.users.list(directoryId, { pageOffset, pageLimit: 50 })
    if (page.error) throw new Error(`listing users of ${directoryId}: ${page.error.message}`)
    users.push(...page.data)
    if (page.data.length < 50) return users
  }
}

export async function createDirectory (app: FastifyInstance, tenant: string, product = 'app') {
  const { data, error } = await app.directorySync.directories.create({ tenant, product, type: 'generic-scim-v2', name: tenant })
  if (error) throw new Error(`creating directory for ${tenant}: ${error.message}`)
  return data
}
