// The SCIM bodies the benchmark sends, shaped as identity providers send them (the same User shape as
// test/helpers/app.ts), and one request type that both HTTP and in-process callers can replay.

export interface ScimOp {
  method: 'GET' | 'POST' | 'PATCH'
  resourceType: 'Users' | 'Groups'
  id?: string
  query?: { filter?: string, count?: number, startIndex?: number }
  body?: unknown
}

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'

export function scimUser (userName: string) {
  const [givenName, familyName] = userName.split('@')[0].split('.')
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    userName,
    name: { givenName: givenName ?? 'Given', familyName: familyName ?? 'Family' },
    emails: [{ value: userName, primary: true, type: 'work' }],
    active: true
  }
}

/** Okta's deactivation: a path-less replace whose value is an object. */
export const deactivate = { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: false } }] }

export const addMembers = (userIds: string[]) =>
  ({ schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: userIds.map((value) => ({ value })) }] })

export const removeMember = (userId: string) =>
  ({ schemas: [PATCH_OP], Operations: [{ op: 'remove', path: `members[value eq "${userId}"]` }] })

export const userNameFilter = (userName: string) => `userName eq "${userName}"`

/** The path and query of an op under a directory's base path. */
export function pathOf (basePath: string, op: ScimOp): string {
  let path = `${basePath}/${op.resourceType}${op.id === undefined ? '' : '/' + encodeURIComponent(op.id)}`
  const query = Object.entries(op.query ?? {}).filter(([, v]) => v !== undefined)
  if (query.length > 0) path += '?' + query.map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`).join('&')
  return path
}
