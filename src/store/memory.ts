// The resource store of the mem engine: plain maps, shared by every registration in the process as
// jackson's own mem store is. It lives as long as the process, like everything else on mem.
import {
  UniquenessError, type Lookup, type Member, type Page, type ResourceStore, type ResourceType, type StoredResource
} from './types.js'

interface DirectoryState {
  /** Insertion order is creation order. */
  resources: Map<string, StoredResource>
  names: Map<string, string>
  /** group id → user id → display */
  members: Map<string, Map<string, string | undefined>>
}

const stateKey = Symbol.for('fastify-directory-sync.memory-store')
const directories: Map<string, DirectoryState> = ((globalThis as any)[stateKey] ??= new Map())

const nameKey = (type: ResourceType, name: string) => `${type}\u0000${name}`

function stateOf (directoryId: string): DirectoryState {
  let state = directories.get(directoryId)
  if (state === undefined) {
    state = { resources: new Map(), names: new Map(), members: new Map() }
    directories.set(directoryId, state)
  }
  return state
}

// Through JSON: structuredClone overflows the stack on a deeply nested resource.
const copy = (resource: StoredResource): StoredResource => JSON.parse(JSON.stringify(resource))

function matchesLookup (resource: StoredResource, lookup: Lookup | undefined): boolean {
  if (lookup === undefined) return true
  switch (lookup.key) {
    case 'id': return resource.id === lookup.value
    case 'name': return resource.keys.name === lookup.value
    case 'externalId': return resource.keys.externalId === lookup.value
    case 'displayName': return resource.keys.displayName === lookup.value
  }
}

export function openMemoryStore (): ResourceStore {
  return {
    async get (directoryId, type, id) {
      const resource = directories.get(directoryId)?.resources.get(id)
      return resource?.type === type ? copy(resource) : null
    },
    async getMany (directoryId, type, ids) {
      const resources = directories.get(directoryId)?.resources
      const found = new Map<string, StoredResource>()
      for (const id of ids) {
        const resource = resources?.get(id)
        if (resource?.type === type && !found.has(id)) found.set(id, copy(resource))
      }
      return found
    },
    async list (directoryId, type, { lookup, offset, limit }): Promise<Page<StoredResource>> {
      const found: StoredResource[] = []
      for (const resource of directories.get(directoryId)?.resources.values() ?? []) {
        if (resource.type === type && matchesLookup(resource, lookup)) found.push(resource)
      }
      return { total: found.length, items: found.slice(offset, offset + Math.max(limit, 0)).map(copy) }
    },
    async * scan (directoryId, type) {
      for (const resource of [...directories.get(directoryId)?.resources.values() ?? []]) {
        if (resource.type === type) yield copy(resource)
      }
    },
    async insert (resource) {
      const state = stateOf(resource.directoryId)
      const key = nameKey(resource.type, resource.keys.name)
      if (state.names.has(key) || state.resources.has(resource.id)) throw new UniquenessError(resource.type, resource.keys.name)
      state.names.set(key, resource.id)
      state.resources.set(resource.id, copy(resource))
    },
    async replace (resource) {
      const state = stateOf(resource.directoryId)
      const current = state.resources.get(resource.id)
      if (current === undefined || current.type !== resource.type || current.version !== resource.version - 1) return false
      const key = nameKey(resource.type, resource.keys.name)
      const holder = state.names.get(key)
      if (holder !== undefined && holder !== resource.id) throw new UniquenessError(resource.type, resource.keys.name)
      state.names.delete(nameKey(current.type, current.keys.name))
      state.names.set(key, resource.id)
      state.resources.set(resource.id, copy(resource))
      return true
    },
    async delete (directoryId, type, id) {
      const state = directories.get(directoryId)
      const current = state?.resources.get(id)
      if (state === undefined || current === undefined || current.type !== type) return null
      state.resources.delete(id)
      state.names.delete(nameKey(type, current.keys.name))
      if (type === 'Group') {
        state.members.delete(id)
        return []
      }
      const groups: string[] = []
      for (const [groupId, members] of state.members) {
        if (members.delete(id)) groups.push(groupId)
      }
      return groups.sort()
    },
    async members (directoryId, groupId) {
      const members = directories.get(directoryId)?.members.get(groupId) ?? new Map()
      return [...members].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
        .map(([value, display]): Member => display === undefined ? { value } : { value, display })
    },
    async addMembers (directoryId, groupId, added) {
      const state = stateOf(directoryId)
      let members = state.members.get(groupId)
      if (members === undefined) state.members.set(groupId, members = new Map())
      const ids: string[] = []
      for (const member of added) {
        if (members.has(member.value)) continue
        members.set(member.value, member.display)
        ids.push(member.value)
      }
      return ids
    },
    async removeMembers (directoryId, groupId, userIds) {
      const members = directories.get(directoryId)?.members.get(groupId)
      return members === undefined ? [] : userIds.filter((id) => members.delete(id))
    },
    async dropDirectory (directoryId) {
      directories.delete(directoryId)
    },
    async close () {}
  }
}
