// Delivers recorded events to their handlers: each handler (an onScimEvent hook, or the webhooks) has a
// cursor per directory, claimed with a lease so that one instance at a time delivers a directory's
// events to that handler, one after another, in order. A failure is retried with exponential backoff,
// holding back the directory's later events for that handler; after the last attempt the event is kept
// as failed (listable, replayable) and the cursor moves on. Delivery is at-least-once: a process that
// dies after a handler ran but before its cursor moved runs it again after restart, so handlers use the
// event id to recognise a repeat.
import { randomUUID } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { EventQueue, RecordedEvent } from '../store/types.js'
import type { ScimEvent } from '../types.js'

export interface DeliveryOptions {
  /** How long a SCIM response waits for the hooks to handle its events (ms). */
  budget: number
  /** Attempts per event and handler before it is kept as failed. */
  maxAttempts: number
  /** The first retry's delay (ms); each further one doubles, up to maxBackoff. */
  backoff: number
  maxBackoff: number
  /** An attempt still running after this long counts as failed (ms). */
  handlerTimeout: number
  /** How long a claim on a directory's cursor lasts without renewal (ms): another instance may take over after it. */
  lease: number
  /** How often to look for events recorded by other instances, or left behind by a crash (ms). */
  pollInterval: number
}

type Run = (event: ScimEvent) => Promise<void>

const BATCH = 20
// On close, calls still in flight get this long before their claims are released anyway.
const CLOSE_GRACE = 2000

export class Dispatcher {
  readonly owner = randomUUID()
  private readonly handlers = new Map<string, { run: Run, awaited: boolean }>()
  private readonly running = new Map<string, Promise<void>>()
  private readonly again = new Set<string>()
  private readonly timers = new Set<NodeJS.Timeout>()
  private readonly registering: Array<Promise<void>> = []
  private poller: NodeJS.Timeout | undefined
  private closed = false

  constructor (private readonly queue: EventQueue, private readonly options: DeliveryOptions, private readonly log: FastifyBaseLogger) {}

  /** `awaited`: a SCIM response waits (within the budget) for this handler; webhooks are not awaited. */
  add (key: string, run: Run, awaited: boolean): void {
    this.handlers.set(key, { run, awaited })
    const registering = this.queue.registerHandler(key, Date.now())
    registering.catch((err) => this.log.error({ err, handler: key }, 'registering an event handler failed'))
    this.registering.push(registering)
  }

  handler (key: string): Run | undefined {
    return this.handlers.get(key)?.run
  }

  async start (): Promise<void> {
    await Promise.all(this.registering)
    this.poller = setInterval(() => { this.sweep() }, this.options.pollInterval)
    this.poller.unref()
    this.sweep()
  }

  /** Delivers a directory's new events; resolves when the awaited handlers are done with them, or the budget is spent. */
  async deliver (directoryId: string): Promise<void> {
    const awaited: Array<Promise<void>> = []
    for (const [key, { awaited: wait }] of this.handlers) {
      const drained = this.drain(directoryId, key)
      if (wait) awaited.push(drained)
    }
    if (awaited.length === 0) return
    let timer: NodeJS.Timeout | undefined
    const budget = new Promise<void>((resolve) => { timer = setTimeout(resolve, this.options.budget) })
    try {
      await Promise.race([Promise.all(awaited), budget])
    } finally {
      clearTimeout(timer)
    }
  }

  /** Runs one event through one handler now (a replay); answers the error, or undefined on success. */
  attemptNow (key: string, event: RecordedEvent): Promise<string | undefined> {
    const handler = this.handlers.get(key)
    if (handler === undefined) return Promise.resolve(`no handler ${key} is registered`)
    return this.attempt(handler.run, event)
  }

  async close (): Promise<void> {
    this.closed = true
    clearInterval(this.poller)
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
    await Promise.race([Promise.allSettled([...this.running.values()]), new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE).unref())])
  }

  private sweep (): void {
    if (this.closed) return
    for (const key of this.handlers.keys()) {
      this.queue.pendingDirectories(key).then((directories) => {
        for (const directoryId of directories) this.drain(directoryId, key).catch(() => {})
      }, (err) => this.log.error({ err }, 'looking for undelivered events failed'))
    }
  }

  private drain (directoryId: string, key: string): Promise<void> {
    const slot = `${directoryId}\u0000${key}`
    const running = this.running.get(slot)
    if (running !== undefined) {
      // The loop in flight may have looked already: make it look once more before it stops.
      this.again.add(slot)
      return running
    }
    const loop = (async () => {
      do {
        this.again.delete(slot)
        await this.drainOnce(directoryId, key)
      } while (this.again.has(slot) && !this.closed)
    })().catch((err) => {
      this.log.error({ err, directoryId, handler: key }, 'event delivery failed')
    }).finally(() => this.running.delete(slot))
    this.running.set(slot, loop)
    return loop
  }

  private async drainOnce (directoryId: string, key: string): Promise<void> {
    const handler = this.handlers.get(key)
    if (handler === undefined || this.closed) return
    const { lease, maxAttempts } = this.options
    let cursor = await this.queue.claim(directoryId, key, this.owner, Date.now(), lease)
    if (cursor === null) return // another instance delivers this directory's events to this handler
    try {
      if (cursor.nextAttemptAt > Date.now()) {
        this.later(directoryId, key, cursor.nextAttemptAt - Date.now())
        return
      }
      let { lastSeq, attempts } = cursor
      while (!this.closed) {
        const batch = await this.queue.next(directoryId, lastSeq, BATCH)
        if (batch.length === 0) return
        for (const event of batch) {
          const error = await this.attempt(handler.run, event)
          if (error === undefined) {
            await this.queue.advance(directoryId, key, this.owner, event.seq)
          } else if (attempts + 1 >= maxAttempts) {
            this.log.error({ directoryId, handler: key, event: event.id, attempts: attempts + 1, error }, 'event delivery failed for good: kept as failed')
            await this.queue.advance(directoryId, key, this.owner, event.seq, { attempts: attempts + 1, error, now: Date.now() })
          } else {
            const delay = Math.min(this.options.backoff * 2 ** attempts, this.options.maxBackoff)
            this.log.warn({ directoryId, handler: key, event: event.id, attempt: attempts + 1, retryIn: delay, error }, 'event delivery failed: will retry')
            await this.queue.retryLater(directoryId, key, this.owner, attempts + 1, Date.now() + delay, error)
            this.later(directoryId, key, delay)
            return
          }
          lastSeq = event.seq
          attempts = 0
        }
        // Renew the claim between batches; losing it (after a long stall) hands the rest to its new owner.
        cursor = await this.queue.claim(directoryId, key, this.owner, Date.now(), lease)
        if (cursor === null || cursor.lastSeq !== lastSeq) return
      }
    } finally {
      await this.queue.release(directoryId, key, this.owner).catch(() => {})
    }
  }

  private async attempt (run: Run, event: RecordedEvent): Promise<string | undefined> {
    let timer: NodeJS.Timeout | undefined
    const overrun = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`no answer within ${this.options.handlerTimeout} ms`), this.options.handlerTimeout)
      timer.unref()
    })
    try {
      return await Promise.race([run(event.payload as unknown as ScimEvent).then(() => undefined), overrun])
    } catch (err) {
      return err instanceof Error ? err.message : String(err)
    } finally {
      clearTimeout(timer)
    }
  }

  private later (directoryId: string, key: string, delay: number): void {
    if (this.closed) return
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      this.drain(directoryId, key).catch(() => {})
    }, Math.max(delay, 0))
    timer.unref()
    this.timers.add(timer)
  }
}
