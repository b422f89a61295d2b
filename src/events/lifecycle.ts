// Lifecycle events: a directory created, changed or deleted, recorded in the directory's own event
// sequence (so after its earlier events), listed by events.list, and delivered to the hooks and
// webhooks that ask for them (receivers written for jackson's eight SCIM event types might not expect
// them). Named as jackson names its directory events (dsync.created, dsync.activated,
// dsync.deactivated, dsync.deleted), plus dsync.updated (its name, webhook or log setting) and
// dsync.token_rotated. They carry the directory's settings, captured when the event is recorded, never
// a secret (token, webhook secret, Google tokens).
import { randomUUID } from 'node:crypto'
import type { Storage } from '../store/types.js'
import type { Directory, DirectoryLifecycleEventType, DirectorySummary } from '../types.js'

export const LIFECYCLE_EVENTS: readonly DirectoryLifecycleEventType[] = [
  'dsync.created', 'dsync.updated', 'dsync.activated', 'dsync.deactivated', 'dsync.token_rotated', 'dsync.deleted'
]

// The guard's reports (guard.ts) are delivered as lifecycle events are: they are not jackson's.
const DIRECTORY_EVENTS: readonly string[] = [...LIFECYCLE_EVENTS, 'directory.guard_tripped', 'directory.guard_released']

export const isLifecycleEvent = (name: string): boolean => DIRECTORY_EVENTS.includes(name)

/** What a lifecycle event says of its directory: no secret. */
export function summary (directory: Directory): DirectorySummary {
  return {
    id: directory.id,
    name: directory.name,
    tenant: directory.tenant,
    product: directory.product,
    type: directory.type,
    deactivated: directory.deactivated === true,
    webhook: { endpoint: directory.webhook?.endpoint ?? '' },
    log_webhook_events: directory.log_webhook_events === true
  }
}

/** The settings an update changed (activation aside: it has events of its own), with their former values. */
export function changedSettings (before: Directory, after: Directory): Record<string, unknown> {
  const [was, is] = [summary(before), summary(after)]
  const previous: Record<string, unknown> = {}
  if (was.name !== is.name) previous.name = was.name
  if (was.type !== is.type) previous.type = was.type
  if (was.webhook.endpoint !== is.webhook.endpoint) previous.webhook = was.webhook
  if (was.log_webhook_events !== is.log_webhook_events) previous.log_webhook_events = was.log_webhook_events
  // A changed webhook secret is a change too; its value is never told.
  if ((before.webhook?.secret ?? '') !== (after.webhook?.secret ?? '')) previous.webhook_secret = 'changed'
  return previous
}

/** Records a lifecycle event of `directory`; answers its number in the directory's sequence. */
export type LifecycleRecorder = (directory: Directory, type: DirectoryLifecycleEventType, previous?: Record<string, unknown>) => Promise<number | undefined>

export function lifecycleRecorder (storage: Storage): LifecycleRecorder {
  return async (directory, type, previous) => {
    const createdAt = Date.now()
    const id = randomUUID()
    const payload = {
      event: type,
      directory_id: directory.id,
      tenant: directory.tenant,
      product: directory.product,
      data: summary(directory),
      ...(previous === undefined ? {} : { previous }),
      id,
      created: new Date(createdAt).toISOString()
    }
    const recorded = await storage.atomically(directory.id, async (scope) => {
      const [event] = await scope.record([{ id, payload, createdAt }])
      // A deleted directory's webhook is told of the deletion too: its settings are kept for that
      // (sealed like any secret) until the directory's data is purged (purge.ts).
      if (type === 'dsync.deleted') {
        const webhook = directory.webhook?.endpoint ? { endpoint: directory.webhook.endpoint, secret: directory.webhook.secret ?? '' } : null
        await scope.markDeleted(event.seq, createdAt, webhook)
      }
      return event
    })
    return recorded.seq
  }
}
