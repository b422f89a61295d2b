// A PATCH of a group that only adds and removes members named by id: what Okta, Entra, OneLogin and
// JumpCloud send for every membership change. Such a PATCH is stored as the members it names, without
// reading the group's whole member list (which grows with the group: a change to a group of 50,000 would
// read 50,000 rows). Anything else (a filter other than `value eq`, members replaced, the group's own
// attributes, the same user named twice) answers undefined and goes through the general PATCH.
import type { Member } from '../store/types.js'
import { parsePath } from './filter.js'

type Json = Record<string, unknown>

export interface MemberDelta { add: Member[], remove: string[] }

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)
const optionalString = (value: unknown): boolean => value === undefined || typeof value === 'string'

/** A member as a group document gives it (schemas.ts GroupMember: value, display, $ref, type; others ignored), or undefined. */
export function memberOf (item: unknown): Member | undefined {
  if (!isObject(item) || typeof item.value !== 'string' || item.value === '') return undefined
  if (!optionalString(item.display) || !optionalString(item.type) || !(item.$ref === undefined || item.$ref === null || typeof item.$ref === 'string')) return undefined
  // Microsoft's collection names it displayName (as splitGroup takes it).
  const display = item.display ?? item.displayName
  return typeof display === 'string' ? { value: item.value, display } : { value: item.value }
}

// The user id of `members[value eq "…"]`, or the whole `members` (null); undefined for any other path.
function memberPath (path: unknown): string | null | undefined {
  if (typeof path !== 'string') return undefined
  if (path.trim().toLowerCase() === 'members') return null
  try {
    const { attr, valueFilter, subAttribute } = parsePath(path)
    if (attr.uri !== undefined || attr.subAttribute !== undefined || attr.attribute.toLowerCase() !== 'members' || subAttribute !== undefined) return undefined
    if (valueFilter?.op !== 'eq' || typeof valueFilter.value !== 'string' || valueFilter.value === '') return undefined
    const { path: compared } = valueFilter
    return compared.uri === undefined && compared.subAttribute === undefined && compared.attribute.toLowerCase() === 'value' ? valueFilter.value : undefined
  } catch {
    return undefined
  }
}

/** The members a PATCH adds and removes, where that is all it does (see above). */
export function memberDelta (operations: unknown[]): MemberDelta | undefined {
  const delta: MemberDelta = { add: [], remove: [] }
  const named = new Set<string>()
  const name = (id: string): boolean => !named.has(id) && named.add(id) !== undefined
  for (const operation of operations) {
    if (!isObject(operation) || typeof operation.op !== 'string') return undefined
    const op = operation.op.toLowerCase()
    const target = memberPath(operation.path)
    if (target === undefined || (op !== 'add' && op !== 'remove')) return undefined
    if (op === 'remove' && target !== null) {
      // members[value eq "id"], without a value (a value here is not what Okta or Entra send).
      if (operation.value !== undefined || !name(target)) return undefined
      delta.remove.push(target)
      continue
    }
    // add or remove on `members` with a list (a remove without one empties the group: the general path).
    if (target !== null || !Array.isArray(operation.value) || operation.value.length === 0) return undefined
    for (const item of operation.value) {
      const member = memberOf(item)
      if (member === undefined || !name(member.value)) return undefined
      if (op === 'add') delta.add.push(member)
      else delta.remove.push(member.value)
    }
  }
  return delta.add.length + delta.remove.length === 0 ? undefined : delta
}
