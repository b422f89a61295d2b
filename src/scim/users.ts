// The User resource: create, replace (PUT), patch and delete, each stored through the backend and
// answered with the changes it made.
import { randomUUID } from 'node:crypto'
import type { ResourceKeys, ResourceStore, StoredResource } from '../store/types.js'
import { checkSize, exact, filterBudget, now, notFound, patchOperations, requireObject, rewrite, unique, validator, type Outcome, type ScimContext } from './context.js'
import { normaliseBody } from './dialects.js'
import { applyPatch, PatchError } from './patch.js'
import { present } from './resources.js'
import { PatchOp, ScimUserCreate } from './schemas.js'
import { ScimProblem } from './errors.js'
import type { Change } from './backend.js'
import { foldKey, foldedOrNull } from '../keys.js'

type Json = Record<string, unknown>

const validUser = validator(ScimUserCreate, 'User')
const validPatch = validator(PatchOp, 'PatchOp')

export function userKeys (body: Json): ResourceKeys {
  return { name: foldKey(body.userName as string), externalId: exact(body.externalId), displayName: foldedOrNull(body.displayName) }
}

export function presentUser (context: ScimContext, user: StoredResource): Json {
  return present('User', context.baseUrl, user)
}

function userBody (given: unknown): Json {
  const body = normaliseBody('User', requireObject(given, 'User'))
  validUser(body)
  return body
}

export async function createUser (context: ScimContext, given: unknown): Promise<Outcome> {
  const body = userBody(given)
  checkSize(context, 'User', body)
  const time = now()
  const user: StoredResource = {
    directoryId: context.directory.id, type: 'User', id: randomUUID(), keys: userKeys(body), body, created: time, lastModified: time, version: 1
  }
  const { events } = await context.backend.write(context.directory, async (store) => {
    await unique(() => store.insert(user))
    return { changes: [{ event: 'user.created', user }] as Change[] }
  }, { single: true })
  const presented = presentUser(context, user)
  return { status: 201, body: presented, location: (presented.meta as Json).location as string, events }
}

export async function replaceUser (context: ScimContext, id: string, given: unknown): Promise<Outcome> {
  const body = userBody(given)
  const { after, events } = await context.backend.write(context.directory, (store) => updated(context, store, id, () => body), { single: true })
  return { status: 200, body: presentUser(context, after), events }
}

export async function patchUser (context: ScimContext, id: string, given: unknown): Promise<Outcome> {
  const patch = requireObject(given, 'PatchOp')
  validPatch(patch)
  const operations = patchOperations(context, patch)
  const { after, events } = await context.backend.write(context.directory, (store) =>
    updated(context, store, id, (current) => {
      let patched: Json
      try {
        // With its id, so that an operation echoing the unchanged id (Okta does) is accepted; userBody drops it again.
        patched = applyPatch({ ...current.body, id: current.id }, operations as [], {
          booleanAttributes: ['active', 'primary'], readOnly: ['id', 'meta', 'groups'], filterBudget: filterBudget(context)
        })
      } catch (err) {
        if (err instanceof PatchError) throw new ScimProblem(400, err.message, err.scimType)
        throw err
      }
      return userBody(patched)
    }), { single: true })
  return { status: 200, body: presentUser(context, after), events }
}

async function updated (context: ScimContext, store: ResourceStore, id: string, compute: (current: StoredResource) => Json) {
  const { before, after, changed } = await rewrite(context, store, 'User', id, compute, userKeys)
  return { after, changes: changed ? [{ event: 'user.updated', user: after, before }] as Change[] : [] }
}

export async function deleteUser (context: ScimContext, id: string): Promise<Outcome> {
  const directoryId = context.directory.id
  const { events } = await context.backend.write(context.directory, async (store) => {
    const user = await store.get(directoryId, 'User', id)
    if (user === null) throw notFound('User', id)
    const groupIds = await store.delete(directoryId, 'User', id)
    if (groupIds === null) throw notFound('User', id)
    const removed: Change[] = []
    for (const groupId of groupIds) {
      const group = await store.get(directoryId, 'Group', groupId)
      if (group !== null) removed.push({ event: 'group.user_removed', group, user })
    }
    return { changes: [...removed, { event: 'user.deleted', user }] as Change[] }
  })
  return { status: 204, events }
}
