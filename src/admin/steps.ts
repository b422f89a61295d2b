// What a customer's IT admin does in their identity provider, step by step, with the directory's URL
// filled in (the token is referred to, never written here: it is revealed on request). Condensed from
// docs/providers/, which cites each provider's own guide.
import type { DirectoryType } from '../types.js'

export interface SetupStep {
  title: string
  detail: string
}

export interface ProviderSteps {
  provider: DirectoryType
  providerName: string
  /** What to paste as the SCIM URL: for Entra ID its Tenant URL, with ?aadOptscim062020. */
  url: string
  steps: SetupStep[]
}

const TOKEN = 'the token (Reveal token)'

const STEPS: Partial<Record<DirectoryType, (url: string) => SetupStep[]>> = {
  'okta-scim-v2': (url) => [
    { title: 'Open the app integration', detail: 'In the Okta Admin Console, open the app for this service (or Applications > Create App Integration). On its General tab, App Settings > Edit, set Provisioning to SCIM and Save.' },
    { title: 'Connect it', detail: `Provisioning > Integration > Edit. SCIM connector base URL: ${url}. Unique identifier field for users: userName. Authentication Mode: HTTP Header, with ${TOKEN} as the Bearer token.` },
    { title: 'Choose what Okta sends', detail: 'Supported provisioning actions: Push New Users, Push Profile Updates, Push Groups. Test Connector Configuration, then Save.' },
    { title: 'Turn provisioning on', detail: 'Provisioning > To App > Edit: enable Create Users, Update User Attributes and Deactivate Users, then Save.' },
    { title: 'Assign people', detail: 'On the Assignments tab, assign people or groups; push groups from the Push Groups tab.' }
  ],
  'azure-scim-v2': (url) => [
    { title: 'Create an enterprise application', detail: 'Microsoft Entra admin center > Identity > Applications > Enterprise applications > New application > Create your own application > Integrate any other application you don\'t find in the gallery (Non-gallery).' },
    { title: 'Connect it', detail: `Provisioning > Provisioning Mode: Automatic. Tenant URL: ${url} (keep ?aadOptscim062020: it makes Entra follow the SCIM standard). Secret Token: ${TOKEN}.` },
    { title: 'Test and save', detail: 'Test Connection, then Save.' },
    { title: 'Assign users and groups', detail: 'Users and groups: assign who should be provisioned. Review Attribute mapping (userPrincipalName → userName).' },
    { title: 'Start provisioning', detail: 'Start provisioning. Entra runs a cycle every 40 minutes or so; Provision on demand tries one user at once, and the Provisioning logs show each request and its answer.' }
  ],
  'onelogin-scim-v2': (url) => [
    { title: 'Add the app', detail: 'Applications > Add App, search SCIM and choose SCIM Provisioner with SAML (SCIM v2 Enterprise).' },
    { title: 'Connect it', detail: `Configuration tab: SCIM Base URL: ${url}. SCIM Bearer Token: ${TOKEN}. Under API Connection, click Enable.` },
    { title: 'Turn provisioning on', detail: 'Provisioning tab: tick Enable provisioning (untick Require admin approval to sync without waiting), Save.' },
    { title: 'Send groups', detail: 'Parameters tab: select Groups and tick Include in User Provisioning, Save.' },
    { title: 'Assign users', detail: 'Users > a user > Applications > +: pick the app, Continue, Save.' }
  ],
  'jumpcloud-scim-v2': (url) => [
    { title: 'Open the SSO application', detail: 'SSO: open (or add) the custom SAML application for this service.' },
    { title: 'Connect it', detail: `Identity Management tab: SCIM 2.0. Base URL: ${url}. Token Key: ${TOKEN}. Test User Email: a user of your directory.` },
    { title: 'Groups', detail: 'Tick Enable management of User Groups and Group Membership.' },
    { title: 'Test and activate', detail: 'Test Connection; when it succeeds, Activate, then Save.' },
    { title: 'Bind groups', detail: 'User Groups tab: select the groups whose members should be provisioned, Save.' }
  ],
  'generic-scim-v2': (url) => [
    { title: 'Base URL', detail: `Point your SCIM 2.0 client at ${url} (Users and Groups resources, PATCH and filters on userName and displayName are supported).` },
    { title: 'Authentication', detail: `Send ${TOKEN} in every request as Authorization: Bearer <token>.` },
    { title: 'Try it', detail: 'Create one user (POST /Users): it shows here as the first request.' }
  ]
}

/** The steps for a directory type, with `url` (the directory's SCIM URL as the provider takes it) filled in. */
export function providerSteps (type: DirectoryType, providerName: string, url: string): ProviderSteps {
  return { provider: type, providerName, url, steps: (STEPS[type] ?? STEPS['generic-scim-v2']!)(url) }
}
