// Signed webhook delivery, as jackson signs it (dist/event/webhook.js), so that receivers written for
// jackson verify these too: `t=<ms>,s=<hex HMAC-SHA256(secret, "<t>." + body)>` in both BoxyHQ-Signature
// and Ory-Polis-Signature. Sent from the event queue, never inside a SCIM request.
import { createHmac } from 'node:crypto'
import type { Directory, DirectoryEvent, Result, ScimEvent } from '../types.js'

/** The key of webhook delivery among the event handlers. */
export const WEBHOOK_HANDLER = 'webhook'

export function signature (secret: string, body: string, timestamp = Date.now()): string {
  return `t=${timestamp},s=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`
}

type Webhook = { endpoint?: string, secret?: string } | null | undefined

/**
 * A handler that posts each event to its directory's webhook, if it has one. `deletedWebhook`: the
 * webhook a deleted directory had (kept until its data is purged), so that it hears of the deletion
 * and of the events before it.
 */
export function webhookHandler (getDirectory: (id: string) => Promise<Result<Directory>>, deletedWebhook: (id: string) => Promise<Webhook>, timeoutMs: number) {
  return async (event: ScimEvent | DirectoryEvent): Promise<void> => {
    const { data: directory, error } = await getDirectory(event.directory_id)
    let webhook: Webhook = directory?.webhook
    if (error !== null) {
      if (error.code !== 404) throw new Error(`could not read directory ${event.directory_id}: ${error.message}`)
      webhook = await deletedWebhook(event.directory_id) // null: never had one, or purged (no one left to tell)
    }
    const { endpoint, secret } = webhook ?? {}
    if (!endpoint || !secret) return
    const body = JSON.stringify(event)
    const signed = signature(secret, body)
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'BoxyHQ-Signature': signed, 'Ory-Polis-Signature': signed },
      body,
      // A redirect is a failure, not followed: a webhook URL (which a tenant's admin may set) must not
      // lead the server to an address the URL itself does not name.
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs)
    })
    await response.body?.cancel()
    if (!response.ok) throw new Error(`the webhook answered ${response.status}${response.status >= 300 && response.status < 400 ? ' (a redirect, which is not followed)' : ''}`)
  }
}
