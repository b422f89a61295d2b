// What the command line prints: text for people, or with --json one JSON document per command on
// stdout. A directory is printed without its secrets: the SCIM token only where asked for (create,
// rotate-token, show --reveal-token), the webhook secret never.
import type { Directory } from '../types.js'
import type { TextSink } from './logger.js'

export interface Io {
  stdout: TextSink
  stderr: TextSink
  env: Record<string, string | undefined>
}

/** A directory as printed: scim.secret only when `revealToken`, webhook.secret and Google's tokens never. */
export function printable (directory: Directory, revealToken = false): Record<string, unknown> {
  const { scim, webhook, google_access_token: _access, google_refresh_token: _refresh, ...rest } = directory
  const { secret, ...scimRest } = scim ?? {} as Directory['scim']
  return {
    ...rest,
    deactivated: directory.deactivated === true,
    scim: revealToken ? { ...scimRest, secret } : scimRest,
    webhook: { endpoint: webhook?.endpoint ?? '' }
  }
}

export function writeJson (io: Io, value: unknown): void {
  io.stdout.write(JSON.stringify(value, null, 2) + '\n')
}

/** Aligned "label: value" lines. */
export function fields (rows: Array<[string, string]>): string {
  const width = Math.max(...rows.map(([label]) => label.length)) + 1
  return rows.map(([label, value]) => `${(label + ':').padEnd(width)} ${value}\n`).join('')
}

export function describeDirectory (directory: Directory, providers: Record<string, string>): Array<[string, string]> {
  const type = providers[directory.type] === undefined ? directory.type : `${directory.type} (${providers[directory.type]})`
  return [
    ['id', directory.id],
    ['name', directory.name ?? ''],
    ['tenant', directory.tenant],
    ['product', directory.product],
    ['type', type],
    ['status', directory.deactivated === true ? 'deactivated (its SCIM endpoint answers 403)' : 'active'],
    ['endpoint', directory.scim?.endpoint ?? '(none: not a SCIM directory)'],
    ['webhook', directory.webhook?.endpoint ? directory.webhook.endpoint : '(none)']
  ]
}

/** One line of `directories list`. */
export function directoryLine (directory: Directory): string {
  const status = directory.deactivated === true ? '  [deactivated]' : ''
  return `${directory.id}  ${directory.type}  tenant=${directory.tenant} product=${directory.product}${status}  ${directory.scim?.endpoint ?? ''}\n`
}
