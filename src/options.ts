// The plugin's options: one TypeBox schema, the defaults in one place, and a check that names the bad option.
import type { RegisterOptions as FastifyRegisterOptions } from 'fastify'
import { Type, type Static } from '@sinclair/typebox'
import { Value, type ValueError } from '@sinclair/typebox/value'
import { InvalidOptionError } from './errors.js'
import type { DeliveryOptions } from './events/dispatcher.js'
import type { RetentionOptions } from './events/retention.js'
import type { MetricsOptions } from './events/metrics.js'
import type { GuardOptions } from './events/guard.js'
import type { Registry } from 'prom-client'
import type { HookOptions, ScimEventHandler } from './types.js'
import { DEFAULT_LIMITS, type Limits } from './scim/limits.js'
import { DEFAULT_FAIRNESS, type FairnessOptions } from './scim/fairness.js'
import { DEFAULT_AUTH_FAILURES, type AuthFailureOptions } from './scim/auth-limiter.js'

export type { ScimEventHandler }

const Positive = (description: string) => Type.Integer({ minimum: 1, description })

// Options jackson reads from `db` besides where the data lives (all optional).
const CommonDb = {
  encryptionKey: Type.Optional(Type.String({ description: 'encrypts stored records: 32 characters, or 32 bytes in base64' })),
  pageLimit: Type.Optional(Positive('the most records jackson returns in one page (default 50)')),
  ttl: Type.Optional(Positive('seconds between clean-ups of expiring records (default 300)')),
  cleanupLimit: Type.Optional(Positive('expired records removed per clean-up (default 1000)'))
}

export const MemDbSchema = Type.Object({
  engine: Type.Literal('mem'),
  ...CommonDb
}, { additionalProperties: false })

export const SqlDbSchema = Type.Object({
  engine: Type.Literal('sql'),
  type: Type.Union([Type.Literal('postgres'), Type.Literal('mysql'), Type.Literal('mariadb'), Type.Literal('sqlite')]),
  url: Type.String({ minLength: 1, description: 'a connection URL, or for sqlite the path of the database file' }),
  ssl: Type.Optional(Type.Unknown()),
  manualMigration: Type.Optional(Type.Boolean()),
  ...CommonDb
}, { additionalProperties: false })

export const RedisDbSchema = Type.Object({
  engine: Type.Literal('redis'),
  url: Type.String({ minLength: 1 }),
  ...CommonDb
}, { additionalProperties: false })

export const DbOptionsSchema = Type.Union([MemDbSchema, SqlDbSchema, RedisDbSchema])

