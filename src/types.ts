import type { Registry } from 'prom-client'
import type { FastifyInstance } from 'fastify'

// The public shapes of the `directorySync` decorator. They follow jackson's documented shapes (so code
// written against jackson's Express guide keeps working) but are declared here, so that the plugin's
// public types do not move when jackson's internal typings do.

export type DirectoryType =
  | 'azure-scim-v2'
  | 'onelogin-scim-v2'
  | 'okta-scim-v2'
  | 'jumpcloud-scim-v2'
  | 'generic-scim-v2'
  | 'google'

export interface Directory {
  id: string
  name: string
  tenant: string
  product: string
  type: DirectoryType
  log_webhook_events: boolean
  scim: { path: string, endpoint?: string, secret: string }
  webhook: { endpoint: string, secret: string }
  deactivated?: boolean
  google_access_token?: string
  google_refresh_token?: string
  google_authorization_url?: string
}

export interface User {
  id: string
  email: string
  first_name: string
  last_name: string
  active: boolean
  roles?: string[]
  raw?: any
}

export interface Group {
  id: string
  name: string
  raw?: any
}

/** A page of something, with how many there are in all. */
export interface Paged<T> {
  items: T[]
  total: number
}

export interface GroupMember {
  user_id: string
}

export interface ApiError {
  message: string
  code: number
}

/** Every controller method answers `{ data, error }` and never throws for a failed operation, as jackson's do. */
export type Result<T> =
  | { data: T, error: null, pageToken?: string }
  | { data: null, error: ApiError }

export interface Page {
  pageOffset?: number
  pageLimit?: number
  pageToken?: string
}

export interface CreateDirectoryParams {
  tenant: string
  product: string
  name?: string
  type?: DirectoryType
  webhook_url?: string
  webhook_secret?: string
  google_access_token?: string
  google_refresh_token?: string
}

export interface UpdateDirectoryParams {
  name?: string
  webhook_url?: string
  webhook_secret?: string
  log_webhook_events?: boolean
  deactivated?: boolean
  google_access_token?: string
  google_refresh_token?: string
}

export type DirectorySyncEventType =
  | 'user.created' | 'user.updated' | 'user.deleted'
  | 'group.created' | 'group.updated' | 'group.deleted'
  | 'group.user_added' | 'group.user_removed'

export type UserWithGroup = User & { group: Group }

interface EventEnvelope {
  directory_id: string
  tenant: string
  product: string
}

/**
 * What an update changed: each top-level attribute of `data.raw` that differs, with its former value
 * (null where it was absent); for users also `first_name`, `last_name`, `email` and `active`, for
 * groups `name`, when they differ.
 */
export type PreviousValues = Record<string, unknown>

/** jackson's event shape; checking `event.event` narrows `event.data`. Updates also carry `previous` (not in jackson's). */
export type DirectorySyncEvent =
  | EventEnvelope & { event: 'user.created' | 'user.deleted', data: User }
  | EventEnvelope & { event: 'user.updated', data: User, previous?: PreviousValues }
  | EventEnvelope & { event: 'group.created' | 'group.deleted', data: Group }
  | EventEnvelope & { event: 'group.updated', data: Group, previous?: PreviousValues }
  | EventEnvelope & { event: 'group.user_added' | 'group.user_removed', data: UserWithGroup }

/** An event as the plugin delivers it: jackson's shape, plus a stable id (the idempotency key) and when it was recorded. */
export type ScimEvent = DirectorySyncEvent & {
  /** The same on every delivery of this event, retries and replays included. */
  id: string
  /** ISO 8601 time at which the change was stored. */
  created: string
}

/** A directory's lifecycle: jackson's names where it has them, plus dsync.updated and dsync.token_rotated. */
export type DirectoryLifecycleEventType = 'dsync.created' | 'dsync.updated' | 'dsync.activated' | 'dsync.deactivated' | 'dsync.token_rotated' | 'dsync.deleted'

/** A directory as its lifecycle events carry it: its settings, never a secret. */
export interface DirectorySummary {
  id: string
  name: string
  tenant: string
  product: string
  type: DirectoryType
  deactivated: boolean
  webhook: { endpoint: string }
  log_webhook_events: boolean
}

/**
 * A directory created, changed or deleted, in its own event sequence. dsync.updated carries `previous`:
 * the former `name`, `webhook` or `log_webhook_events` that changed (a new webhook secret as
 * `webhook_secret: 'changed'`, never its value).
 */
