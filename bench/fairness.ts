// Fairness (plugin only): one plugin process serves two directories. Tenant B's reads (GET /Users/:id)
// are measured alone, then while tenant A sends the most expensive requests the plugin accepts, then
// alone again; the reference is B alone in the same run, so no other contender is needed. A's attack
// runs in a process of its own (fairness-attack.ts). Nothing here asserts a time: the report compares.
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { AttackOp, AttackPlan, AttackTally } from './fairness-attack.js'
import { inspect, startContender, type Child } from './child.js'
import type { Config } from './config.js'
import { vacuumAnalyze, type Databases, type Engine } from './databases.js'
import { httpRunner } from './http-runner.js'
import { addMembers, pathOf } from './scim.js'
import type { Log } from './section.js'
import { chainCounter, type LoadResult } from './workload.js'

const envNumber = (name: string, fallback: number): number => {
  const value = Number(process.env[name] ?? fallback)
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`)
  return value
}

// The largest requests the plugin accepts, as its defaults stand (src/scim/limits.ts, src/options.ts);
// the environment overrides them when the defaults move.
/** Values of one multi-valued attribute (a PATCH's members) the plugin accepts. */
export const FAIRNESS_MAX_VALUES = envNumber('FAIRNESS_MAX_VALUES', 10_000)
/** Names in `attributes` the plugin accepts. */
export const FAIRNESS_MAX_ATTRIBUTES = envNumber('FAIRNESS_MAX_ATTRIBUTES', 200)
/** The plugin's largest request body in bytes (its `bodyLimit`, 1 MiB by default). */
export const FAIRNESS_BODY_LIMIT = envNumber('FAIRNESS_BODY_LIMIT', 1_048_576)
/** A filter that no index answers (a substring of every user's email, which lives only in the body). */
export const FAIRNESS_FILTER = 'emails.value co "example.com"'
const PAGE = 1000 // the plugin's largest page
const TENANT_B = 'fairness-b'
const GROUP = 'Fairness A'

export interface FairnessResult {
  /** Users of each tenant when measured. */
  aUsers: number
  bUsers: number
  seconds: number
  bConnections: number
  aConnections: number
  /** What A sends, in turn. */
  attack: { patchValues: number, patchBytes: number, filter: string, count: number, attributes: number }
  setup: {
    /** Users created in-process for A (beyond those the section left) and for B, and how long that took. */
    seededA: number
    seededB: number
    seedSeconds: number
    /** The group PATCH that first filled A's group: its status and time, and the work after it. */
    groupStatus: number
    groupSeconds: number
    settleSeconds: number
  }
  /** Each of A's requests once, alone, before the attack: what it does. */
  probes: Probe[]
  /** B alone before the attack, and after it. */
  alone: LoadResult[]
  /** B while A attacks. */
  attacked: LoadResult
  attacker: AttackTally
  /** Seconds the plugin kept working after the attack stopped (A's requests still running). */
  busyAfter: number
}

interface Tenant { base: string, token: string }

export interface Probe {
  kind: string
  status: number
  ms: number
  /** The answer's size, and for lists its totalResults and the resources it carries. */
  bytes: number
  totalResults?: number
  resources?: number
  members?: number
}

async function scim (tenant: Tenant, method: string, path: string, body?: unknown, timeoutMs = 300_000): Promise<{ status: number, json: any, ms: number, bytes: number }> {
  const started = performance.now()
  const response = await fetch(tenant.base + path, {
    method,
    headers: { authorization: `Bearer ${tenant.token}`, ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs)
  })
  const text = await response.text()
  let json: any = {}
  try { json = JSON.parse(text) } catch {}
  return { status: response.status, json, ms: performance.now() - started, bytes: Buffer.byteLength(text) }
}

/** Every user id of a tenant, a page at a time. */
async function userIds (tenant: Tenant): Promise<string[]> {
  const ids: string[] = []
  for (let start = 1; ; start += PAGE) {
    const { status, json } = await scim(tenant, 'GET', `/Users?startIndex=${start}&count=${PAGE}&attributes=userName`)
    if (status !== 200) throw new Error(`fairness: listing users answered ${status}: ${JSON.stringify(json).slice(0, 300)}`)
    const page: Array<{ id: string }> = json.Resources ?? []
    ids.push(...page.map((u) => u.id))
    if (page.length < PAGE) return ids
  }
}

async function groupOf (tenant: Tenant): Promise<string> {
  const found = await scim(tenant, 'GET', `/Groups?filter=${encodeURIComponent(`displayName eq "${GROUP}"`)}&attributes=displayName`)
  if (found.status === 200 && found.json.Resources?.length > 0) return found.json.Resources[0].id
  const created = await scim(tenant, 'POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: GROUP })
  if (created.status !== 201) throw new Error(`fairness: creating A's group answered ${created.status}: ${JSON.stringify(created.json).slice(0, 300)}`)
  return created.json.id
}

