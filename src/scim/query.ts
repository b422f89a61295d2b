// Reading resources: GET of one, and list / .search with filter, pagination and projection. Equality
// on userName, externalId, id and displayName is answered from the store's indexes; any other filter
// reads the directory's resources of that type in order. Every candidate is checked against the whole
// filter, so an index only narrows the search.
import type { Lookup, ResourceStore, StoredResource } from '../store/types.js'
import type { ScimContext } from './context.js'
import { notFound } from './context.js'
import { listResponse, MAX_RESULTS } from './discovery.js'
import { ScimProblem } from './errors.js'
import { equalityLookup, FilterError, matches, parseFilter, type Filter } from './filter.js'
import { yieldToOthers } from './fairness.js'
import type { Limits } from './limits.js'
import { presentGroup } from './groups.js'
import { leavesOut, parseAttributeList, project, type ResourceKind } from './resources.js'
import { presentUser } from './users.js'
import { foldKey } from '../keys.js'

type Json = Record<string, unknown>

/** Without `count`, a page holds this many resources. */
export const DEFAULT_COUNT = 100
// What an index lookup finds is read in pages of this many (displayName is not unique).
const LOOKUP_PAGE = 500

export interface ListParams {
  filter?: string
  /** An integer, or its decimal text (a query string's). */
  startIndex?: number | string
  count?: number | string
  attributes?: string
  excludedAttributes?: string
}

// Lists whose page is larger than this are expensive work (fairness.ts), as are scans.
const EXPENSIVE_PAGE = DEFAULT_COUNT
// A scan lets other requests run after this many candidates.
const YIELD_EVERY = 100

/**
 * An integer query parameter: a safe integer, or its decimal text. Anything else (NaN, Infinity, 1.5,
 * 1e300, text, a value past Number.MAX_SAFE_INTEGER) answers 400 invalidValue.
 */
export function integerParam (value: unknown, name: string): number | undefined {
  if (value === undefined || value === '') return undefined
  const number = typeof value === 'number' ? value : typeof value === 'string' && /^\s*[+-]?\d{1,20}\s*$/.test(value) ? Number(value) : NaN
  if (!Number.isSafeInteger(number)) {
    throw new ScimProblem(400, `"${name}" must be an integer from ${Number.MIN_SAFE_INTEGER} to ${Number.MAX_SAFE_INTEGER}`, 'invalidValue')
  }
  return number
}

function projection (limits: Limits, params: { attributes?: string, excludedAttributes?: string }) {
  const attributes = parseAttributeList(params.attributes)
  const excluded = parseAttributeList(params.excludedAttributes)
  const names = (attributes?.length ?? 0) + (excluded?.length ?? 0)
  if (names > limits.attributeNames) {
    throw new ScimProblem(400, `At most ${limits.attributeNames} attribute names are accepted in "attributes" and "excludedAttributes"; got ${names}`, 'invalidValue')
  }
  return { attributes, excluded }
}

async function presentOne (context: ScimContext, kind: ResourceKind, resource: StoredResource, withMembers: boolean): Promise<Json> {
  if (kind === 'User') return presentUser(context, resource)
  return presentGroup(context, resource, withMembers ? await context.backend.store.members(context.directory.id, resource.id) : undefined)
}

export async function getResource (context: ScimContext, kind: ResourceKind, id: string, params: ListParams): Promise<Json> {
  const { attributes, excluded } = projection(context.limits, params)
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
    case 'userName': return kind === 'User' ? { key: 'name', value: foldKey(equality.value) } : undefined
    case 'displayName': return { key: kind === 'User' ? 'displayName' : 'name', value: foldKey(equality.value) }
    default: return undefined
  }
}

function parse (context: ScimContext, text: string): Filter {
  try {
    return parseFilter(text, { terms: context.limits.filterTerms, depth: context.limits.filterDepth })
  } catch (err) {
    if (err instanceof FilterError) throw new ScimProblem(400, err.message, 'invalidFilter')
    throw err
  }
}

