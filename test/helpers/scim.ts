// SCIM over Fastify inject: the protocol's constants, a client for one directory, a directory opened
// with such a client, and the small bodies and checks the SCIM tests share.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'
import type { Directory, DirectoryType } from '../../src/index.js'

export const SCIM = 'application/scim+json'
export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error'
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'
export const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse'
export const SEARCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest'
export const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User'
export const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group'
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
export type Json = Record<string, any>

/** SCIM requests to one directory's endpoint, with its bearer token. */
export interface ScimClient {
  directory: Directory
  base: string
  auth: { authorization: string }
  /** A request with a JSON body (when given). */
  send (method: Method, path: string, body?: unknown): Promise<LightMyRequestResponse>
  /** A request with a body sent exactly as given. */
  sendRaw (method: Method, path: string, payload: string): Promise<LightMyRequestResponse>
}

export function scimClient (app: FastifyInstance, directory: Directory): ScimClient {
  const base = `/api/scim/v2.0/${directory.id}`
  const auth = { authorization: `Bearer ${directory.scim.secret}` }
  const sendRaw = (method: Method, path: string, payload: string) =>
    app.inject({ method, url: base + path, headers: { ...auth, 'content-type': SCIM }, payload })
  return {
    directory,
    base,
    auth,
    sendRaw,
    send: (method, path, body) => body === undefined
      ? app.inject({ method, url: base + path, headers: auth })
      : sendRaw(method, path, JSON.stringify(body))
  }
}

const tenants = new Map<string, number>()

/** A new directory, its tenant `${prefix}-${n}` (n counting per prefix), and a SCIM client for it. */
export async function openDirectory (
  app: FastifyInstance,
  prefix: string,
  { type = 'generic-scim-v2', product = 'app' }: { type?: DirectoryType, product?: string } = {}
): Promise<ScimClient> {
  const n = (tenants.get(prefix) ?? 0) + 1
  tenants.set(prefix, n)
  const tenant = `${prefix}-${n}`
  const { data: directory, error } = await app.directorySync.directories.create({ tenant, product, type, name: tenant })
  if (error) throw new Error(`creating directory for ${tenant}: ${error.message}`)
  return scimClient(app, directory)
}

/** The JSON answer ({} when empty) to a request that must answer `status`; any other status throws. */
export async function ok (scim: ScimClient, method: Method, path: string, body: unknown, status: number): Promise<Json> {
  const res = await scim.send(method, path, body)
  if (res.statusCode !== status) throw new Error(`${method} ${path} answered ${res.statusCode}, expected ${status}: ${res.body}`)
  return res.body === '' ? {} : res.json()
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
export const patchOf = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations })
export const groupBody = (displayName: string, members?: Json[]) => ({ schemas: [CORE_GROUP], displayName, ...(members ? { members } : {}) })

/** Asserts a SCIM error answer (RFC 7644 §3.12): status as a string, and scimType when given. */
export function isScimError (t: Test, res: LightMyRequestResponse, status: number, scimType?: string, what?: string) {
  t.equal(res.statusCode, status, what ?? `answers ${status}`)
  t.match(res.headers['content-type'], SCIM, 'in SCIM content type')
  const body = res.json()
  t.same(body.schemas, [ERROR_SCHEMA], 'an Error message')
  t.equal(body.status, String(status), 'status is the HTTP status as a string')
  if (scimType !== undefined) t.equal(body.scimType, scimType, `scimType ${scimType}`)
}
