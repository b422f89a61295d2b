// The read-back: after the sequence, every user is read by id and found by the provider's own lookup
// filter, every group read by id with its members, and each compared with the expected final state
// (scenario.ts expectedState): userName, names, display name, work email, active as a boolean, the
// deleted users answering 404 and missing from the lookup, each group's exact member set. Each
// difference is one mismatch; an unexpected status or a network error is one too, with the body.
import { RequestFailure, type ScimClient } from './client.js'
import type { Dialect, Json } from './dialects.js'
import { pool, type ExpectedState, type ExpectedUser, type Run } from './scenario.js'

export interface Mismatch { what: string, detail: string, body?: string }

export interface ReadbackResult {
  mismatches: Mismatch[]
  users: number
  deleted: number
  groups: number
  memberships: number
  /** Reads of a user expected active that carried no `active` at all (counted as active, see compareUser). */
  activeAbsent: number
}

const show = (value: unknown) => value === undefined ? 'nothing' : JSON.stringify(value)

/** The work email (or the primary one, or the first): what the provider sent in `emails`. */
function workEmail (user: Json): unknown {
  const emails = Array.isArray(user.emails) ? user.emails as Json[] : []
  return (emails.find((e) => e?.type === 'work') ?? emails.find((e) => e?.primary === true) ?? emails[0])?.value
}

// RFC 7643 gives `active` no default and jackson reads an absent one as true, so a user created without
// it (OneLogin's template sends none) may come back without it: that counts as active, and is reported.
function compareUser (expected: ExpectedUser, actual: Json, where: string, out: Mismatch[]): boolean {
  const absent = !('active' in actual) && expected.active
  const fields: Array<[string, unknown, unknown]> = [
    ['userName', expected.userName, actual.userName],
    ['name.givenName', expected.givenName, actual.name?.givenName],
    ['name.familyName', expected.familyName, actual.name?.familyName],
    ['work email', expected.email, workEmail(actual)],
    // Strictly the boolean: Entra's default dialect sends "False", which must not come back as a string.
    ['active', expected.active, absent ? true : actual.active]
  ]
  if (expected.displayName !== undefined) fields.push(['displayName', expected.displayName, actual.displayName])
  for (const [field, want, got] of fields) {
    if (want !== got) out.push({ what: `user ${expected.n} ${where}`, detail: `${field}: expected ${show(want)}, got ${show(got)}` })
  }
  return absent
}

export async function readBack (expected: ExpectedState, run: Run, dialect: Dialect, client: ScimClient, concurrency: number): Promise<ReadbackResult> {
  const mismatches: Mismatch[] = []
  let activeAbsent = 0
  const idOf = new Map([...run.userIds].map(([n, id]) => [id, n]))
  // A fatal failure (401, network) ends the read-back; any other is a mismatch and the checks go on.
  const check = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn()
    } catch (err) {
      if (!(err instanceof RequestFailure)) throw err
      mismatches.push({ what: `${what}: ${err.request}`, detail: err.detail, body: err.body })
      if (err.fatal) throw err
    }
  }

  try {
    await pool(expected.users, concurrency, async (user) => {
      const id = run.userIds.get(user.n) as string
      const byId = `/Users/${id}`
      await check(`user ${user.n}`, async () => {
        const answer = await client.send('GET', byId, undefined, [user.deleted ? 404 : 200])
        if (!user.deleted) {
          if (answer.body?.id !== id) mismatches.push({ what: `user ${user.n} by id`, detail: `id: expected ${show(id)}, got ${show(answer.body?.id)}` })
          if (compareUser(user, answer.body ?? {}, 'by id', mismatches)) activeAbsent++
        }
      })
      await check(`user ${user.n} lookup`, async () => {
        const lookup = dialect.lookupUser(user.userName)
        const answer = await client.send('GET', lookup, undefined, [200])
        const found: Json[] = Array.isArray(answer.body?.Resources) ? answer.body.Resources : []
        const total = answer.body?.totalResults
        if (user.deleted) {
          if (total !== 0 || found.length > 0) mismatches.push({ what: `user ${user.n} lookup`, detail: `deleted, but the userName filter finds ${show(total)} (${found.map((r) => r.id).join(', ')})` })
        } else if (total !== 1 || found.length !== 1 || found[0].id !== id) {
          mismatches.push({ what: `user ${user.n} lookup`, detail: `the userName filter should find ${id} alone, got totalResults ${show(total)} and ids ${show(found.map((r) => r.id))}` })
        } else {
          if (compareUser(user, found[0], 'by filter', mismatches)) activeAbsent++
        }
      })
    })

    for (const [index, group] of expected.groups.entries()) {
      const id = run.groupIds[index]
      await check(`group ${group.displayName}`, async () => {
        const answer = await client.send('GET', `/Groups/${id}`, undefined, [200])
        const body: Json = answer.body ?? {}
        if (body.displayName !== group.displayName) mismatches.push({ what: `group ${group.displayName}`, detail: `displayName: expected ${show(group.displayName)}, got ${show(body.displayName)}` })
        const members: Json[] = Array.isArray(body.members) ? body.members : []
        const got = new Set(members.map((m) => m?.value as string))
        const want = new Set(group.members.map((n) => run.userIds.get(n) as string))
        const name = (userId: string) => idOf.has(userId) ? `user ${idOf.get(userId)} (${userId})` : userId
        for (const userId of want) if (!got.has(userId)) mismatches.push({ what: `group ${group.displayName}`, detail: `missing member ${name(userId)}` })
        for (const userId of got) if (!want.has(userId)) mismatches.push({ what: `group ${group.displayName}`, detail: `unexpected member ${name(userId)}` })
        if (members.length !== got.size) mismatches.push({ what: `group ${group.displayName}`, detail: `${members.length} members listed for ${got.size} distinct users` })
      })
      await check(`group ${group.displayName} lookup`, async () => {
        const answer = await client.send('GET', dialect.lookupGroup(group.displayName), undefined, [200])
        const found: Json[] = Array.isArray(answer.body?.Resources) ? answer.body.Resources : []
        if (answer.body?.totalResults !== 1 || found[0]?.id !== id) {
          mismatches.push({ what: `group ${group.displayName} lookup`, detail: `the displayName filter should find ${id} alone, got totalResults ${show(answer.body?.totalResults)} and ids ${show(found.map((r) => r.id))}` })
        }
      })
    }
  } catch (err) {
    if (!(err instanceof RequestFailure)) throw err // fatal: already recorded
  }

  return {
    mismatches,
    users: expected.users.filter((u) => !u.deleted).length,
    deleted: expected.users.filter((u) => u.deleted).length,
    groups: expected.groups.length,
    memberships: expected.groups.reduce((sum, g) => sum + g.members.length, 0),
    activeAbsent
  }
}
