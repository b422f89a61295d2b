// The provisioning sequence and the state it should leave. `plan` decides everything from the provider,
// the number of users, the seed and the run id (people, group members, who changes groups, who is
// updated, deactivated, deleted), without the network, so a test can compute the same expected state;
// `runScenario` replays it through a provider's dialect (dialects.ts) and records the ids the server
// assigns. The phases follow the order in which an identity provider does them: users (existence
// check, then create), group push, membership changes, profile updates, deactivations, deletions.
import { deletesUsers, dialectFor, type Dialect, type Json, type Member, type Person, type Provider } from './dialects.js'
import { RequestFailure, type ScimClient } from './client.js'

// A mix of names, some with letters outside ASCII (kept in name fields, folded in userNames).
const GIVEN = ['Priya', 'Tomás', 'Mei Lin', 'Kwame', 'Hana', 'Mateo', 'Inês', 'Olu', 'Grace', 'Jonas', 'Aylin', 'Dmitri',
  'Fatima', 'Lars', 'Chiara', 'Ravi', 'Zoë', 'Emeka', 'Sofía', 'Kenji', 'Noor', 'Björn', 'Amara', 'Luca']
const FAMILY = ['Raman', 'Herrera', 'Chua', 'Mensah', 'Sato', 'Lindqvist', 'Duarte', 'Adebayo', 'Okafor', 'Weber', 'Yılmaz',
  'Ivanova', 'Haddad', 'Nilsson', 'Ricci', 'Menon', 'Müller', 'Eze', 'García', 'Tanaka', 'Rahman', 'Strand', 'Diallo', 'Rossi']
const LOCALES = ['en-US', 'en-GB', 'es-ES', 'pt-PT', 'de-DE', 'ja-JP']
const GROUP_NAMES = ['Engineering', 'Sales']

/** mulberry32: a small seeded generator, so that a seed gives the same people and choices every time. */
function random (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const slug = (name: string) => name.normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/ı/g, 'i').replace(/[^A-Za-z0-9]+/g, '').toLowerCase()

export interface PlannedGroup {
  displayName: string
  externalId: string
  /** User numbers (1-based). */
  initial: number[]
  remove: number[]
  add: number[]
}

export interface Plan {
  provider: Provider
  runId: string
  seed: number
  /** As created. */
  people: Person[]
  /** As the profile updates leave them, by user number. */
  updated: Map<number, Person>
  groups: PlannedGroup[]
  deactivate: number[]
  delete: number[]
}

export interface ExpectedUser {
  n: number
  userName: string
  givenName: string
  familyName: string
  /** undefined: the provider sends none (OneLogin's create), so it is not compared. */
  displayName: string | undefined
  email: string
  active: boolean
  deleted: boolean
}

export interface ExpectedState {
  users: ExpectedUser[]
  groups: Array<{ displayName: string, members: number[] }>
}

const byNumber = (a: number, b: number) => a - b

export function plan (provider: Provider, users: number, seed: number, runId: string): Plan {
  const rnd = random(seed)
  const pick = <T>(list: readonly T[]) => list[Math.floor(rnd() * list.length)]
  const shuffled = <T>(list: readonly T[]) => {
    const out = [...list]
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1))
      ;[out[i], out[j]] = [out[j], out[i]]
    }
    return out
  }
  const token = (length: number, alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789') =>
    Array.from({ length }, () => pick([...alphabet])).join('')

  const people: Person[] = []
  for (let n = 1; n <= users; n++) {
    const [givenName, familyName] = [pick(GIVEN), pick(FAMILY)]
    const local = `${slug(givenName)}.${slug(familyName)}.${n}.${runId}`
    people.push({
      n,
      userName: `${local}@example.com`,
      givenName,
      familyName,
      displayName: `${givenName} ${familyName}`,
      email: `${local}@example.com`,
      // Okta's externalId is its user id (00u…); Entra's a mail nickname; both fine for the others.
      externalId: provider === 'okta' ? `00u${token(17)}` : local,
      locale: pick(LOCALES),
      password: token(12)
    })
  }

  const all = people.map((p) => p.n)
  const few = Math.max(1, Math.round(users / 6))
  const half = Math.ceil(users / 2)
  const groups = GROUP_NAMES.map((name): PlannedGroup => {
    const initial = shuffled(all).slice(0, half).sort(byNumber)
    const outside = all.filter((n) => !initial.includes(n))
    return {
      displayName: `${name} ${runId}`,
      externalId: [token(8, '0123456789abcdef'), token(4, '0123456789abcdef'), `4${token(3, '0123456789abcdef')}`,
        `a${token(3, '0123456789abcdef')}`, token(12, '0123456789abcdef')].join('-'),
      initial,
      remove: shuffled(initial).slice(0, Math.min(few, initial.length)).sort(byNumber),
      add: shuffled(outside).slice(0, Math.min(few, outside.length)).sort(byNumber)
    }
  })

  const updated = new Map<number, Person>()
  for (const n of shuffled(all).slice(0, few).sort(byNumber)) {
    const person = people[n - 1]
    // A second family name, as after a marriage: name, display name and work email change, userName does not.
    const familyName = `${person.familyName}-${pick(FAMILY.filter((f) => f !== person.familyName))}`
    updated.set(n, {
      ...person,
      familyName,
      displayName: `${person.givenName} ${familyName}`,
      email: `${slug(person.givenName)}.${slug(familyName)}.${n}.${runId}@example.com`
    })
  }

  const deactivate = shuffled(all).slice(0, Math.max(1, Math.round(users / 4))).sort(byNumber)
  // Entra (and the generic providers) delete after deactivating; Okta never deletes.
  const remove = deletesUsers(provider) ? shuffled(deactivate).slice(0, Math.ceil(deactivate.length / 2)).sort(byNumber) : []
  return { provider, runId, seed, people, updated, groups, deactivate, delete: remove }
}

