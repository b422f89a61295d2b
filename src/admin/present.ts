// A directory as the admin routes and the setup pages show it: its settings and URLs, never a secret
// (the token is answered only to a POST, as credentials).
import type { Directory } from '../types.js'
import { summary } from '../events/lifecycle.js'
import { ENTRA_FLAG } from '../scim/endpoints.js'
import { providerSteps, type ProviderSteps } from './steps.js'

export interface AdminDirectory {
  id: string
  name: string
  tenant: string
  product: string
  type: string
  deactivated: boolean
  log_webhook_events: boolean
  scim: { endpoint: string, tenantUrl: string }
  webhook: { endpoint: string }
}

export function adminDirectory (directory: Directory): AdminDirectory {
  const tenantUrl = directory.scim.endpoint ?? ''
  return { ...summary(directory), scim: { endpoint: tenantUrl.endsWith(ENTRA_FLAG) ? tenantUrl.slice(0, -ENTRA_FLAG.length) : tenantUrl, tenantUrl } }
}

/** The URL to paste and the token: answered to a POST only. */
export const credentialsOf = (directory: Directory) => ({ url: directory.scim.endpoint ?? '', token: directory.scim.secret })

export const stepsFor = (directory: Directory, providers: Record<string, string>): ProviderSteps =>
  providerSteps(directory.type, providers[directory.type] ?? directory.type, directory.scim.endpoint ?? '')