export const OptionsSchema = Type.Object({
  db: DbOptionsSchema,
  externalUrl: Type.String({ minLength: 1, description: 'the public URL of this app: SCIM endpoints given to identity providers start with it' }),
  scimPath: Type.Optional(Type.String({ pattern: '^/', description: 'the SCIM base path (default /api/scim/v2.0)' })),
  samlPath: Type.Optional(Type.String({ pattern: '^/', description: 'jackson requires one even without SAML (default /api/oauth/saml)' })),
  // jackson's telemetry heartbeat runs a timer that can never be cleared, so this plugin does not start it.
  noAnalytics: Type.Optional(Type.Literal(true, { description: 'telemetry is never sent by this plugin' })),
  connectTimeout: Type.Optional(Positive('milliseconds registration waits for the database before failing (default 10000)')),
  bodyLimit: Type.Optional(Positive('the largest SCIM request body in bytes; larger ones answer 413 (default 8388608)')),
  openapi: Type.Optional(Type.Union([
    Type.Boolean(),
    Type.Object({
      securityScheme: Type.Optional(Type.String({ minLength: 1, description: 'the name of a bearer security scheme declared in the host\'s @fastify/swagger options' }))
    }, { additionalProperties: false })
  ], { description: 'false leaves the SCIM routes out of @fastify/swagger\'s OpenAPI document (default true); { securityScheme } documents them as requiring it' })),
  limits: Type.Optional(Type.Object({
    operationsPerPatch: Type.Optional(Positive(`operations in one PATCH (default ${DEFAULT_LIMITS.operationsPerPatch})`)),
    valuesPerAttribute: Type.Optional(Positive(`values of one array in a request body, a group's members included (default ${DEFAULT_LIMITS.valuesPerAttribute})`)),
    attributeNames: Type.Optional(Positive(`names in attributes plus excludedAttributes (default ${DEFAULT_LIMITS.attributeNames})`)),
    filterTerms: Type.Optional(Positive(`comparisons in one filter (default ${DEFAULT_LIMITS.filterTerms})`)),
    filterDepth: Type.Optional(Positive(`nesting of one filter (default ${DEFAULT_LIMITS.filterDepth})`)),
    jsonDepth: Type.Optional(Positive(`nesting of a request body (default ${DEFAULT_LIMITS.jsonDepth})`)),
    resourceBytes: Type.Optional(Positive(`a stored resource as JSON, in bytes (default ${DEFAULT_LIMITS.resourceBytes})`)),
    membersPerPage: Type.Optional(Positive(`members in all in one page of a group listing (default ${DEFAULT_LIMITS.membersPerPage})`))
  }, { additionalProperties: false })),
  fairness: Type.Optional(Type.Object({
    concurrency: Type.Optional(Positive(`expensive requests one directory runs at once (default ${DEFAULT_FAIRNESS.concurrency})`)),
    queue: Type.Optional(Type.Integer({ minimum: 0, description: `expensive requests of one directory that wait; more answer 429 (default ${DEFAULT_FAIRNESS.queue})` })),
    retryAfter: Type.Optional(Positive(`seconds in Retry-After with that 429 (default ${DEFAULT_FAIRNESS.retryAfter})`))
  }, { additionalProperties: false })),
  authFailures: Type.Optional(Type.Union([Type.Literal(false), Type.Object({
    max: Type.Optional(Positive(`failed authentications per client address in a window before 429 (default ${DEFAULT_AUTH_FAILURES.max})`)),
    windowMs: Type.Optional(Positive(`the window in ms (default ${DEFAULT_AUTH_FAILURES.windowMs})`))
  }, { additionalProperties: false })], { description: 'false turns the limit off' })),
  metrics: Type.Optional(Type.Union([
    Type.Literal(false),
    Type.Object({
      registry: Type.Optional(Type.Unsafe<Registry>(Type.Object({}, { additionalProperties: true, description: 'a prom-client Registry to put the metrics on (default: one of the registration\'s own)' }))),
      directoryLabel: Type.Optional(Type.Boolean({ description: 'add directory_id as a label (default false: it grows with customers)' }))
    }, { additionalProperties: false })
  ], { description: 'Prometheus metrics (prom-client): false turns them off' })),
  jacksonCopy: Type.Optional(Type.Boolean({ description: 'keep jackson\'s own copy of users, groups and memberships up to date (default true); false for a host that never reads them through jackson\'s own APIs (resync rebuilds it on demand)' })),
  guard: Type.Optional(Type.Object({
    minUsers: Type.Integer({ minimum: 0, description: 'the guard trips only when more users than this are deprovisioned within the window' }),
    ratio: Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'and more than this share of the directory\'s users (0 < ratio <= 1)' }),
    windowMs: Positive('the window, in ms, in which deprovisions (deactivations and deletions) are counted')
  }, { additionalProperties: false, description: 'the deprovisioning guard (off without it): a mass deprovisioning holds that directory\'s events until guard.release' })),
  onScimEvent: Type.Optional(Type.Union([
    Type.Function([Type.Any()], Type.Any()),
    Type.Object({
      handler: Type.Function([Type.Any()], Type.Any()),
      id: Type.Optional(Type.String({ description: 'the hook\'s id in the event queue (see addHook)' })),
      from: Type.Optional(Type.Union([Type.Literal('now'), Type.Literal('oldest')]))
    }, { additionalProperties: false })
  ], { description: 'called with every provisioning event (jackson\'s event shape): a function, or { handler, id?, from? } as addHook takes them' })),
  events: Type.Optional(Type.Object({
    budget: Type.Optional(Type.Integer({ minimum: 0, description: 'ms a SCIM response waits for the onScimEvent handlers (default 3000)' })),
    maxAttempts: Type.Optional(Positive('attempts per event and handler before the event is kept as failed (default 8)')),
    backoff: Type.Optional(Positive('ms before the first retry; each further retry waits twice as long (default 1000)')),
    maxBackoff: Type.Optional(Positive('the longest wait between retries in ms (default 300000)')),
    handlerTimeout: Type.Optional(Positive('ms after which a running attempt counts as failed (default 30000)')),
    lease: Type.Optional(Positive('ms a claim on a directory\'s deliveries outlives its holder, which renews it every third of it while it lives (default 3000)')),
    pollInterval: Type.Optional(Positive('ms between looks for events left by other instances or a crash (default 1000)')),
    webhookTimeout: Type.Optional(Positive('ms a webhook has to answer (default 10000)')),
    lifecycleWebhooks: Type.Optional(Type.Boolean({ description: 'also send the directories\' lifecycle events (dsync.created, …) to their webhooks (default false)' })),
    retention: Type.Optional(Positive('ms events are kept, read or not (default 2592000000: 30 days)')),
    failedRetention: Type.Optional(Positive('ms a failed delivery, and its event, is kept unless replayed (default 7776000000: 90 days)'))
  }, { additionalProperties: false }))
}, { additionalProperties: false })

