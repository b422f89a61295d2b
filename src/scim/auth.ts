// Who may call a directory's SCIM endpoints: the bearer of its token, while it is active. One rule for
// the routes and for `requests.handle`; each answers the outcome in its own way (the routes hide
// whether a directory exists, jackson's entry point does not).
import { createHash, timingSafeEqual } from 'node:crypto'
import type { Directory, Result } from '../types.js'
import { DatabaseUnavailableError } from '../errors.js'
import type { TokenGrace } from '../store/types.js'

/** Where a directory looked up for authentication carries its rotated token's grace period, if any. */
export const TOKEN_GRACE = Symbol('dsync.tokenGrace')
export type AuthDirectory = Directory & { [TOKEN_GRACE]?: TokenGrace }

export type Authorization =
  | { ok: true, directory: Directory }
  | { ok: false, reason: 'unknown directory' | 'wrong token' | 'deactivated' }

// Directory ids are UUIDs; anything that could not be one is not looked up (nor stored in a cache).
const DIRECTORY_ID = /^[A-Za-z0-9._~-]{1,128}$/

export async function authorize (
  lookup: (id: string) => Promise<Result<AuthDirectory>>, directoryId: string, token: unknown
): Promise<Authorization> {
  if (typeof directoryId !== 'string' || !DIRECTORY_ID.test(directoryId)) return { ok: false, reason: 'unknown directory' }
  const { data: directory, error } = await lookup(directoryId)
  // Only a directory that is not there is unknown: a failed read (the database is down) is no answer,
  // and must not look like a wrong token to an identity provider (which may stop provisioning on 401).
  if (directory === null && error !== null && error.code !== 404) throw new DatabaseUnavailableError(error.message)
  if (directory === null) return { ok: false, reason: 'unknown directory' }
  if (typeof token !== 'string' || !(sameSecret(token, directory.scim.secret) || inGrace(token, directory[TOKEN_GRACE]))) return { ok: false, reason: 'wrong token' }
  if (directory.deactivated) return { ok: false, reason: 'deactivated' }
  return { ok: true, directory }
}

// A rotated token, while its grace period lasts (only its digest is kept).
function inGrace (given: string, grace: TokenGrace | undefined): boolean {
  if (grace === undefined || grace.until <= Date.now()) return false
  return timingSafeEqual(createHash('sha256').update(given).digest(), Buffer.from(grace.tokenDigest, 'hex'))
}

// Hashing first makes both sides the same length, so the comparison takes constant time whatever the input.
function sameSecret (given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest()
  return timingSafeEqual(digest(given), digest(expected))
}
