// SCIM error responses (RFC 7644 §3.12): `status` is a string, `scimType` only where the RFC defines one.
import type { FastifyReply } from 'fastify'
import { ERROR_SCHEMA } from './discovery.js'

export type ScimType = 'uniqueness' | 'invalidFilter' | 'invalidSyntax' | 'invalidValue' | 'noTarget' | 'mutability' | 'tooMany' | 'invalidPath'

export const SCIM_CONTENT_TYPE = 'application/scim+json; charset=utf-8'

export function scimError (status: number, detail: string, scimType?: ScimType) {
  return { schemas: [ERROR_SCHEMA], status: String(status), ...(scimType ? { scimType } : {}), detail }
}

// The detail of the error a SCIM request was answered with, kept by request until its response is noted.
const errorDetails = new WeakMap<object, string>()

/** Keeps the detail of the SCIM error `request` is answered with, for the directory's lastError (events/status.ts). */
export function noteErrorDetail (request: object, detail: string): void {
  errorDetails.set(request, detail)
}

/** The detail noted for `request`, if any. */
export function errorDetailOf (request: object): string | undefined {
  return errorDetails.get(request)
}

export function sendScimError (reply: FastifyReply, status: number, detail: string, scimType?: ScimType, headers?: Record<string, string>): FastifyReply {
  if (headers !== undefined) reply.headers(headers)
  noteErrorDetail(reply.request, detail)
  return reply.code(status).type(SCIM_CONTENT_TYPE).send(scimError(status, detail, scimType))
}

// Seconds an identity provider is asked to wait while the database is unavailable.
const UNAVAILABLE_RETRY_AFTER = 5

/** The answer while the database is unavailable (FST_DSYNC_DB_UNAVAILABLE): 503, try again later. */
export function unavailable (): ScimProblem {
  return new ScimProblem(503, 'The service is temporarily unavailable; try again', undefined, { 'retry-after': String(UNAVAILABLE_RETRY_AFTER) })
}

/** A client-facing failure of a SCIM operation, answered in RFC 7644 §3.12 format by whoever catches it. */
export class ScimProblem extends Error {
  /** `headers`: sent with the error (Retry-After with a 429). */
  constructor (readonly status: number, detail: string, readonly scimType?: ScimType, readonly headers?: Record<string, string>) {
    super(detail)
    this.name = 'ScimProblem'
  }

  get body () {
    return scimError(this.status, this.message, this.scimType)
  }
}
