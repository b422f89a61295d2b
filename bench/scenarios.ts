// The scenarios, written once for every contender: each turns its run data into workloads, runs them
// with the contender's runner, and then reads the contender's storage to count what was actually
// stored, so that a write answered 2xx but lost does not count as served.
import type { Inspector } from './protocol.js'
import { addMembers, deactivate, removeMember, scimUser, userNameFilter, type ScimOp } from './scim.js'
import { chainCounter, combine, wholeChains, type Context, type LoadResult, type Runner, type Step, type Workload } from './workload.js'

export const READS = ['getUser', 'filterUser'] as const
export const WRITES = ['createUser', 'deactivate', 'membership'] as const
export type ScenarioName = 'initialSync' | typeof READS[number] | typeof WRITES[number]

export const TITLES: Record<ScenarioName, string> = {
  initialSync: 'initial sync',
  getUser: 'GET /Users/:id',
  filterUser: 'GET /Users?filter=userName eq',
  createUser: 'POST /Users',
  deactivate: 'PATCH deactivate',
  membership: 'group membership PATCH'
}

export interface MembershipChange { groupId: string, userId: string, op: 'add' | 'remove' }

/** Everything a run needs, serialisable so that the in-process reference can be handed it. */
export interface RunData {
  scenario: ScenarioName
  connections: number
  /** Read scenarios run for a time; writes run a fixed number of requests. */
  seconds?: number
  /** Unique per run: new userNames and displayNames start with it. */
  prefix: string
  /** Reads: the users to read, in turn. */
  users?: Array<{ id: string, userName: string }>
  /** createUser and initialSync: how many users to create. */
  count?: number
  /** deactivate: active users to deactivate, one request each. */
  ids?: string[]
  /** membership: one add or remove per request. */
  changes?: MembershipChange[]
  /** initialSync: groups, and members per group. */
  groups?: number
  groupSize?: number
}

export interface Outcome {
  load: LoadResult
  /** Requests that count as served: every 2xx read, and 2xx writes only up to what was found stored. */
  served: number
  /** What was found stored, in words (write scenarios). */
  stored?: string
  /** Whether everything answered 2xx was found stored. */
  complete?: boolean
  /** Seconds the contender stayed busy after its last answer (set by the driver). */
  busyAfter?: number
}

type Json = Record<string, any>
const parse = (body: string): Json => { try { return JSON.parse(body) } catch { return {} } }
const ok = (status: number) => status >= 200 && status < 300

function oneStep (data: RunData, op: (n: number) => ScimOp, size?: number): Workload {
  return {
    connections: data.connections,
    steps: [{ op: (ctx) => op(ctx.n) }],
    begin: chainCounter(),
    ...(size === undefined ? { seconds: data.seconds } : { chains: size })
  }
}

async function read (data: RunData, run: Runner): Promise<Outcome> {
  const users = data.users ?? []
  if (users.length === 0) throw new Error(`${data.scenario}: no users to read`)
  const op = data.scenario === 'getUser'
    ? (n: number): ScimOp => ({ method: 'GET', resourceType: 'Users', id: users[n % users.length].id })
    : (n: number): ScimOp => ({ method: 'GET', resourceType: 'Users', query: { filter: userNameFilter(users[n % users.length].userName) } })
  const load = await run(oneStep(data, op))
  return { load, served: load.ok }
}

async function createUsers (data: RunData, run: Runner, inspect: Inspector): Promise<Outcome> {
  const count = wholeChains(data.count ?? 0, data.connections)
  const before = await inspect.stored()
  const load = await run(oneStep(data, (n) => ({ method: 'POST', resourceType: 'Users', body: scimUser(`post.${data.prefix}${n}@bench.example.com`) }), count))
  const stored = (await inspect.stored()).users - before.users
  return { load, served: Math.min(load.ok, stored), stored: `${stored} of ${load.ok} created`, complete: stored >= load.ok }
}

async function deactivateUsers (data: RunData, run: Runner, inspect: Inspector): Promise<Outcome> {
  const ids = data.ids ?? []
  const count = wholeChains(ids.length, data.connections)
  if (count > ids.length) throw new Error('deactivate: not enough active users')
  const before = await inspect.stored()
  const load = await run(oneStep(data, (n) => ({ method: 'PATCH', resourceType: 'Users', id: ids[n], body: deactivate }), count))
  const stored = (await inspect.stored()).inactive - before.inactive
  return { load, served: Math.min(load.ok, stored), stored: `${stored} of ${load.ok} deactivated`, complete: stored >= load.ok }
}