/** The largest `add` of members the plugin accepts: the cap on values, within the body limit. */
function largestAdd (ids: string[]): { body: string, values: number } {
  let values = Math.min(FAIRNESS_MAX_VALUES, ids.length)
  for (;;) {
    const body = JSON.stringify(addMembers(ids.slice(0, values)))
    const bytes = Buffer.byteLength(body)
    if (bytes <= FAIRNESS_BODY_LIMIT) return { body, values }
    values = Math.floor(values * FAIRNESS_BODY_LIMIT / bytes) - 1
  }
}

/** Distinct attribute names: the User schema's own first, then custom extension attributes (as Okta sends them). */
function attributeNames (count: number): string[] {
  const enterprise = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
  const known = [
    'id', 'externalId', 'userName', 'name', 'name.formatted', 'name.familyName', 'name.givenName', 'name.middleName',
    'name.honorificPrefix', 'name.honorificSuffix', 'displayName', 'nickName', 'profileUrl', 'title', 'userType',
    'preferredLanguage', 'locale', 'timezone', 'active', 'emails', 'emails.value', 'emails.type', 'emails.primary',
    'phoneNumbers', 'phoneNumbers.value', 'phoneNumbers.type', 'ims', 'photos', 'addresses', 'addresses.streetAddress',
    'addresses.locality', 'addresses.region', 'addresses.postalCode', 'addresses.country', 'groups', 'groups.value',
    'entitlements', 'roles', 'x509Certificates', 'meta', 'meta.created', 'meta.lastModified',
    ...['employeeNumber', 'costCenter', 'organization', 'division', 'department', 'manager', 'manager.value'].map((a) => `${enterprise}:${a}`)
  ]
  const names = known.slice(0, count)
  for (let i = 0; names.length < count; i++) names.push(`urn:ietf:params:scim:schemas:extension:bench:2.0:User:custom${i}`)
  return names
}

/** B's reads: GET /Users/:id over B's users in turn, for `seconds`. */
function readB (tenant: Tenant, ids: string[], connections: number, seconds: number): Promise<LoadResult> {
  return httpRunner(tenant.base, tenant.token)({
    connections,
    steps: [{ op: (ctx) => ({ method: 'GET', resourceType: 'Users', id: ids[ctx.n % ids.length] }) }],
    begin: chainCounter(),
    seconds
  })
}

interface Attacker { stop (): Promise<AttackTally> }

/** Starts A's attack in a process of its own; resolves once it is sending. */
function attack (plan: AttackPlan): Promise<Attacker> {
  const file = fileURLToPath(new URL('./fairness-attack.ts', import.meta.url))
  // TypeScript through tsx's loader (resolved here, so that any working directory will do).
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), file], { stdio: ['pipe', 'pipe', 'pipe'] })
  // The plan goes in on stdin: its bodies are too large for the environment.
  child.stdin!.write(JSON.stringify(plan) + '\n')
  let stderr = ''
  child.stderr!.on('data', (chunk) => { stderr = (stderr + chunk).slice(-4000) })
  let onStarted: () => void
  let onTally: (tally: AttackTally) => void
  let failed: (err: Error) => void
  const tally = new Promise<AttackTally>((resolve, reject) => { onTally = resolve; failed = reject })
  const started = new Promise<void>((resolve, reject) => {
    onStarted = resolve
    tally.catch(reject)
  })
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (!line.startsWith('{')) return
    const message = JSON.parse(line)
    if (message.started === true) onStarted()
    if (message.tally !== undefined) onTally(message.tally)
  })
  child.once('exit', (code, signal) => failed(new Error(`tenant A's attacker exited with ${code ?? signal} before its tally\n${stderr}`)))
  return started.then(() => ({
    stop () {
      child.stdin!.end('stop\n')
      return tally
    }
  }))
}

