// The one place that loads @boxyhq/saml-jackson. Directory sync is built from jackson's own parts instead
// of its `controllers()` entry point, which (measured, see shared/notes/jackson.md) caches its connection
// in a process global, never gives up on an unreachable database, generates an RSA key for SAML,
// starts telemetry and leaves timers running. The parts used here are internal modules, so their shape
// is checked at load time and pinned by test/engine/jackson-internals.test.ts.
// First: db.js then loads without the drivers the plugin does not give it (lazy-drivers.ts).
import { jacksonVersion, stopDeferring } from './lazy-drivers.js'
import * as dbModule from '@boxyhq/saml-jackson/dist/db/db.js'
import * as directorySyncModule from '@boxyhq/saml-jackson/dist/directory-sync/index.js'
import * as eventModule from '@boxyhq/saml-jackson/dist/event/index.js'
import * as scimUtilsModule from '@boxyhq/saml-jackson/dist/directory-sync/scim/utils.js'
import * as transformModule from '@boxyhq/saml-jackson/dist/directory-sync/scim/transform.js'
import * as dbUtilsModule from '@boxyhq/saml-jackson/dist/db/utils.js'
import * as encrypterModule from '@boxyhq/saml-jackson/dist/db/encrypter.js'
import { randomBytes } from 'node:crypto'
import { JacksonIncompatibleError } from '../errors.js'
import type { DbOptions } from '../options.js'
import type {
  Directory, DirectorySyncController, DirectorySyncEvent, DirectorySyncEventType, DirectorySyncRequest, DirectorySyncResponse,
  EventCallback, Group, GroupMember, Page, Result, User
} from '../types.js'

export interface JacksonLogger {
  info(...args: unknown[]): void
  warn(...args: unknown[]): void
  error(...args: unknown[]): void
}

/** jackson's database handle (`DB` in dist/db/db.js) wrapping an engine driver (`db`). */
export interface JacksonDb {
  db: { dataSource?: { logger: unknown }, client?: unknown, timerId?: NodeJS.Timeout }
  /** The key its values are encrypted with (db.encryptionKey as jackson reads it), undefined without one. */
  encryptionKey?: unknown
  close(): Promise<void>
}

interface TenantScoped<T> { setTenantAndProduct(tenant: string, product: string): T }

export type JacksonUser = User & { directoryId?: string }

export interface JacksonUsers extends TenantScoped<JacksonUsers> {
  get(id: string): Promise<Result<JacksonUser>>
  getAll(params: Page & { directoryId: string }): Promise<Result<User[]>>
  create(user: JacksonUser): Promise<Result<JacksonUser>>
  update(id: string, user: JacksonUser): Promise<Result<JacksonUser>>
  delete(id: string): Promise<Result<null>>
  /** Every user of the directory (tenant-scoped like the rest). */
  deleteAll(directoryId: string): Promise<void>
}

export interface JacksonGroups extends TenantScoped<JacksonGroups> {
  get(id: string): Promise<Result<Group & { directoryId?: string }>>
  getAll(params: Page & { directoryId: string }): Promise<Result<Group[]>>
  getGroupMembers(params: Page & { groupId: string }): Promise<Result<GroupMember[]>>
  create(params: { directoryId: string, id: string, name: string, raw: unknown }): Promise<Result<Group>>
  update(id: string, params: { name: string, raw: unknown }): Promise<Result<Group>>
  delete(id: string): Promise<Result<null>>
  addUserToGroup(groupId: string, userId: string): Promise<void>
  removeUserFromGroup(groupId: string, userId: string): Promise<void>
  /** Every group of the directory, with its memberships. */
  deleteAll(directoryId: string): Promise<void>
}

/** jackson's key-value store of one namespace (dist/db/store.js). */
interface JacksonStore {
  get(key: string): Promise<any>
  put(key: string, value: unknown): Promise<void>
}

/** jackson's DirectoryConfig: the controller's shapes, and (internal) the store of directory records. */
export type JacksonDirectories = Omit<DirectorySyncController['directories'], 'rotateToken'> & { store?: () => JacksonStore }

/**
 * Rewrites a directory's stored record with `change`, through jackson's internals: jackson's update()
 * copies only some fields and keeps scim.secret and type as stored (test/engine/jackson-pinned.test.ts
 * pins it), so the record is rewritten through DirectoryConfig's own store, as update() writes it (a
 * put without indexes keeps the record's index entries). Answers false when the record is not there.
 */
async function rewriteDirectory (directories: JacksonDirectories, id: string, change: (record: any) => unknown): Promise<boolean> {
  if (typeof directories.store !== 'function') throw new JacksonIncompatibleError('DirectoryConfig has no store()')
  const store = directories.store()
  const record = await store.get(id)
  if (record === null || record === undefined) return false
  await store.put(id, change(record))
  return true
}

/** Gives a SCIM directory a new token, made as jackson makes one (16 random bytes, base64url). */
export const rotateScimSecret = (directories: JacksonDirectories, id: string) =>
  rewriteDirectory(directories, id, (record) => ({ ...record, scim: { ...record.scim, secret: randomBytes(16).toString('base64url') } }))

