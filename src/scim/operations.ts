// One entry point for a SCIM request on Users or Groups, used by the HTTP routes and by the
// controller's `requests.handle` (jackson's request shape): it picks the operation, runs it, and
// delivers the events it recorded (within the response budget) before answering.
import type { Directory, EventCallback } from '../types.js'
import type { ScimBackend } from './backend.js'
import type { Outcome, ScimContext } from './context.js'
import { ScimProblem } from './errors.js'
import type { DirectoryGate } from './fairness.js'
import { createGroup, deleteGroup, patchGroup, replaceGroup } from './groups.js'
import { checkBody, checkText } from './hygiene.js'
import type { Limits } from './limits.js'
import { getResource, integerParam, listResources, type ListParams } from './query.js'
import type { ResourceKind } from './resources.js'
import { createUser, deleteUser, patchUser, replaceUser } from './users.js'

export type ScimMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

export interface ScimCall {
  directory: Directory
  /** The directory's SCIM base URL. */
  baseUrl: string
  kind: ResourceKind
  method: ScimMethod
  id?: string
  /** POST /Users/.search: the query comes in the body. */
  search?: boolean
  body?: unknown
  query?: ListParams
  callback?: EventCallback
  /** The request already holds its directory's slot for expensive work (taken before its body was read). */
  holdsSlot?: boolean
}

/** What every SCIM call runs with: the storage below, the bounds on a request, and the fairness gate. */
export interface ScimService {
  backend: ScimBackend
  limits: Limits
  gate: DirectoryGate
}

export interface ScimAnswer {
  status: number
  body?: Record<string, unknown>
  location?: string
}

// Entra expects 204 from PATCH (idp-traffic.md); everyone else gets the resource, which RFC 7644 §3.5.2 allows.
const patchStatus = (directory: Directory): 200 | 204 => directory.type === 'azure-scim-v2' ? 204 : 200

function searchParams (body: unknown): ListParams {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ScimProblem(400, 'A search request must be a JSON object', 'invalidSyntax')
  const b = body as Record<string, unknown>
  const list = (v: unknown, name: string) => {
    if (v === undefined || typeof v === 'string') return v
    if (Array.isArray(v) && v.every((item) => typeof item === 'string')) return v.join(',')
    throw new ScimProblem(400, `"${name}" must be a list of attribute names`, 'invalidValue')
  }
  if (b.filter !== undefined && typeof b.filter !== 'string') throw new ScimProblem(400, '"filter" must be a string', 'invalidFilter')
  return {
    filter: b.filter as string | undefined,
    startIndex: integerParam(b.startIndex, 'startIndex'),
    count: integerParam(b.count, 'count'),
    attributes: list(b.attributes, 'attributes'),
    excludedAttributes: list(b.excludedAttributes, 'excludedAttributes')
  }
}

// A request body of more values than this is expensive work (a large membership change, a long
// PATCH): it takes one of its directory's slots for such work (fairness.ts).
const EXPENSIVE_BODY_VALUES = 500

/** Refuses what no operation may be given (hygiene.ts), before any operation runs; answers the body's size in values. */
function checkCall (call: ScimCall, limits: Limits): number {
  checkText(call.id, 'The resource id')
  for (const [name, value] of Object.entries(call.query ?? {})) {
    if (typeof value === 'string') checkText(value, `"${name}"`)
  }
  return checkBody(call.body, limits)
}

async function run (context: ScimContext, call: ScimCall): Promise<Outcome> {
  const { kind, id, method, body } = call
  const read = (json: Record<string, unknown>): Outcome => ({ status: 200, body: json, events: [] })
  if (call.search) return read(await listResources(context, kind, searchParams(body)))
  if (id === undefined) {
    if (method === 'GET') return read(await listResources(context, kind, call.query ?? {}))
    if (method === 'POST') return kind === 'User' ? createUser(context, body) : createGroup(context, body)
  } else {
    switch (method) {
      case 'GET': return read(await getResource(context, kind, id, call.query ?? {}))
      case 'PUT': return kind === 'User' ? replaceUser(context, id, body) : replaceGroup(context, id, body)
      case 'PATCH': {
        const outcome = kind === 'User' ? await patchUser(context, id, body) : await patchGroup(context, id, body, patchStatus(context.directory))
        return outcome.status === 200 && patchStatus(context.directory) === 204 ? { ...outcome, status: 204, body: undefined } : outcome
      }
      case 'DELETE': return kind === 'User' ? deleteUser(context, id) : deleteGroup(context, id)
    }
  }
  throw new ScimProblem(405, `${method} is not allowed here`)
}

export async function runScim (service: ScimService, call: ScimCall): Promise<ScimAnswer> {
  const { backend, limits, gate } = service
  const values = checkCall(call, limits)
  const directoryId = call.directory.id
  const context: ScimContext = {
    backend, limits, directory: call.directory, baseUrl: call.baseUrl, expensive: call.holdsSlot === true ? (fn) => fn() : (fn) => gate.run(directoryId, fn)
  }
  const outcome = values > EXPENSIVE_BODY_VALUES && call.method !== 'GET' && !call.search
    ? await context.expensive(() => run(context, call))
    : await run(context, call)
  if (outcome.events.length > 0) await backend.deliver(call.directory, outcome.events, call.callback)
  return { status: outcome.status, body: outcome.body, location: outcome.location }
}
