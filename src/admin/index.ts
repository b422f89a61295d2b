// fastify-directory-sync/admin: the admin routes (a JSON API for a host's admin pages, confined per
// tenant by the host's tenantOf) and the setup-link pages for customers' IT admins. Both are plain
// (encapsulated) plugins, registered after the main plugin under a prefix the host chooses.
export { directorySyncAdmin, type DirectorySyncAdminOptions, type AdminScope } from './routes.js'
export { directorySyncSetup, type DirectorySyncSetupOptions } from './setup-routes.js'
export { providerSteps, type ProviderSteps, type SetupStep } from './steps.js'
export type { AdminDirectory } from './present.js'
