// Retention: events older than `events.retention` are removed, whoever has or has not read them (a
// removed hook's cursor holds nothing back), in bounded batches of short transactions (sql-stream.ts
// trim). A failed delivery keeps its event until it is replayed or older than `events.failedRetention`.
// Every instance sweeps; a sweep that finds nothing costs a few indexed reads (created_at, stream_pos).
import type { FastifyBaseLogger } from 'fastify'
import type { EventQueue } from '../store/types.js'

export interface RetentionOptions {
  /** How long events are kept (ms). */
  retention: number
  /** How long a failed delivery (and the event it needs) is kept (ms). */
  failedRetention: number
}

// How often a sweep runs: a tenth of the retention, but at least once an hour and at most once a second.
const sweepInterval = (retention: number) => Math.min(Math.max(Math.floor(retention / 10), 1000), 3_600_000)

export class RetentionSweeper {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined

  constructor (private readonly queue: EventQueue, private readonly options: RetentionOptions, private readonly log: FastifyBaseLogger) {}

  start (): void {
    this.timer = setInterval(() => { this.sweep() }, sweepInterval(this.options.retention))
    this.timer.unref()
  }

  /** One sweep (not two at once); answers when it is done. */
  sweep (now = Date.now()): Promise<void> {
    this.running ??= this.queue.trim(now - this.options.retention, now - this.options.failedRetention)
      .then((removed) => { if (removed > 0) this.log.info({ removed }, 'events past their retention removed') })
      .catch((err) => { this.log.warn({ err }, 'removing events past their retention failed; the next sweep tries again') })
      .finally(() => { this.running = undefined })
    return this.running
  }

  async close (): Promise<void> {
    clearInterval(this.timer)
    await this.running
  }
}