export type DirectoryLifecycleEvent = EventEnvelope & {
  event: DirectoryLifecycleEventType
  data: DirectorySummary
  previous?: Record<string, unknown>
  /** The same on every delivery of this event. */
  id: string
  /** ISO 8601 time at which it was stored. */
  created: string
}

/** What the deprovisioning guard reports when it trips or is released. */
export interface GuardReport {
  directory: DirectorySummary
  /** The id of the first event held (directory.guard_tripped); of the last one released (directory.guard_released). */
  event_id: string | null
  /** Users deprovisioned (deactivated or deleted) within the window when it tripped. */
  deprovisioned: number
  /** The directory's users the ratio was taken of: those stored, plus those deleted within the window. */
  users: number
  min_users: number
  ratio: number
  window_ms: number
  /** directory.guard_released: how many held events go out, and how many were coalesced away. */
  released?: number
  coalesced?: number
}

/**
 * The deprovisioning guard (the `guard` option): directory.guard_tripped goes out at once (before the
 * events it holds), directory.guard_released after the events it released. Delivered as lifecycle events.
 */
export type GuardEvent = EventEnvelope & {
  event: 'directory.guard_tripped' | 'directory.guard_released'
  data: GuardReport
  id: string
  created: string
}

/** Every event the plugin records: the SCIM changes, the directories' lifecycle and the guard's reports. */
export type DirectoryEvent = ScimEvent | DirectoryLifecycleEvent | GuardEvent

/** A hook that takes lifecycle events too (registered with `{ lifecycle: true }`). */
export type DirectoryEventHandler = (this: FastifyInstance, event: DirectoryEvent) => void | Promise<void>

export type EventCallback = (event: DirectorySyncEvent) => Promise<void>

/** The request shape of jackson's `requests.handle`, as jackson's Express guide builds it. */
export interface DirectorySyncRequest {
  method: string
  body: any
  directoryId: string
  resourceType: string
  resourceId: string | undefined
  apiSecret: string | null
  query: { count?: number, startIndex?: number, filter?: string }
}

export interface DirectorySyncResponse {
  status: number
  data?: any
}

/** A delivery given up on after its last attempt. */
export interface FailedDelivery {
  event: ScimEvent
  /** `onScimEvent#<n>` (hooks by registration order) or `webhook`. */
  handler: string
  attempts: number
  error: string
  failedAt: string
}

/** An onScimEvent handler; `this` is the Fastify instance the plugin is registered on. */
export type ScimEventHandler = (this: FastifyInstance, event: ScimEvent) => void | Promise<void>

/**
 * A hook's identity and start: `id` keeps its cursors and failed deliveries under that name (stable
 * across restarts whatever the registration order; a second hook with the same id throws
 * FST_DSYNC_HOOK_ID_TAKEN); `from` is where it starts the first time its id is seen: 'now' (default,
 * the events recorded from then on) or 'oldest' (every event still kept).
 */
export interface HookOptions {
  id?: string
  from?: 'now' | 'oldest'
  /** Also deliver the directories' lifecycle events (dsync.created, …) to this hook (default false). */
  lifecycle?: boolean
}

export interface EventListParams {
  /** Only this directory's events. */
  directoryId?: string
  /** A cursor from events.list or events.head; without one, from the oldest event kept. */
  after?: string
  /** Only these event types. */
  types?: Array<DirectorySyncEventType | DirectoryLifecycleEventType>
  /** At most this many events (default 100, at most 1,000). */
  limit?: number
}

export interface EventPage {
  events: DirectoryEvent[]
  /** Where to go on from: after the last event returned. */
  after: string
  /** Whether more events matching the filter come after these. */
  hasMore: boolean
  /**
   * Set when the page stops before an event the tripped deprovisioning guard holds (of this directory):
   * later events, of any directory, follow once the guard is released.
   */
  paused?: { directoryId: string }
}

/** A SCIM request as the status tells of it. */
export interface ScimRequestSummary {
  /** ISO 8601 time of the response. */
  at: string
  method: string
  /** The route, e.g. /api/scim/v2.0/:directoryId/Users/:id (no ids, no query). */
  route: string
  status: number
}

/** A SCIM request answered with an error (status 400 or more), with the error's detail when the plugin gave one. */
export interface ScimErrorSummary extends ScimRequestSummary {
  detail?: string
}

