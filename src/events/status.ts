// directories.status(id): how a directory is doing, from what the database holds (shared by every
// instance: counts, deliveries per handler, the oldest undelivered event) and from what this process
// saw on the wire (the last SCIM request it answered for the directory).
import type { EventQueue, ResourceStore } from '../store/types.js'
import type { DirectoryStatus, ScimErrorSummary, ScimRequestSummary } from '../types.js'

/**
 * The last SCIM request answered per directory, and the last one answered with an error, in this
 * process; at most `max` directories are remembered. `onFirst` hears of the first request this process
 * answers for a directory (again once the directory was forgotten), where setup links note it.
 */
export class DirectoryActivity {
  private readonly last = new Map<string, { request: ScimRequestSummary, error: ScimErrorSummary | null }>()

  constructor (private readonly max = 10_000, private readonly onFirst?: (directoryId: string, at: number) => void) {}

  record (directoryId: string, request: ScimRequestSummary, detail?: string): void {
    const seen = this.last.get(directoryId)
    if (seen === undefined) {
      if (this.last.size >= this.max) this.last.delete(this.last.keys().next().value!)
      this.onFirst?.(directoryId, Date.parse(request.at))
    } else {
      this.last.delete(directoryId) // to the end: the least recently seen goes first
    }
    const error = request.status >= 400 ? { ...request, ...(detail === undefined ? {} : { detail }) } : seen?.error ?? null
    this.last.set(directoryId, { request, error })
  }

  get (directoryId: string): ScimRequestSummary | null {
    return this.last.get(directoryId)?.request ?? null
  }

  lastError (directoryId: string): ScimErrorSummary | null {
    return this.last.get(directoryId)?.error ?? null
  }
}

export async function directoryStatus (
  directoryId: string, store: ResourceStore, queue: EventQueue, activity: DirectoryActivity | undefined, guarded: boolean, now = Date.now()
): Promise<DirectoryStatus> {
  const count = async (type: 'User' | 'Group') => (await store.list(directoryId, type, { offset: 0, limit: 0 })).total
  const [users, groups, handlers, head, failed] = await Promise.all([
    count('User'), count('Group'), queue.handlers(), queue.directoryHead(directoryId), queue.failureCounts(directoryId)
  ])
  const deliveries = await Promise.all(handlers.map(async (handler) => {
    const { lastSeq } = await queue.position(directoryId, handler)
    return { handler, pending: Math.max(head - lastSeq, 0), failed: failed.get(handler) ?? 0, passed: lastSeq }
  }))
  // The oldest event some handler has not passed yet.
  const behind = deliveries.filter((d) => d.pending > 0)
  let oldestUndeliveredMs: number | null = null
  if (behind.length > 0) {
    const [oldest] = await queue.next(directoryId, Math.min(...behind.map((d) => d.passed)), 1)
    if (oldest !== undefined) oldestUndeliveredMs = Math.max(now - oldest.createdAt, 0)
  }
  return {
    directoryId,
    guard: await guardStatus(directoryId, queue, head, guarded),
    users,
    groups,
    lastRequest: activity?.get(directoryId) ?? null,
    lastError: activity?.lastError(directoryId) ?? null,
    deliveries: deliveries.map(({ handler, pending, failed }) => ({ handler, pending, failed })),
    oldestUndeliveredMs
  }
}

// Tripped whether or not this process has the guard option (the command line has none): it is the database's state.
async function guardStatus (directoryId: string, queue: EventQueue, head: number, guarded: boolean): Promise<DirectoryStatus['guard']> {
  const { heldFrom, trippedAt } = await queue.directoryState(directoryId)
  if (heldFrom === null) return { state: guarded ? 'armed' : 'off' }
  const [first] = await queue.next(directoryId, heldFrom - 1, 1)
  return { state: 'tripped', trippedAt: new Date(trippedAt ?? 0).toISOString(), heldFrom: first?.id ?? null, held: Math.max(head - heldFrom + 1, 0) }
}