/** Changes a directory's type (a setup link's directory, before any SCIM request arrived). */
export const setDirectoryType = (directories: JacksonDirectories, id: string, type: string) =>
  rewriteDirectory(directories, id, (record) => ({ ...record, type }))

/** One set of jackson's directory-sync objects: its stores keep the current tenant in fields. */
export interface JacksonDirectorySync {
  // The same shapes as the controller's, which passes these through.
  directories: JacksonDirectories
  users: JacksonUsers
  groups: JacksonGroups
  requests: { handle(request: DirectorySyncRequest, callback?: EventCallback): Promise<DirectorySyncResponse> }
  providers(): Record<string, string>
}

/** What jackson's directory sync reads from its options. */
/** The tables jackson's SQL engine keeps its store in (created by its typeorm synchronize). */
export const JACKSON_TABLES = ['jackson_store', 'jackson_index', 'jackson_ttl']

export interface JacksonOptions {
  externalUrl: string
  samlPath: string
  scimPath: string
  db: DbOptions & Record<string, unknown>
  logger: JacksonLogger
  noAnalytics: true
  dsync?: { callback?: EventCallback }
}

// In native ESM a CommonJS module's namespace has module.exports as `default`; compiled to CommonJS,
// the namespace is module.exports itself. Either way, reach the module's own `exports.default`.
function cjsDefault<T> (namespace: unknown, name: string, expected: 'function' | 'object'): T {
  const outer = (namespace as { default?: any }).default
  const value = outer !== null && typeof outer === 'object' && outer.__esModule === true ? outer.default : outer
  const actual: string = typeof value
  if (actual !== expected) throw new JacksonIncompatibleError(`${name} default export is not a ${expected}`)
  return value as T
}

type DbFactory = { new: (options: { db: unknown, logger: JacksonLogger }, noCache?: boolean) => Promise<JacksonDb> }
type DirectorySyncFactory = (params: { db: JacksonDb, opts: JacksonOptions, eventController: unknown }) => Promise<JacksonDirectorySync>
type EventControllerClass = new (params: { opts: JacksonOptions }) => unknown

stopDeferring()
/** The version of the jackson loaded here (null where a host had loaded its db.js before: not seen loading). */
export const JACKSON_VERSION = jacksonVersion()
const dbFactory = cjsDefault<DbFactory>(dbModule, 'dist/db/db.js', 'object')
const directorySyncFactory = cjsDefault<DirectorySyncFactory>(directorySyncModule, 'dist/directory-sync/index.js', 'function')
const EventController = cjsDefault<EventControllerClass>(eventModule, 'dist/event/index.js', 'function')
if (typeof dbFactory.new !== 'function') throw new JacksonIncompatibleError('dist/db/db.js has no new()')

// Named exports of a CommonJS module: on the namespace itself, or on its `default` (module.exports).
function cjsNamed<T> (namespace: unknown, file: string, name: string): T {
  const value = (namespace as Record<string, unknown>)[name] ?? (namespace as { default?: Record<string, unknown> }).default?.[name]
  if (typeof value !== 'function') throw new JacksonIncompatibleError(`${file} has no function ${name}`)
  return value as T
}

/** jackson's reading of a SCIM User into its own user fields (first_name, last_name, email, active, roles). */
export const extractStandardUserAttributes = cjsNamed<(body: unknown) => Omit<User, 'raw'>>(
  scimUtilsModule, 'dist/directory-sync/scim/utils.js', 'extractStandardUserAttributes')

/** jackson's event payload: the shape its webhooks and callbacks receive. */
export const transformEventPayload = cjsNamed<(event: DirectorySyncEventType, payload: { directory: Directory, user?: User, group?: Group }) => DirectorySyncEvent>(
  transformModule, 'dist/directory-sync/scim/transform.js', 'transformEventPayload')

/** jackson's digest of a store key or index value (dist/db/utils.js keyDigest: RIPEMD-160, hex). */
export const jacksonKeyDigest = cjsNamed<(key: string) => string>(dbUtilsModule, 'dist/db/utils.js', 'keyDigest')

/** jackson's encryption of a stored value (dist/db/encrypter.js: AES-256-GCM, base64 value, iv and tag). */
export const jacksonEncrypt = cjsNamed<(text: string, key: unknown) => { value: string, iv: string, tag: string }>(
  encrypterModule, 'dist/db/encrypter.js', 'encrypt')

/**
 * Opens a database handle of its own. `noCache` makes jackson open a new connection instead of reusing
 * `global.__jacksonDb`, but jackson still stores the new one there (synchronously, before its first
 * await); putting back what was there keeps a host's own jackson (SSO) on its own connection.
 */
export function openJacksonDb (db: JacksonOptions['db'], logger: JacksonLogger): Promise<JacksonDb> {
  const previous = Object.getOwnPropertyDescriptor(globalThis, '__jacksonDb')
  const opening = dbFactory.new({ db, logger }, true)
  if (previous) Object.defineProperty(globalThis, '__jacksonDb', previous)
  else delete (globalThis as { __jacksonDb?: unknown }).__jacksonDb
  return opening
}

/** Builds an independent set of directory-sync objects on an open database. */
export function createDirectorySync (db: JacksonDb, opts: JacksonOptions): Promise<JacksonDirectorySync> {
  return directorySyncFactory({ db, opts, eventController: new EventController({ opts }) })
}
