// A write of one resource on PostgreSQL without a transaction (WriteOptions.single): the resource is read
// without a lock, and its insert or replace is sent together with the write's events as one statement
// (writeAndRecordEvents): two round trips where BEGIN, a locking read, the write, the events and COMMIT
// take five. The replace names the version it read: where another write changed the resource meanwhile,
// the statement changes nothing and records nothing, and `fn` runs again on a fresh read. A uniqueness
// conflict, or conflicts that keep coming, hand the write to the transaction (`inTransaction`), which
// answers them as it always has (409, or a write that waits for the row's lock).
import type { Codec } from './codec.js'
import type { Executor } from './sql-client.js'
import { writeAndRecordEvents } from './sql-events.js'
import type { SqlStore, Statement } from './sql.js'
import type { NewEvent, RecordedEvent, ResourceStore, StoredResource, WriteScope } from './types.js'

// Runs of `fn` that lost to another write before it is handed to the transaction.
const ATTEMPTS = 3

/** This run lost: the resource changed since it was read, or the write needs the transaction's answer. */
class Handover extends Error {
  constructor (readonly retry: boolean) { super('single write handed over') }
}

export async function singleWrite<T> (
  store: SqlStore, executor: Executor, codec: Codec, directoryId: string,
  fn: (scope: WriteScope) => Promise<T>, inTransaction: (directoryId: string, fn: (scope: WriteScope) => Promise<T>) => Promise<T>
): Promise<T> {
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    try {
      return await runOnce(store, executor, codec, directoryId, fn)
    } catch (err) {
      if (!(err instanceof Handover)) throw err
      if (!err.retry) break
    }
  }
  return inTransaction(directoryId, fn)
}

async function runOnce<T> (store: SqlStore, executor: Executor, codec: Codec, directoryId: string, fn: (scope: WriteScope) => Promise<T>): Promise<T> {
  let pending: Statement | undefined
  let sent = false
  // Sends the write (with `events`, possibly none); a write that changed nothing, or broke a uniqueness
  // constraint, hands over.
  const send = async (events: NewEvent[]): Promise<RecordedEvent[]> => {
    if (pending === undefined) {
      if (events.length > 0) throw new Error('a single write records events only with its insert or replace')
      return []
    }
    sent = true
    try {
      const recorded = await writeAndRecordEvents(executor, directoryId, pending, events, codec)
      if (recorded === null) throw new Handover(true)
      return recorded
    } catch (err) {
      if (executor.isUniqueViolation(err)) throw new Handover(false)
      throw err
    }
  }
  const defer = (statement: Statement): void => {
    if (pending !== undefined || sent) throw new Error('a single write changes one resource, once')
    pending = statement
  }
  const only = (what: string) => () => { throw new Error(`a single write does not use ${what}`) }
  // The scope's store: get() reads as it stands (no lock), insert() and replace() wait for record().
  const resources = new Proxy(store, {
    get (target, property) {
      switch (property) {
        case 'get': return target.get.bind(target)
        case 'insert': return async (resource: StoredResource) => { defer(target.insertStatement(resource)) }
        case 'replace': return async (resource: StoredResource) => { defer(target.replaceStatement(resource)); return true }
        default: return typeof property === 'string' ? only(`resources.${property}`) : undefined
      }
    }
  }) as ResourceStore
  const result = await fn({
    resources,
    record: send,
    head: only('head'),
    deprovisions: only('deprovisions'),
    state: only('state'),
    trip: only('trip'),
    release: only('release'),
    markDeleted: only('markDeleted')
  })
  if (pending !== undefined && !sent) await send([])
  return result
}
