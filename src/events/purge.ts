// A deleted directory's data (its users, groups and memberships, its events, cursors and failures, and
// its kept webhook) is purged once every handler has passed its dsync.deleted event, or once that event
// is older than the retention, whichever comes first. "Every handler": each registered in this
// process, and each other one (another instance's hook) that has started on the directory's events and
// not passed the deletion; a handler known to the database that never delivered any of the directory's
// events does not hold it (a hook removed long ago must not keep data for ever).
//
// Every server sweeps now and then; the one that deleted a directory looks again shortly after, until
// its handlers are through.
import type { FastifyBaseLogger } from 'fastify'
import type { EventQueue, ResourceStore } from '../store/types.js'

export interface PurgeOptions {
  /** How long events are kept (ms): a deletion older than this is purged whoever has not passed it. */
  retention: number
}

// The regular sweep, and the quicker looks after a deletion in this process.
const SWEEP_INTERVAL = 10_000
const SOON_INTERVAL = 250
const SOON_TRIES = 40

export class DeletedDirectoryPurger {
  private timer: NodeJS.Timeout | undefined
  private readonly soon = new Map<string, NodeJS.Timeout>()
  private running: Promise<void> | undefined
  private closed = false

  /**
   * `localHandlers`: the handlers of this process; `inWrite`: runs a change of the directory's resources
   * in its write lane (on sqlite, under the file's lock).
   */
  constructor (
    private readonly queue: EventQueue, private readonly resources: ResourceStore, private readonly options: PurgeOptions,
    private readonly localHandlers: () => string[], private readonly inWrite: <T>(directoryId: string, fn: () => Promise<T>) => Promise<T>,
    private readonly log: FastifyBaseLogger
  ) {}

  start (): void {
    this.timer = setInterval(() => { this.sweep().catch(() => {}) }, SWEEP_INTERVAL)
    this.timer.unref()
  }

  /** After a deletion in this process: looks every SOON_INTERVAL ms for a while, then leaves it to the sweeps. */
  deleted (directoryId: string, tries = SOON_TRIES): void {
    if (this.closed || tries === 0) return
    clearTimeout(this.soon.get(directoryId))
    const timer = setTimeout(() => {
      this.soon.delete(directoryId)
      this.purgeIfPassed(directoryId).then((purged) => { if (!purged) this.deleted(directoryId, tries - 1) }, () => this.deleted(directoryId, tries - 1))
    }, SOON_INTERVAL)
    timer.unref()
    this.soon.set(directoryId, timer)
  }

  /** One sweep over the deleted directories (not two at once). */
  sweep (): Promise<void> {
    this.running ??= (async () => {
      for (const { directoryId } of await this.queue.deletedDirectories()) {
        if (this.closed) return
        await this.purgeIfPassed(directoryId)
      }
    })().catch((err) => { this.log.warn({ err }, 'purging deleted directories failed; the next sweep tries again') })
      .finally(() => { this.running = undefined })
    return this.running
  }

  /** Purges the directory if it is deleted and every handler is through; answers whether it is gone. */
  async purgeIfPassed (directoryId: string, now = Date.now()): Promise<boolean> {
    const { deleted } = await this.queue.directoryState(directoryId)
    if (deleted === null) return true // never deleted here, or purged already
    if (deleted.at > now - this.options.retention) {
      const local = new Set(this.localHandlers())
      for (const handler of new Set([...local, ...await this.queue.handlers()])) {
        const { lastSeq } = await this.queue.position(directoryId, handler)
        const holds = local.has(handler) ? lastSeq < deleted.seq : lastSeq > 0 && lastSeq < deleted.seq
        if (holds) return false
      }
    }
    // The resources first, the queue's part (its state row last) after: a purge cut short is found again.
    await this.inWrite(directoryId, () => this.resources.dropDirectory(directoryId))
    await this.queue.purgeDirectory(directoryId)
    this.log.info({ directoryId }, 'deleted directory purged')
    return true
  }

  async close (): Promise<void> {
    this.closed = true
    clearInterval(this.timer)
    for (const timer of this.soon.values()) clearTimeout(timer)
    this.soon.clear()
    await this.running
  }
}