export function expectedState (p: Plan): ExpectedState {
  const dialect = dialectFor(p.provider, true)
  const deleted = new Set(p.delete)
  const users = p.people.map((created): ExpectedUser => {
    const person = p.updated.get(created.n) ?? created
    // What the create body carried, unless an update set it.
    const displayName = p.updated.has(created.n) ? person.displayName : dialect.createUser(created).displayName as string | undefined
    return {
      n: created.n,
      userName: person.userName,
      givenName: person.givenName,
      familyName: person.familyName,
      displayName,
      email: person.email,
      active: !p.deactivate.includes(created.n),
      deleted: deleted.has(created.n)
    }
  })
  // A deleted user leaves its groups.
  const groups = p.groups.map((g) => ({
    displayName: g.displayName,
    members: [...g.initial.filter((n) => !g.remove.includes(n)), ...g.add].filter((n) => !deleted.has(n)).sort(byNumber)
  }))
  return { users, groups }
}

/** What the run learnt: the ids the server assigned. */
export interface Run {
  userIds: Map<number, string>
  groupIds: string[]
}

export interface PhaseReport {
  name: string
  summary: string
  ms: number
}

/** A failure that stops the sequence after its phase (later phases depend on it). */
export interface Problem { what: string, failure: RequestFailure }

export interface ScenarioOptions {
  concurrency: number
  /** Called when a phase ends. */
  onPhase: (report: PhaseReport) => void
  /** Called as users are created (for a counter on a terminal). */
  onProgress?: (done: number, total: number) => void
}