export async function listResources (context: ScimContext, kind: ResourceKind, params: ListParams): Promise<Json> {
  const { attributes, excluded } = projection(context.limits, params)
  // RFC 7644 §3.4.2.4: a startIndex below 1 is read as 1, a negative count as 0; past the maximum, the maximum.
  const startIndex = Math.max(1, integerParam(params.startIndex, 'startIndex') ?? 1)
  const count = Math.min(Math.max(0, integerParam(params.count, 'count') ?? DEFAULT_COUNT), MAX_RESULTS)
  const filter = params.filter === undefined || params.filter.trim() === '' ? undefined : parse(context, params.filter)
  const lookup = filter === undefined ? undefined : planLookup(kind, filter)
  // A filter may name members (members[value eq "…"]): only then are they loaded for matching.
  const membersInFilter = kind === 'Group' && /members/i.test(params.filter ?? '')
  const page = { startIndex, count, attributes, excluded, membersInFilter }
  const list = () => filter === undefined || lookup !== undefined
    ? listIndexed(context, kind, page, lookup, filter)
    : listScanned(context, kind, page, filter)
  return (filter !== undefined && lookup === undefined) || count > EXPENSIVE_PAGE ? context.expensive(list) : list()
}

interface PageRequest {
  startIndex: number
  count: number
  attributes: string[][] | undefined
  excluded: string[][] | undefined
  /** Groups must be matched with their members. */
  membersInFilter: boolean
}

// Every resource, or those an index finds: the store answers the window and the total. An index
// lookup that is not unique (displayName) may find more than one: each is checked against the whole
// filter, and the total counts those that match.
async function listIndexed (context: ScimContext, kind: ResourceKind, page: PageRequest, lookup: Lookup | undefined, filter: Filter | undefined): Promise<Json> {
  const { store } = context.backend
  const directoryId = context.directory.id
  if (filter === undefined) {
    // A long page is read a slice at a time, letting other requests run between slices.
    const offset = page.startIndex - 1
    const found = await store.list(directoryId, kind, { offset, limit: Math.min(page.count, YIELD_EVERY) })
    const items = found.items
    while (items.length < page.count && items.length < found.total - offset) {
      await yieldToOthers()
      const slice = await store.list(directoryId, kind, { offset: offset + items.length, limit: Math.min(page.count - items.length, YIELD_EVERY), total: false })
      if (slice.items.length === 0) break
      items.push(...slice.items)
    }
    return respond(context, kind, page, items, found.total)
  }
  return listScanned(context, kind, page, filter, lookedUp(store, directoryId, kind, lookup!))
}

// What an index lookup finds, a page at a time (a displayName is not unique: it may find many).
async function * lookedUp (store: ResourceStore, directoryId: string, kind: ResourceKind, lookup: Lookup): AsyncIterable<StoredResource> {
  for (let offset = 0; ; offset += LOOKUP_PAGE) {
    const { items } = await store.list(directoryId, kind, { lookup, offset, limit: LOOKUP_PAGE })
    yield * items
    if (items.length < LOOKUP_PAGE) return
  }
}

// A filter no index answers: the directory's resources of the kind are read in batches and matched,
// counting every match but keeping only the requested window, so memory does not grow with the
// directory; other requests run between batches.
async function listScanned (
  context: ScimContext, kind: ResourceKind, page: PageRequest, filter: Filter,
  candidates: AsyncIterable<StoredResource> = context.backend.store.scan(context.directory.id, kind)
): Promise<Json> {
  const window: StoredResource[] = []
  let total = 0
  let seen = 0
  for await (const candidate of candidates) {
    if (++seen % YIELD_EVERY === 0) await yieldToOthers()
    const presented = await presentOne(context, kind, candidate, page.membersInFilter)
    if (!matches(presented, filter)) continue
    total++
    if (total >= page.startIndex && window.length < page.count) window.push(candidate)
  }
  return respond(context, kind, page, window, total)
}

// A page of groups carries their members only up to `limits.membersPerPage` in all: past it the page
// is cut short (itemsPerPage says how many it holds; the next page starts after them). A first group
// larger than that is still returned whole, so that paging always moves on.
async function respond (context: ScimContext, kind: ResourceKind, page: PageRequest, items: StoredResource[], total: number): Promise<Json> {
  const withMembers = kind === 'Group' && !leavesOut('members', page.attributes, page.excluded)
  const out: Json[] = []
  let members = 0
  let done = 0
  for (const item of items) {
    if (++done % YIELD_EVERY === 0) await yieldToOthers()
    const presented = await presentOne(context, kind, item, withMembers)
    const carried = Array.isArray(presented.members) ? presented.members.length : 0
    if (out.length > 0 && members + carried > context.limits.membersPerPage) break
    members += carried
    out.push(project(presented, page.attributes, page.excluded))
  }
  return { ...listResponse(out, total, page.startIndex) }
}
