// The data each run works on, handed out from what a contender's storage held after its initial sync,
// so that no two runs on one database touch the same thing: every PATCH deactivates a still-active user,
// and every membership change really adds or removes someone.
import type { Sample } from './protocol.js'
import type { MembershipChange } from './scenarios.js'

export class Pools {
  private deactivated = 0
  private added = 0
  private readonly removed: number[]
  private readonly original: Array<Set<string>>
  private readonly addedTo: Array<Set<string>>

  constructor (private readonly sample: Sample) {
    this.removed = sample.groups.map(() => 0)
    this.original = sample.groups.map((g) => new Set(g.members))
    this.addedTo = sample.groups.map(() => new Set())
  }

  /** Users to read, spread over the directory. */
  readers (count: number): Sample['users'] {
    const { users } = this.sample
    const step = Math.max(1, Math.floor(users.length / count))
    return users.filter((_, i) => i % step === 0).slice(0, count)
  }

  /** Active users to deactivate, taken from the end of the sample (readers come from all over). */
  toDeactivate (count: number): string[] {
    const { users } = this.sample
    const end = users.length - this.deactivated
    const ids = users.slice(Math.max(0, end - count), end).map((u) => u.id).reverse()
    this.deactivated += ids.length
    return ids
  }

  /** Alternately adds a user to a group and removes one of its original members, over every group. */
  membershipChanges (count: number): MembershipChange[] {
    const { groups, users } = this.sample
    if (groups.length === 0 || users.length === 0) return []
    const changes: MembershipChange[] = []
    for (let i = 0; changes.length < count && i < count * 4; i++) {
      const g = Math.floor(i / 2) % groups.length
      const group = groups[g]
      if (i % 2 === 1 && this.removed[g] < group.members.length) {
        changes.push({ groupId: group.id, userId: group.members[this.removed[g]++], op: 'remove' })
        continue
      }
      const user = this.nextOutsider(g)
      if (user !== undefined) changes.push({ groupId: group.id, userId: user, op: 'add' })
    }
    return changes
  }

  // The next user (round the whole sample) that was never in group g.
  private nextOutsider (g: number): string | undefined {
    const { users } = this.sample
    for (let tries = 0; tries < users.length; tries++) {
      const id = users[this.added++ % users.length].id
      if (!this.original[g].has(id) && !this.addedTo[g].has(id)) {
        this.addedTo[g].add(id)
        return id
      }
    }
    return undefined
  }
}
