// Signed webhook delivery, as jackson signs it (dist/event/webhook.js), so that receivers written for
// jackson verify these too: `t=<ms>,s=<hex HMAC-SHA256(secret, "<t>." + body)>` in both BoxyHQ-Signature
// and Ory-Polis-Signature. Sent from the event queue, never inside a SCIM request.
import { createHmac } from 'node:crypto'
import type { Directory, Result, ScimEvent } from '../types.js'

/** The key of webhook delivery among the event handlers. */
export const WEBHOOK_HANDLER = 'webhook'

export function signature (secret: string, body: string, timestamp = Date.now()): string {
  return `t=${timestamp},s=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`
}

/** A handler that posts each event to its directory's webhook, if it has one. */
export function webhookHandler (getDirectory: (id: string) => Promise<Result<Directory>>, timeoutMs: number) {
  return async (event: ScimEvent): Promise<void> => {
    const { data: directory, error } = await getDirectory(event.directory_id)
    if (error !== null) {
      if (error.code === 404) return // the directory is gone: there is no one left to tell
      throw new Error(`could not read directory ${event.directory_id}: ${error.message}`)
    }
    const { endpoint, secret } = directory.webhook ?? {}
    if (!endpoint || !secret) return
    const body = JSON.stringify(event)
    const signed = signature(secret, body)
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'BoxyHQ-Signature': signed, 'Ory-Polis-Signature': signed },
      body,
      signal: AbortSignal.timeout(timeoutMs)
    })
    await response.body?.cancel()
    if (!response.ok) throw new Error(`the webhook answered ${response.status}`)
  }
}