export async function fairness (engine: Engine, dbs: Databases, config: Config, log: Log): Promise<FairnessResult> {
  const f = config.fairness
  const say = (line: string) => log(`${engine}: fairness: ${line}`)
  say(`starting the plugin; tenant A filled to ${f.aUsers.toLocaleString('en-US')} users in-process`)
  const plugin: Child = await startContender('plugin', { db: dbs.plugin, seedUsers: f.aUsers })
  try {
    const a: Tenant = { base: plugin.ready.base, token: plugin.ready.token }
    const b = await inspect<Tenant & { seeded: { users: number, ms: number } }>(plugin.origin, '/tenant', { tenant: TENANT_B, users: f.bUsers })
    const seededA = plugin.ready.seeded?.users ?? 0
    const seedSeconds = ((plugin.ready.seeded?.ms ?? 0) + b.seeded.ms) / 1000
    // The plugin writes jackson's copy of each new user in the background: measure once it is done.
    let settleSeconds = await plugin.settle(600)
    const aIds = await userIds(a)
    const bIds = await userIds(b)
    if (bIds.length === 0) throw new Error('fairness: tenant B has no users')

    // A's group, filled once by the largest add the plugin accepts (its jackson copy written before
    // measuring); in the attack the same add is sent again and again.
    const groupId = await groupOf(a)
    const { body: patchBody, values } = largestAdd(aIds)
    const first = await scim(a, 'PATCH', `/Groups/${groupId}`, patchBody)
    say(`${aIds.length} users in A (${seededA} created now), ${bIds.length} in B (${b.seeded.users} created now) in ${seedSeconds.toFixed(1)} s; ` +
      `A's group PATCH of ${values} members answered ${first.status} in ${(first.ms / 1000).toFixed(1)} s`)
    if (first.status >= 300) say(`A's group PATCH answered ${first.status}: ${JSON.stringify(first.json).slice(0, 300)}`)
    settleSeconds += await plugin.settle(600)
    // What autovacuum would do for the rows just written (a no-op on sqlite).
    await vacuumAnalyze({ ...dbs, jackson: dbs.plugin, inprocess: dbs.plugin })

    const { pathname } = new URL(a.base)
    const attributes = attributeNames(FAIRNESS_MAX_ATTRIBUTES)
    const ops: AttackOp[] = [
      { kind: 'patch', method: 'PATCH', path: `${pathname}/Groups/${groupId}`, body: patchBody },
      { kind: 'scan', method: 'GET', path: pathOf(pathname, { method: 'GET', resourceType: 'Users', query: { filter: FAIRNESS_FILTER, count: PAGE } }) },
      {
        kind: 'search',
        method: 'POST',
        path: `${pathname}/Users/.search`,
        body: JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], attributes, count: PAGE })
      }
    ]

    // Each of A's requests once, alone: that it does what the report says (a scan that matches, a full page).
    const origin = new URL(a.base).origin
    const probes: Probe[] = []
    for (const op of ops) {
      const answer = await scim({ base: origin, token: a.token }, op.method, op.path, op.body)
      probes.push({
        kind: op.kind,
        status: answer.status,
        ms: answer.ms,
        bytes: answer.bytes,
        ...(typeof answer.json.totalResults === 'number' ? { totalResults: answer.json.totalResults, resources: answer.json.Resources?.length ?? 0 } : {}),
        ...(Array.isArray(answer.json.members) ? { members: answer.json.members.length } : {})
      })
    }
    say('A alone, once each: ' + probes.map((p) => `${p.kind} ${p.status} in ${p.ms.toFixed(0)} ms`).join(', '))
    await plugin.settle()

    const alone = [await readB(b, bIds, f.bConnections, f.seconds)]
    say(`B alone: ${alone[0].rps.toFixed(0)} req/s, p50 ${alone[0].p50.toFixed(2)} ms, p99 ${alone[0].p99.toFixed(2)} ms`)
    await plugin.settle()
    const attacker = await attack({ origin, token: a.token, connections: f.aConnections, ops })
    // A's connections are all busy before B's window opens; A stops whatever happens to B's run.
    const [run] = await Promise.allSettled([new Promise((resolve) => setTimeout(resolve, 1000)).then(() => readB(b, bIds, f.bConnections, f.seconds))])
    const tally = await attacker.stop()
    if (run.status === 'rejected') throw run.reason
    const attacked = run.value
    say(`B under attack: ${attacked.rps.toFixed(0)} req/s, p50 ${attacked.p50.toFixed(2)} ms, p99 ${attacked.p99.toFixed(2)} ms; A: ` +
      Object.entries(tally.kinds).map(([kind, k]) => `${kind} ${JSON.stringify(k.statuses)}${k.inFlight > 0 ? ` (${k.inFlight} unanswered)` : ''}`).join(', '))
    // A's requests still running when its attacker stopped finish first; then the plugin must still answer.
    const busyAfter = await plugin.settle(300)
    const check = await scim(b, 'GET', '/Users?count=0', undefined, 60_000).catch((err: Error) => ({ status: 0, json: { error: err.message } }))
    if (check.status !== 200) throw new Error(`fairness: after the attack the plugin answered tenant B ${check.status}: ${JSON.stringify(check.json).slice(0, 300)}`)
    alone.push(await readB(b, bIds, f.bConnections, f.seconds))
    say(`B alone again: ${alone[1].rps.toFixed(0)} req/s, p50 ${alone[1].p50.toFixed(2)} ms, p99 ${alone[1].p99.toFixed(2)} ms`)
    return {
      aUsers: aIds.length,
      bUsers: bIds.length,
      seconds: f.seconds,
      bConnections: f.bConnections,
      aConnections: f.aConnections,
      attack: { patchValues: values, patchBytes: Buffer.byteLength(patchBody), filter: FAIRNESS_FILTER, count: PAGE, attributes: attributes.length },
      setup: { seededA, seededB: b.seeded.users, seedSeconds, groupStatus: first.status, groupSeconds: first.ms / 1000, settleSeconds },
      probes,
      alone,
      attacked,
      attacker: tally,
      busyAfter
    }
  } finally {
    await plugin.stop()
  }
}