async function changeMembers (data: RunData, run: Runner, inspect: Inspector): Promise<Outcome> {
  const changes = data.changes ?? []
  const count = wholeChains(changes.length, data.connections)
  if (count > changes.length) throw new Error('membership: not enough changes')
  const load = await run(oneStep(data, (n) => {
    const change = changes[n]
    return { method: 'PATCH', resourceType: 'Groups', id: change.groupId, body: change.op === 'add' ? addMembers([change.userId]) : removeMember(change.userId) }
  }, count))
  const members = await inspect.members([...new Set(changes.slice(0, count).map((c) => c.groupId))])
  const stored = changes.slice(0, count).filter((c) => members[c.groupId].includes(c.userId) === (c.op === 'add')).length
  return { load, served: Math.min(load.ok, stored), stored: `${stored} of ${load.ok} changed`, complete: stored >= load.ok }
}

// An identity provider's first push: each user looked up by userName, then created; then each group
// created and its members added in one PATCH (jackson ignores members in a group POST).
async function initialSync (data: RunData, run: Runner, inspect: Inspector): Promise<Outcome> {
  const users = wholeChains(data.count ?? 0, data.connections)
  const groups = wholeChains(data.groups ?? 0, data.connections)
  const size = data.groupSize ?? 50
  const before = await inspect.stored()
  const tally = { lookups: 0, users: 0, groups: 0, patches: 0 }
  const userIds: string[] = []
  const groupIds: string[] = []
  const userName = (k: number) => `sync.${data.prefix}.${k}@idp.example.com`
  const userSteps: Step[] = [
    { op: (ctx) => ({ method: 'GET', resourceType: 'Users', query: { filter: userNameFilter(userName(ctx.n)) } }), onResponse: (s) => { if (ok(s)) tally.lookups++ } },
    {
      op: (ctx) => ({ method: 'POST', resourceType: 'Users', body: scimUser(userName(ctx.n)) }),
      onResponse: (status, body, ctx: Context) => {
        if (!ok(status)) return
        tally.users++
        const id = parse(body).id
        if (typeof id === 'string') userIds[ctx.n] = id
      }
    }
  ]
  const membersOf = (j: number) => userIds.slice(j * size, (j + 1) * size).filter((id) => id !== undefined)
  const groupSteps: Step[] = [
    {
      op: (ctx) => ({ method: 'POST', resourceType: 'Groups', body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: `Group ${data.prefix} ${ctx.n}` } }),
      onResponse: (status, body, ctx: Context) => {
        if (!ok(status)) return
        tally.groups++
        const id = parse(body).id
        if (typeof id === 'string') groupIds[ctx.n] = ctx.groupId = id
      }
    },
    { op: (ctx) => ({ method: 'PATCH', resourceType: 'Groups', id: ctx.groupId ?? 'missing', body: addMembers(membersOf(ctx.n)) }), onResponse: (s) => { if (ok(s)) tally.patches++ } }
  ]
  const load = combine([
    await run({ connections: data.connections, steps: userSteps, begin: chainCounter(), chains: users }),
    await run({ connections: data.connections, steps: groupSteps, begin: chainCounter(), chains: groups })
  ])
  const after = await inspect.stored()
  const created = groupIds.filter((id) => id !== undefined)
  const members = await inspect.members(created)
  let membersStored = 0
  let patchesStored = 0
  created.forEach((id) => {
    const wanted = membersOf(groupIds.indexOf(id))
    membersStored += members[id].length
    if (wanted.every((u) => members[id].includes(u))) patchesStored++
  })
  const usersStored = after.users - before.users
  const groupsStored = after.groups - before.groups
  const wantedMembers = Array.from({ length: groups }, (_, j) => Math.max(0, Math.min(size, users - j * size))).reduce((a, b) => a + b, 0)
  const served = tally.lookups + Math.min(tally.users, usersStored) + Math.min(tally.groups, groupsStored) + Math.min(tally.patches, patchesStored)
  return {
    load,
    served,
    stored: `${usersStored}/${users} users, ${groupsStored}/${groups} groups, ${membersStored}/${wantedMembers} members`,
    complete: usersStored === users && groupsStored === groups && membersStored === wantedMembers
  }
}

export function runScenario (data: RunData, run: Runner, inspect: Inspector): Promise<Outcome> {
  switch (data.scenario) {
    case 'getUser':
    case 'filterUser': return read(data, run)
    case 'createUser': return createUsers(data, run, inspect)
    case 'deactivate': return deactivateUsers(data, run, inspect)
    case 'membership': return changeMembers(data, run, inspect)
    case 'initialSync': return initialSync(data, run, inspect)
  }
}