/** How a directory is doing. */
export interface DirectoryStatus {
  directoryId: string
  users: number
  groups: number
  /**
   * The last SCIM request this process answered for the directory (per process: each instance knows
   * its own; null when it answered none since it started).
   */
  lastRequest: ScimRequestSummary | null
  /** The last SCIM request this process answered for the directory with an error (per process, as lastRequest). */
  lastError: ScimErrorSummary | null
  /** Per handler (hooks by id, 'jackson', 'webhook'): events not yet passed, and deliveries kept as failed. Shared across instances. */
  deliveries: Array<{ handler: string, pending: number, failed: number }>
  /** How old (ms) the oldest event is that some handler has not passed yet; null when none is pending. */
  oldestUndeliveredMs: number | null
  /**
   * The deprovisioning guard (shared across instances): 'off' without the `guard` option, 'armed', or
   * 'tripped' with the time it tripped, the id of the first event held and how many are held.
   */
  guard: { state: 'off' | 'armed' } | { state: 'tripped', trippedAt: string, heldFrom: string | null, held: number }
}

/** A setup link for a customer's IT admin, as the host sees it (never its token). Times are ISO 8601. */
export interface SetupLink {
  id: string
  tenant: string
  product: string
  createdAt: string
  expiresAt: string
  revokedAt: string | null
  /** The directory the IT admin created through the link (null until they pick a provider). */
  directoryId: string | null
  /** When that directory answered its first SCIM request (null until then): its provider is fixed from then on. */
  firstRequestAt: string | null
  state: 'active' | 'expired' | 'revoked'
}

/** What arrived from the identity provider, as a setup link's page shows it. */
export interface SetupProgress {
  /** null: waiting for the first request. */
  firstRequestAt: string | null
  users: number
  groups: number
  lastRequest: ScimRequestSummary | null
  lastError: ScimErrorSummary | null
}

/** What a setup link's token gives access to: its one directory (with no secret), once a provider is picked. */
export interface SetupLinkSession {
  link: SetupLink
  directory: Directory | null
  progress: SetupProgress | null
  /** Whether the provider may be picked again: until the directory's first SCIM request. */
  canChangeProvider: boolean
}

/**
 * Setup links: the host creates one for a tenant and product and sends it to the customer's IT admin,
 * who picks their identity provider (creating the tenant's directory), follows its steps and sees the
 * connection go live. The methods taking a link's `token` act as that IT admin: they answer 401 for an
 * unknown token and 410 for an expired or revoked link.
 */
export interface SetupLinksController {
  /** A link valid for `expiresInSeconds` (default 7 days, at most 90): the token is answered once, only its digest is kept. */
  create(params: { tenant: string, product: string, expiresInSeconds?: number }): Promise<Result<{ link: SetupLink, token: string }>>
  /** Links newest first, of one tenant and product if given. */
  list(params?: { tenant?: string, product?: string }): Promise<Result<SetupLink[]>>
  get(id: string): Promise<Result<SetupLink>>
  /** The link stops working at once; a directory created through it keeps working. */
  revoke(id: string): Promise<Result<SetupLink>>
  open(token: string): Promise<Result<SetupLinkSession>>
  /** Creates the link's directory of that type, or changes its type until its first SCIM request (409 after). */
  pickProvider(token: string, type: DirectoryType): Promise<Result<SetupLinkSession>>
  /**
   * The link's directory with its SCIM token; with `rotate`, a new token first (the old one stops at
   * once). 403 for a deactivated directory, and once the connection has been live an hour (from the
   * first SCIM request): the link then shows progress only. A link whose directory was deleted answers 410.
   */
  credentials(token: string, options?: { rotate?: boolean }): Promise<Result<Directory>>
}

