// `directorySync.events`: the deliveries kept as failed after their last attempt, and replaying them.
import type { EventQueue } from '../store/types.js'
import type { FailedDelivery, Result, ScimEvent } from '../types.js'
import type { Dispatcher } from './dispatcher.js'

export function eventsController (queue: EventQueue, dispatcher: Dispatcher) {
  return {
    async failed (handler?: string): Promise<Result<FailedDelivery[]>> {
      const failures = await queue.failures(handler)
      return {
        data: failures.map((f) => ({
          event: f.event.payload as unknown as ScimEvent,
          handler: f.handler,
          attempts: f.attempts,
          error: f.error,
          failedAt: new Date(f.failedAt).toISOString()
        })),
        error: null
      }
    },
    /** Delivers a failed event again, to the handler it failed for (or to each it failed for); answers how many succeeded. */
    async replay (eventId: string, handler?: string): Promise<Result<{ delivered: number, failed: number }>> {
      const failures = (await queue.failures(handler)).filter((f) => f.event.id === eventId)
      if (failures.length === 0) return { data: null, error: { message: `No failed delivery of event ${eventId}${handler ? ` to ${handler}` : ''}`, code: 404 } }
      let delivered = 0
      for (const failure of failures) {
        const error = await dispatcher.attemptNow(failure.handler, failure.event)
        if (error === undefined) {
          await queue.removeFailure(failure.event.id, failure.handler)
          delivered++
        }
      }
      return { data: { delivered, failed: failures.length - delivered }, error: null }
    }
  }
}
