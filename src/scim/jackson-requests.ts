// `directorySync.requests.handle`: jackson's SCIM entry point, kept for code written against jackson's
// Express guide, answered by this plugin's SCIM operations instead of jackson's handler. The checks
// come in jackson's order (unknown directory, then the secret), with clear answers where jackson's are
// not: a deactivated directory answers 403 instead of `200 {}`, and every error has a SCIM body.
import type { Directory, DirectorySyncRequest, DirectorySyncResponse, EventCallback, Result } from '../types.js'
import { authorize } from './auth.js'
import { DatabaseUnavailableError } from '../errors.js'
import { scimError, ScimProblem, unavailable } from './errors.js'
import { runScim, type ScimMethod, type ScimService } from './operations.js'

const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE'])
const REFUSED = {
  'unknown directory': [404, 'Directory not found'],
  'wrong token': [401, 'Unauthorized'],
  deactivated: [403, 'This directory is deactivated']
} as const

export async function handleJacksonRequest (
  service: ScimService,
  getDirectory: (id: string) => Promise<Result<Directory>>,
  scimBaseUrl: string,
  request: DirectorySyncRequest,
  callback?: EventCallback
): Promise<DirectorySyncResponse> {
  const fail = (status: number, detail: string) => ({ status, data: scimError(status, detail) })
  const refuse = () => ({ status: 503, data: unavailable().body })
  const outcome = await authorize(getDirectory, request.directoryId, request.apiSecret).catch((err) => {
    if (err instanceof DatabaseUnavailableError) return undefined
    throw err
  })
  if (outcome === undefined) return refuse()
  if (!outcome.ok) {
    const [status, detail] = REFUSED[outcome.reason]
    return fail(status, detail)
  }
  const { directory } = outcome
  const kind = { users: 'User', groups: 'Group' }[request.resourceType?.toLowerCase()] as 'User' | 'Group' | undefined
  if (kind === undefined) return fail(404, `No SCIM resource type ${request.resourceType}`)
  const method = request.method?.toUpperCase()
  if (!METHODS.has(method)) return fail(405, `${request.method} is not allowed`)
  try {
    const answer = await runScim(service, {
      directory,
      baseUrl: `${scimBaseUrl}/${directory.id}`,
      kind,
      method: method as ScimMethod,
      id: request.resourceId || undefined,
      body: request.body,
      query: request.query ?? {},
      callback
    })
    return { status: answer.status, data: answer.body }
  } catch (err) {
    if (err instanceof ScimProblem) return { status: err.status, data: err.body }
    if (err instanceof DatabaseUnavailableError) return refuse()
    throw err
  }
}
