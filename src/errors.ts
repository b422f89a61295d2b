// Every error this plugin throws, created once, with a stable code (FST_DSYNC_*) and an HTTP status.
import createError from '@fastify/error'

export const InvalidOptionError = createError<[string, string]>(
  'FST_DSYNC_INVALID_OPTION',
  'fastify-directory-sync: invalid option "%s": %s',
  500
)

export const DatabaseUnreachableError = createError<[string, number, string]>(
  'FST_DSYNC_DB_UNREACHABLE',
  'fastify-directory-sync: the %s database did not answer within %d ms (the last attempt: %s)',
  503
)

export const DatabaseRefusedError = createError<[string, string]>(
  'FST_DSYNC_DB_REFUSED',
  'fastify-directory-sync: the %s database refused the credentials: %s',
  500
)

export const DatabaseMissingError = createError<[string, string]>(
  'FST_DSYNC_DB_MISSING',
  'fastify-directory-sync: the %s database does not exist: %s',
  500
)

export const MigrationPendingError = createError<[string]>(
  'FST_DSYNC_MIGRATION_PENDING',
  'fastify-directory-sync: db.manualMigration is set and the database lacks %s; apply them first (npm run migrate)',
  500
)

export const DatabaseUnavailableError = createError<[string]>(
  'FST_DSYNC_DB_UNAVAILABLE',
  'fastify-directory-sync: the database is unavailable: %s',
  503
)

export const DatabaseConflictError = createError<[string, string]>(
  'FST_DSYNC_DB_CONFLICT',
  'fastify-directory-sync: the database %s is already open in this process with a different "%s"; registrations sharing a database must agree on it',
  500
)

export const ClosedError = createError(
  'FST_DSYNC_CLOSED',
  'fastify-directory-sync: the directory-sync engine is closed',
  503
)

export const JacksonIncompatibleError = createError<[string]>(
  'FST_DSYNC_JACKSON_INCOMPATIBLE',
  'fastify-directory-sync: the installed @boxyhq/saml-jackson does not have the shape this plugin was built for: %s',
  500
)

export const AlreadyRegisteredError = createError(
  'FST_DSYNC_ALREADY_REGISTERED',
  'fastify-directory-sync: this Fastify instance already has a directorySync decorator; register the plugin once per app',
  500
)

export const HookNotSupportedError = createError<[string, string]>(
  'FST_DSYNC_HOOK_NOT_SUPPORTED',
  'fastify-directory-sync: there is no hook "%s" (hooks: %s)',
  500
)

export const EncryptionKeyMismatchError = createError(
  'FST_DSYNC_ENCRYPTION_KEY_MISMATCH',
  'fastify-directory-sync: the database was encrypted with another db.encryptionKey (its stored fingerprint differs); give the key it was encrypted with',
  500
)

export const EncryptionKeyRequiredError = createError(
  'FST_DSYNC_ENCRYPTION_KEY_REQUIRED',
  'fastify-directory-sync: the database is encrypted (it stores a key fingerprint) and db.encryptionKey is not set; give the key it was encrypted with',
  500
)

export const DecryptionError = createError<[string]>(
  'FST_DSYNC_DECRYPTION_FAILED',
  'fastify-directory-sync: a stored value could not be decrypted: %s',
  500
)

export const HookIdTakenError = createError<[string]>(
  'FST_DSYNC_HOOK_ID_TAKEN',
  'fastify-directory-sync: a hook with the id "%s" is already registered; each hook needs an id of its own',
  500
)

export const AdminAuthRequiredError = createError(
  'FST_DSYNC_ADMIN_AUTH_REQUIRED',
  'fastify-directory-sync/admin: the admin routes need the host\'s authentication: pass onRequest or preHandler hooks (they run before every route) and tenantOf(request), which answers { tenant, product } or \'all\'',
  500
)

export const NotRegisteredError = createError<[string]>(
  'FST_DSYNC_NOT_REGISTERED',
  'fastify-directory-sync: %s needs the main plugin (fastify-directory-sync) registered first, in the same or a parent context',
  500
)
