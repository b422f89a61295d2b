// What every SCIM operation is given, and the helpers the User and Group operations share.
import type { TSchema } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { UniquenessError, type ResourceKeys, type ResourceStore, type ResourceType, type StoredResource } from '../store/types.js'
import type { Directory, ScimEvent } from '../types.js'
import type { ScimBackend } from './backend.js'
import { ScimProblem } from './errors.js'
import { sameJson } from './json.js'
import type { Limits } from './limits.js'

export interface ScimContext {
  backend: ScimBackend
  /** The bounds on one request (limits.ts). */
  limits: Limits
  /** Runs expensive work in one of the directory's slots for it (fairness.ts). */
  expensive<T>(fn: () => Promise<T>): Promise<T>
  directory: Directory
  /** The directory's SCIM base URL, e.g. https://app.example.com/api/scim/v2.0/<directoryId> */
  baseUrl: string
}

/** What an operation did: its answer, and the events it recorded. */
export interface Outcome {
  status: number
  body?: Record<string, unknown>
  location?: string
  events: ScimEvent[]
}

type Json = Record<string, unknown>

export function requireObject (body: unknown, what: string): Json {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ScimProblem(400, `The request body must be a JSON object (${what})`, 'invalidSyntax')
  }
  return body as Json
}

/** A validator for `schema` that answers a client's mistake with 400 invalidValue, naming the attribute. */
export function validator (schema: TSchema, what: string): (body: Json) => void {
  const check = TypeCompiler.Compile(schema)
  return (body) => {
    if (check.Check(body)) return
    const error = check.Errors(body).First()
    const where = error?.path ? error.path.slice(1).replace(/\//g, '.') : what
    throw new ScimProblem(400, `${what}: ${where === what ? '' : where + ': '}${error?.message ?? 'invalid'}`, 'invalidValue')
  }
}

/** Runs a store write, answering a taken userName or displayName with 409 uniqueness. */
export async function unique<T> (write: () => Promise<T>): Promise<T> {
  try {
    return await write()
  } catch (err) {
    if (err instanceof UniquenessError) throw new ScimProblem(409, err.message, 'uniqueness')
    throw err
  }
}

export const now = (): string => new Date().toISOString()

export function notFound (type: ResourceType, id: string): ScimProblem {
  return new ScimProblem(404, `${type} ${id} not found`)
}

// A replace that lost to another process's write is computed again from the fresh copy.
const MAX_ATTEMPTS = 5

/**
 * Rewrites a stored resource with `compute` (given the current body, answering the new one). Nothing is
 * written, and `changed` is false, when the new body equals the stored one.
 */
export async function rewrite (
  context: ScimContext, store: ResourceStore, type: ResourceType, id: string,
  compute: (current: StoredResource) => Promise<Json> | Json, keysOf: (body: Json) => ResourceKeys
): Promise<{ before: StoredResource, after: StoredResource, changed: boolean }> {
  for (let attempt = 1; ; attempt++) {
    const before = await store.get(context.directory.id, type, id)
    if (before === null) throw notFound(type, id)
    const body = await compute(before)
    if (sameJson(body, before.body)) return { before, after: before, changed: false }
    checkSize(context, type, body, before.body)
    // Named field by field, not spread: a store may open `before.keys` only when asked (sql.ts fromRow).
    const { directoryId, created, version } = before
    const after: StoredResource = { directoryId, type, id, keys: keysOf(body), body, created, lastModified: now(), version: version + 1 }
    if (await unique(() => store.replace(after))) return { before, after, changed: true }
    if (attempt === MAX_ATTEMPTS) throw new ScimProblem(409, `${type} ${id} is being changed by another request; try again`)
  }
}

export const exact = (value: unknown): string | null => typeof value === 'string' ? value : null

/** A PATCH's operations, refused with 400 when there are more than `limits.operationsPerPatch`. */
export function patchOperations (context: ScimContext, patch: Json): unknown[] {
  const operations = patch.Operations as unknown[]
  const max = context.limits.operationsPerPatch
  if (operations.length > max) throw new ScimProblem(400, `A PATCH may carry at most ${max} operations; this one has ${operations.length}`, 'invalidValue')
  return operations
}

/** How much work the value filters of one PATCH may do (patch.ts filterBudget). */
export const filterBudget = (context: ScimContext): number => context.limits.valuesPerAttribute * 10

// What a change may add to a resource already over resourceBytes (stored before the limit existed).
const OVERSIZE_SLACK = 64

/**
 * Refuses a resource body larger than `limits.resourceBytes` as JSON, so that whatever is accepted can
 * be stored by every engine, jackson's copy included. A resource stored before the limit existed may
 * still be changed as long as the change adds no more than OVERSIZE_SLACK bytes (`active` from true to
 * false adds one: a deactivation must always pass).
 */
export function checkSize (context: ScimContext, type: ResourceType, body: Json, before?: Json): void {
  const max = context.limits.resourceBytes
  const size = Buffer.byteLength(JSON.stringify(body))
  if (size <= max) return
  if (before !== undefined && size <= Buffer.byteLength(JSON.stringify(before)) + OVERSIZE_SLACK) return
  throw new ScimProblem(400, `The ${type} would take ${size} bytes; at most ${max} are accepted`, 'invalidValue')
}