/** Runs `fn` on every item with at most `limit` at a time; the first fatal failure rejects. */
export async function pool<T> (items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  let fatal: unknown = null
  const worker = async () => {
    while (fatal === null && next < items.length) {
      const item = items[next++]
      try {
        await fn(item)
      } catch (err) {
        fatal ??= err
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  if (fatal !== null) throw fatal
}

export class SequenceFailed extends Error {
  constructor (readonly phase: string, readonly problems: Problem[]) {
    super(`${phase}: ${problems.length} request(s) failed`)
  }
}

const PATCH_OK = [200, 204]

export async function runScenario (p: Plan, dialect: Dialect, client: ScimClient, options: ScenarioOptions): Promise<Run> {
  const run: Run = { userIds: new Map(), groupIds: [] }
  const problems: Problem[] = []
  const member = (n: number): Member => ({ id: run.userIds.get(n) as string, display: p.people[n - 1].userName })

  // A non-fatal failure is recorded and the phase goes on; a fatal one (401, 403, network) ends the run.
  const attempt = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn()
    } catch (err) {
      if (err instanceof RequestFailure && !err.fatal) problems.push({ what, failure: err })
      else throw err
    }
  }
  const phase = async (name: string, fn: () => Promise<string>) => {
    const started = performance.now()
    const summary = await fn()
    if (problems.length > 0) throw new SequenceFailed(name, problems)
    options.onPhase({ name, summary, ms: performance.now() - started })
  }
  // The existence check misses on a fresh run id; a hit means names from an earlier run.
  const mustBeAbsent = (what: string, path: string, answer: Json) => {
    if (answer?.totalResults !== 0) {
      throw new RequestFailure(`GET ${path}`, `expected no ${what} (totalResults 0), got totalResults ${JSON.stringify(answer?.totalResults)}: ` +
        'it exists already (an earlier run with the same --run-id?)', 200, JSON.stringify(answer), false)
    }
  }

  await phase('users', async () => {
    let done = 0
    await pool(p.people, options.concurrency, (person) => attempt(`user ${person.n} ${person.userName}`, async () => {
      const lookup = dialect.lookupUser(person.userName)
      mustBeAbsent('user', lookup, (await client.send('GET', lookup, undefined, [200])).body)
      const created = await client.send('POST', '/Users', dialect.createUser(person), [201])
      if (typeof created.body?.id !== 'string') throw new RequestFailure('POST /Users', 'the 201 body has no id', 201, created.text, false)
      run.userIds.set(person.n, created.body.id)
      options.onProgress?.(++done, p.people.length)
    }))
    return `${p.people.length} looked up, ${run.userIds.size} created (concurrency ${options.concurrency})`
  })

  await phase('groups', async () => {
    let memberships = 0
    for (const group of p.groups) {
      await attempt(`group ${group.displayName}`, async () => {
        const lookup = dialect.lookupGroup(group.displayName)
        mustBeAbsent('group', lookup, (await client.send('GET', lookup, undefined, [200])).body)
        const members = group.initial.map(member)
        const created = await client.send('POST', '/Groups', dialect.createGroup(group.displayName, group.externalId, dialect.membersInCreate ? members : []), [201])
        if (typeof created.body?.id !== 'string') throw new RequestFailure('POST /Groups', 'the 201 body has no id', 201, created.text, false)
        run.groupIds.push(created.body.id)
        // Entra creates the group empty, then adds its members (in batches).
        if (!dialect.membersInCreate) {
          for (let i = 0; i < members.length; i += 100) {
            await client.send('PATCH', `/Groups/${created.body.id}`, dialect.addMembers(members.slice(i, i + 100)), PATCH_OK)
          }
        }
        memberships += members.length
      })
    }
    return `${run.groupIds.length} created (${p.groups.map((g) => g.displayName).join(', ')}), ${memberships} memberships` +
      (dialect.membersInCreate ? ' in the POST' : ', members PATCHed in after an empty POST')
  })

  await phase('membership changes', async () => {
    let [removed, added, requests] = [0, 0, 0]
    for (const [index, group] of p.groups.entries()) {
      const groupId = run.groupIds[index]
      const after = [...group.initial.filter((n) => !group.remove.includes(n)), ...group.add].sort(byNumber)
      const bodies = dialect.changeMembers({
        index, groupId, displayName: group.displayName, add: group.add.map(member), remove: group.remove.map(member), full: after.map(member)
      })
      await attempt(`membership of ${group.displayName}`, async () => {
        for (const body of bodies) {
          await client.send('PATCH', `/Groups/${groupId}`, body, PATCH_OK)
          requests++
        }
      })
      removed += group.remove.length
      added += group.add.length
    }
    return `${removed} removed, ${added} added (${requests} PATCH requests)`
  })

  await phase('profile updates', async () => {
    const numbers = [...p.updated.keys()]
    await pool(numbers, options.concurrency, (n) => attempt(`update of user ${n}`, async () => {
      const path = `/Users/${run.userIds.get(n)}`
      const current = dialect.update.readFirst ? (await client.send('GET', path, undefined, [200])).body : undefined
      await client.send(dialect.update.method, path, dialect.update.body(p.updated.get(n) as Person, current), dialect.update.method === 'PUT' ? [200] : PATCH_OK)
    }))
    return `${numbers.length} users (${dialect.updateLabel})`
  })

  await phase('deactivations', async () => {
    await pool(p.deactivate, options.concurrency, (n) => attempt(`deactivation of user ${n}`, async () => {
      await client.send('PATCH', `/Users/${run.userIds.get(n)}`, dialect.deactivate(), PATCH_OK)
    }))
    return `${p.deactivate.length} users (${dialect.deactivateLabel})`
  })

  await phase('deletions', async () => {
    if (dialect.noDelete !== null) return `skipped: ${dialect.noDelete}`
    await pool(p.delete, options.concurrency, (n) => attempt(`deletion of user ${n}`, async () => {
      await client.send('DELETE', `/Users/${run.userIds.get(n)}`, undefined, [204])
    }))
    return `${p.delete.length} deactivated users deleted`
  })

  return run
}
