// Reading resources: GET of one, and list / .search with filter, pagination and projection. Equality
// on userName, externalId, id and displayName is answered from the store's indexes; any other filter
// reads the directory's resources of that type in order. Every candidate is checked against the whole
// filter, so an index only narrows the search.
import type { Lookup, StoredResource } from '../store/types.js'
import type { ScimContext } from './context.js'
import { notFound } from './context.js'
import { listResponse, MAX_RESULTS } from './discovery.js'
import { ScimProblem } from './errors.js'
import { equalityLookup, FilterError, matches, parseFilter, type Filter } from './filter.js'
import { presentGroup } from './groups.js'
import { leavesOut, parseAttributeList, project, type ResourceKind } from './resources.js'
import { presentUser } from './users.js'

type Json = Record<string, unknown>

/** Without `count`, a page holds this many resources. */
export const DEFAULT_COUNT = 100
// An index lookup that matches more than this is read in full anyway: displayName is not unique.
const LOOKUP_LIMIT = 1_000_000

export interface ListParams {
  filter?: string
  startIndex?: number
  count?: number
  attributes?: string
  excludedAttributes?: string
}

function projection (params: { attributes?: string, excludedAttributes?: string }) {
  return { attributes: parseAttributeList(params.attributes), excluded: parseAttributeList(params.excludedAttributes) }
}

async function presentOne (context: ScimContext, kind: ResourceKind, resource: StoredResource, withMembers: boolean): Promise<Json> {
  if (kind === 'User') return presentUser(context, resource)
  return presentGroup(context, resource, withMembers ? await context.backend.store.members(context.directory.id, resource.id) : undefined)
}

export async function getResource (context: ScimContext, kind: ResourceKind, id: string, params: ListParams): Promise<Json> {
  const { attributes, excluded } = projection(params)
  const resource = await context.backend.store.get(context.directory.id, kind, id)
  if (resource === null) throw notFound(kind, id)
  return project(await presentOne(context, kind, resource, !leavesOut('members', attributes, excluded)), attributes, excluded)
}

function planLookup (kind: ResourceKind, filter: Filter): Lookup | undefined {
  const equality = equalityLookup(filter)
  if (equality === undefined) return undefined
  switch (equality.attribute) {
    case 'id': return { key: 'id', value: equality.value }
    case 'externalId': return { key: 'externalId', value: equality.value }
    case 'userName': return kind === 'User' ? { key: 'name', value: equality.value.toLowerCase() } : undefined
    case 'displayName': return { key: kind === 'User' ? 'displayName' : 'name', value: equality.value.toLowerCase() }
    default: return undefined
  }
}

export async function listResources (context: ScimContext, kind: ResourceKind, params: ListParams): Promise<Json> {
  const { attributes, excluded } = projection(params)
  const { store } = context.backend
  const directoryId = context.directory.id
  // RFC 7644 §3.4.2.4: a startIndex below 1 is read as 1, a negative count as 0.
  const startIndex = Math.max(1, params.startIndex ?? 1)
  const count = Math.min(Math.max(0, params.count ?? DEFAULT_COUNT), MAX_RESULTS)
  const returnsMembers = kind === 'Group' && !leavesOut('members', attributes, excluded)

  if (params.filter === undefined || params.filter.trim() === '') {
    const page = await store.list(directoryId, kind, { offset: startIndex - 1, limit: count })
    const resources = await Promise.all(page.items.map((r) => presentOne(context, kind, r, returnsMembers)))
    return { ...listResponse(resources.map((r) => project(r, attributes, excluded)), page.total, startIndex) }
  }

  let filter: Filter
  try {
    filter = parseFilter(params.filter)
  } catch (err) {
    if (err instanceof FilterError) throw new ScimProblem(400, err.message, 'invalidFilter')
    throw err
  }
  const lookup = planLookup(kind, filter)
  const candidates: AsyncIterable<StoredResource> | StoredResource[] = lookup === undefined
    ? store.scan(directoryId, kind)
    : (await store.list(directoryId, kind, { lookup, offset: 0, limit: LOOKUP_LIMIT })).items
  // A filter may name members (members[value eq "…"]): load them for matching when it could.
  const needsMembers = kind === 'Group' && (returnsMembers || /members/i.test(params.filter))
  const matched: Json[] = []
  for await (const candidate of candidates) {
    const presented = await presentOne(context, kind, candidate, needsMembers)
    if (matches(presented, filter)) matched.push(presented)
  }
  const page = matched.slice(startIndex - 1, startIndex - 1 + count)
  return { ...listResponse(page.map((r) => project(r, attributes, excluded)), matched.length, startIndex) }
}