export type MemDbOptions = Static<typeof MemDbSchema>
export type SqlDbOptions = Static<typeof SqlDbSchema>
export type RedisDbOptions = Static<typeof RedisDbSchema>
export type DbOptions = Static<typeof DbOptionsSchema>
export type DirectorySyncOptions = Omit<Static<typeof OptionsSchema>, 'onScimEvent'> & {
  /** Called with every provisioning event, in order, after the change is stored and before the SCIM response. */
  onScimEvent?: ScimEventHandler | (HookOptions & { handler: ScimEventHandler })
}

/**
 * Fastify's own register options (prefix, logLevel, logSerializers), which reach a plugin's options
 * too: the plugin applies them to its SCIM routes (the prefix before scimPath).
 */
export type RegisterOptions = Pick<FastifyRegisterOptions, 'prefix' | 'logLevel' | 'logSerializers'>

export interface ResolvedOptions {
  db: DbOptions
  externalUrl: string
  scimPath: string
  /** Fastify's register options given with the plugin's (the prefix, when given, is part of scimPath here). */
  routes: Pick<RegisterOptions, 'logLevel' | 'logSerializers'>
  samlPath: string
  connectTimeout: number
  bodyLimit: number
  /** Whether the SCIM routes appear in @fastify/swagger's OpenAPI document. */
  openapi: boolean | { securityScheme?: string }
  limits: Limits
  fairness: FairnessOptions
  /** undefined: no limit on failed authentication. */
  authFailures: AuthFailureOptions | undefined
  onScimEvent: (HookOptions & { handler: ScimEventHandler }) | undefined
  /** undefined: metrics off. */
  metrics: MetricsOptions | undefined
  /** undefined: the guard is off. */
  guard: GuardOptions | undefined
  /** Whether jackson's copy is kept (its handler added). */
  jacksonCopy: boolean
  events: DeliveryOptions & RetentionOptions & { webhookTimeout: number, lifecycleWebhooks: boolean }
}

export const defaults = {
  scimPath: '/api/scim/v2.0',
  samlPath: '/api/oauth/saml',
  connectTimeout: 10_000,
  // An Okta replace of a 50,000-member group's full member list (the largest request the providers
  // document: Okta sends the whole list) fits, at up to about 160 bytes a member.
  bodyLimit: 8_388_608,
  events: {
    budget: 3000,
    maxAttempts: 8,
    backoff: 1000,
    maxBackoff: 300_000,
    handlerTimeout: 30_000,
    // A crashed process's deliveries are taken over within about this long (its claims are renewed by
    // a heartbeat while it lives, whatever its handlers take).
    lease: 3000,
    // With the lease, how soon the next process delivers what a crashed one left: within about 4 s.
    pollInterval: 1000,
    webhookTimeout: 10_000,
    lifecycleWebhooks: false,
    retention: 30 * 24 * 3_600_000,
    failedRetention: 90 * 24 * 3_600_000
  }
} as const

/** Checks the host's options and fills in the defaults; throws InvalidOptionError naming the first bad option. */
export function resolveOptions (input: unknown): ResolvedOptions {
  if (input === null || typeof input !== 'object') throw new InvalidOptionError('(options)', 'expected an object')
  const raw = input as Record<string, unknown>
  if (raw.db === undefined) {
    throw new InvalidOptionError('db', 'required: say where directories, users and groups are stored, e.g. { engine: \'sql\', type: \'sqlite\', url: \'./data/dsync.db\' } (without it jackson would silently try PostgreSQL on localhost)')
  }
  const { prefix, logLevel, logSerializers, ...own } = raw
  checkRegisterOptions(prefix, logLevel, logSerializers)
  checkDb(own.db)
  const error = Value.Errors(OptionsSchema, own).First()
  if (error) throw new InvalidOptionError(optionName(error.path), describe(error))
  const options = own as DirectorySyncOptions
  checkUrl(options.externalUrl)
  if (options.db.encryptionKey !== undefined) checkEncryptionKey(options.db.encryptionKey)
  return {
    db: options.db,
    externalUrl: options.externalUrl.replace(/\/+$/, ''),
    scimPath: joinPaths((prefix as string | undefined) ?? '', options.scimPath ?? defaults.scimPath),
    routes: {
      ...(logLevel === undefined ? {} : { logLevel: logLevel as RegisterOptions['logLevel'] }),
      ...(logSerializers === undefined ? {} : { logSerializers: logSerializers as RegisterOptions['logSerializers'] })
    },
    samlPath: options.samlPath ?? defaults.samlPath,
    connectTimeout: options.connectTimeout ?? defaults.connectTimeout,
    bodyLimit: options.bodyLimit ?? defaults.bodyLimit,
    openapi: options.openapi ?? true,
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    fairness: { ...DEFAULT_FAIRNESS, ...options.fairness },
    authFailures: options.authFailures === false ? undefined : { ...DEFAULT_AUTH_FAILURES, ...options.authFailures },
    metrics: options.metrics === false ? undefined : { ...options.metrics },
    guard: options.guard === undefined ? undefined : { ...options.guard },
    jacksonCopy: options.jacksonCopy !== false,
    onScimEvent: typeof options.onScimEvent === 'function' ? { handler: options.onScimEvent } : options.onScimEvent,
    events: resolveEvents(options.events)
  }
}