/** `app.directorySync`: every method is safe to call concurrently, for any mix of directories. */
export interface DirectorySyncController {
  /** Adds an onScimEvent handler (the only hook); handlers run in registration order. */
  addHook(name: 'onScimEvent', handler: DirectoryEventHandler, options: HookOptions & { lifecycle: true }): void
  addHook(name: 'onScimEvent', handler: ScimEventHandler, options?: HookOptions & { lifecycle?: false }): void
  /** The prom-client registry the plugin's metrics are on (expose it with `await registry.metrics()`); null with `metrics: false`. */
  metrics: Registry | null
  events: {
    /**
     * The recorded events in one order across directories (each directory's in its own order), after
     * a cursor: `after` answered is the cursor after the last event returned (the one given back when
     * nothing is new). A cursor older than the retention answers error code 410 (cursor_expired).
     */
    list(params?: EventListParams): Promise<Result<EventPage>>
    /** The current position: take it, read a snapshot (users.list, groups.list), then follow events.list({ after }). */
    head(): Promise<Result<{ after: string }>>
    /** Deliveries given up on after their last attempt, for one handler or all. */
    failed(handler?: string): Promise<Result<FailedDelivery[]>>
    /** Delivers a failed event again (to `handler`, or to every handler it failed for); success removes it from the failed list. */
    replay(eventId: string, handler?: string): Promise<Result<{ delivered: number, failed: number }>>
  }
  /** The deprovisioning guard (the `guard` option). */
  guard: {
    /**
     * Resumes delivery of a directory's held events, in order, to hooks, webhooks and events.list. With
     * `coalesce`, held events are first reduced to the net change per resource (a user deactivated and
     * reactivated while held delivers nothing). Error 409 when the guard is not tripped.
     */
    release(directoryId: string, options?: { coalesce?: boolean }): Promise<Result<{ released: number, coalesced: number }>>
  }
  directories: {
    create(params: CreateDirectoryParams): Promise<Result<Directory>>
    get(id: string): Promise<Result<Directory>>
    update(id: string, params: UpdateDirectoryParams): Promise<Result<Directory>>
    /**
     * Gives a SCIM directory a new bearer token and answers the directory with it. The old token is
     * refused at once by this process, and by other processes on the same database within 2 s (their
     * directory cache); with `graceSeconds` (at most a week), only after that long, so that an identity
     * provider can be given the new token without an outage.
     */
    rotateToken(id: string, options?: { graceSeconds?: number }): Promise<Result<Directory>>
    /**
     * Directories in one order (tenant, product, name), of one tenant and/or product if given, with how
     * many there are in all: `offset` (default 0) and `limit` (default and at most db.pageLimit).
     */
    list(params?: { tenant?: string, product?: string, offset?: number, limit?: number }): Promise<Result<Paged<Directory>>>
    /** How the directory is doing: counts, the last SCIM request, deliveries per handler (404 for an unknown id). */
    status(id: string): Promise<Result<DirectoryStatus>>
    delete(id: string): Promise<Result<null>>
    getByTenantAndProduct(tenant: string, product: string): Promise<Result<Directory[]>>
    getAll(page?: Page): Promise<Result<Directory[]>>
  }
  /** Setup links for customers' IT admins (their pages: `directorySyncSetup` from `fastify-directory-sync/admin`). */
  setupLinks: SetupLinksController
  /** The directory types jackson supports, with their display names. */
  providers(): Record<DirectoryType, string>
  users: {
    /** A page of a directory's users (tenant and product are resolved from the directory). */
    list(directoryId: string, page?: Page): Promise<Result<User[]>>
    get(directoryId: string, userId: string): Promise<Result<User>>
    /** A page of a directory's users, with how many it has in all. */
    page(directoryId: string, page?: Page): Promise<Result<Paged<User>>>
  }
  groups: {
    list(directoryId: string, page?: Page): Promise<Result<Group[]>>
    get(directoryId: string, groupId: string): Promise<Result<Group>>
    members(directoryId: string, groupId: string, page?: Page): Promise<Result<GroupMember[]>>
    page(directoryId: string, page?: Page): Promise<Result<Paged<Group>>>
    /** A page of a group's members (with the display the client sent, if any), with how many it has. */
    membersPage(directoryId: string, groupId: string, page?: Page): Promise<Result<Paged<GroupMember & { display?: string }>>>
  }
  /**
   * Rebuilds jackson's copy of a directory (its users, groups and memberships in jackson's store) from
   * the plugin's store, which answers SCIM: after a delivery to jackson's copy was given up on, or to
   * repair a copy changed by hand. Answers what was copied.
   */
  resync(directoryId: string): Promise<Result<{ users: number, groups: number, memberships: number, failed: Array<{ id: string, error: string }> }>>
  requests: {
    /** jackson's SCIM entry point, confined so that concurrent calls cannot mix tenants. */
    handle(request: DirectorySyncRequest, callback?: EventCallback): Promise<DirectorySyncResponse>
  }
}