function resolveEvents (given: DirectorySyncOptions['events']): ResolvedOptions['events'] {
  const events = { ...defaults.events, ...given }
  // The heartbeat renews every third of the lease: shorter than that would be renewing constantly.
  if (events.lease < 300) throw new InvalidOptionError('events.lease', 'must be at least 300 ms')
  return events
}

// A union's first error says only "expected union"; check against the member the engine names instead.
function checkDb (db: unknown): void {
  if (db === null || typeof db !== 'object') throw new InvalidOptionError('db', 'expected an object')
  const engine = (db as { engine?: unknown }).engine
  const member = engine === 'mem' ? MemDbSchema : engine === 'sql' ? SqlDbSchema : engine === 'redis' ? RedisDbSchema : undefined
  if (member === undefined) {
    throw new InvalidOptionError('db.engine', `expected 'mem', 'sql' or 'redis', got ${JSON.stringify(engine)}`)
  }
  const error = Value.Errors(member, db).First()
  if (error) throw new InvalidOptionError(optionName('/db' + error.path), describe(error))
}

/** Path segments joined with single slashes, without a trailing one ('/' alone for the root). */
export function joinPaths (...paths: string[]): string {
  const joined = paths.map((path) => path.replace(/^\/+|\/+$/g, '')).filter(Boolean).join('/')
  return '/' + joined
}

function checkRegisterOptions (prefix: unknown, logLevel: unknown, logSerializers: unknown): void {
  if (prefix !== undefined && (typeof prefix !== 'string' || !prefix.startsWith('/'))) {
    throw new InvalidOptionError('prefix', `expected a path starting with /, got ${JSON.stringify(prefix)}`)
  }
  if (logLevel !== undefined && typeof logLevel !== 'string') throw new InvalidOptionError('logLevel', 'expected a log level name such as \'warn\'')
  if (logSerializers !== undefined && (logSerializers === null || typeof logSerializers !== 'object')) {
    throw new InvalidOptionError('logSerializers', 'expected an object of serializer functions')
  }
}

function checkUrl (value: string): void {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new InvalidOptionError('externalUrl', `expected an absolute URL such as https://app.example.com, got ${JSON.stringify(value)}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidOptionError('externalUrl', `expected an http or https URL, got ${JSON.stringify(value)}`)
  }
  // SCIM endpoints are built by appending paths to it: a query or a fragment would end up in the middle.
  if (url.search !== '' || url.hash !== '' || value.includes('?') || value.includes('#')) {
    throw new InvalidOptionError('externalUrl', `expected a URL without a query or fragment (SCIM paths are appended to it), got ${JSON.stringify(value)}`)
  }
}

// jackson reads a 32-character key as latin1 and anything else as base64; both must give 32 bytes (AES-256).
function checkEncryptionKey (key: string): void {
  if (key.length === 32) return
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(key) && Buffer.from(key, 'base64').length === 32) return
  throw new InvalidOptionError('db.encryptionKey', 'expected 32 characters, or 32 bytes encoded in base64')
}

// TypeBox says only "Expected union value" for a value no member of a union takes: name the members.
function describe (error: ValueError): string {
  const members = (error.schema as { anyOf?: Array<{ const?: unknown, type?: string }> }).anyOf
  if (members === undefined) return error.message
  const allowed = members.map((member) => member.const !== undefined ? JSON.stringify(member.const) : `an ${member.type ?? 'value'}`)
  return `expected ${allowed.slice(0, -1).join(', ')}${allowed.length > 1 ? ' or ' : ''}${allowed[allowed.length - 1]}, got ${JSON.stringify(error.value)}`
}

function optionName (pointer: string): string {
  const name = pointer.split('/').filter(Boolean).join('.')
  return name === '' ? '(options)' : name
}
