// TypeBox schemas of the admin routes and the setup pages' API. Requests are validated by the host's
// Ajv: with Fastify's default options an unknown body field is removed (ignored), with
// removeAdditional: false it is refused. Responses list their fields (nothing else, a secret say, can
// go out), but users and groups keep whatever their identity provider sent (raw).
import { Type, type TSchema } from '@sinclair/typebox'

export const TAG = 'Directory sync admin'

const open = { additionalProperties: true } as const
const closed = { additionalProperties: false } as const
const Id = Type.String({ minLength: 1, maxLength: 255 })
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])

export const ErrorBody = Type.Object({ error: Type.Object({ message: Type.String(), code: Type.Integer() }) })

export const DirectoryType = Type.Union([Type.Literal('azure-scim-v2'), Type.Literal('onelogin-scim-v2'), Type.Literal('okta-scim-v2'), Type.Literal('jumpcloud-scim-v2'), Type.Literal('generic-scim-v2')])

export const Directory = Type.Object({
  id: Type.String(),
  name: Type.String(),
  tenant: Type.String(),
  product: Type.String(),
  type: Type.String(),
  deactivated: Type.Boolean(),
  log_webhook_events: Type.Boolean(),
  scim: Type.Object({
    endpoint: Type.String({ description: 'The SCIM base URL of this directory' }),
    tenantUrl: Type.String({ description: 'What to paste into the identity provider (for Entra ID, with ?aadOptscim062020)' })
  }),
  webhook: Type.Object({ endpoint: Type.String() })
})

export const Credentials = Type.Object({
  url: Type.String({ description: 'The SCIM URL to paste into the identity provider' }),
  token: Type.String({ description: 'The SCIM bearer token' })
})

const paged = <T extends TSchema>(item: T) => Type.Object({ items: Type.Array(item), total: Type.Integer() })

export const PagedDirectories = paged(Directory)
export const User = Type.Object({
  id: Type.String(),
  email: Type.String(),
  first_name: Type.String(),
  last_name: Type.String(),
  active: Type.Boolean(),
  roles: Type.Optional(Type.Array(Type.String())),
  raw: Type.Optional(Type.Unknown())
}, open)
export const Group = Type.Object({ id: Type.String(), name: Type.String(), raw: Type.Optional(Type.Unknown()) }, open)
export const Member = Type.Object({ user_id: Type.String(), display: Type.Optional(Type.String()) })
export const PagedUsers = paged(User)
export const PagedGroups = paged(Group)
export const PagedMembers = paged(Member)

const RequestSummary = Type.Object({ at: Type.String(), method: Type.String(), route: Type.String(), status: Type.Integer() })
const ErrorSummary = Type.Object({ at: Type.String(), method: Type.String(), route: Type.String(), status: Type.Integer(), detail: Type.Optional(Type.String()) })

export const Status = Type.Object({
  directoryId: Type.String(),
  users: Type.Integer(),
  groups: Type.Integer(),
  lastRequest: Nullable(RequestSummary),
  lastError: Nullable(ErrorSummary),
  deliveries: Type.Array(Type.Object({ handler: Type.String(), pending: Type.Integer(), failed: Type.Integer() })),
  oldestUndeliveredMs: Nullable(Type.Number()),
  guard: Type.Object({ state: Type.String() }, open)
})

export const Event = Type.Object({ id: Type.String(), created: Type.String(), event: Type.String(), directory_id: Type.String(), data: Type.Unknown() }, open)
export const EventPage = Type.Object({
  events: Type.Array(Event),
  after: Type.String(),
  hasMore: Type.Boolean(),
  paused: Type.Optional(Type.Object({ directoryId: Type.String() }))
})
export const Failed = Type.Object({
  items: Type.Array(Type.Object({ event: Event, handler: Type.String(), attempts: Type.Integer(), error: Type.String(), failedAt: Type.String() }))
})

export const Steps = Type.Object({
  provider: Type.String(),
  providerName: Type.String(),
  url: Type.String(),
  steps: Type.Array(Type.Object({ title: Type.String(), detail: Type.String() }))
})

export const SetupLink = Type.Object({
  id: Type.String(),
  tenant: Type.String(),
  product: Type.String(),
  createdAt: Type.String(),
  expiresAt: Type.String(),
  revokedAt: Nullable(Type.String()),
  directoryId: Nullable(Type.String()),
  firstRequestAt: Nullable(Type.String()),
  state: Type.Union([Type.Literal('active'), Type.Literal('expired'), Type.Literal('revoked')])
})

export const SetupLinkView = Type.Object({
  link: SetupLink,
  providers: Type.Record(Type.String(), Type.String()),
  directory: Nullable(Directory),
  steps: Nullable(Steps),
  canChangeProvider: Type.Boolean(),
  progress: Nullable(Type.Object({
    firstRequestAt: Nullable(Type.String()),
    users: Type.Integer(),
    groups: Type.Integer(),
    lastRequest: Nullable(RequestSummary),
    lastError: Nullable(ErrorSummary)
  }))
})

// Requests.
export const DirectoryParams = Type.Object({ id: Id })
export const UserParams = Type.Object({ id: Id, userId: Id })
export const GroupParams = Type.Object({ id: Id, groupId: Id })
export const EventParams = Type.Object({ id: Id, eventId: Id })
export const LinkParams = Type.Object({ linkId: Id })
export const PageQuery = Type.Object({
  offset: Type.Optional(Type.Integer({ minimum: 0 })),
  limit: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 }))
}, closed)
export const DirectoryListQuery = Type.Object({
  offset: Type.Optional(Type.Integer({ minimum: 0 })),
  limit: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
  tenant: Type.Optional(Id),
  product: Type.Optional(Id)
}, closed)
export const CreateDirectoryBody = Type.Object({
  type: DirectoryType,
  name: Type.Optional(Type.String({ maxLength: 255 })),
  tenant: Type.Optional(Id),
  product: Type.Optional(Id),
  webhook_url: Type.Optional(Type.String({ maxLength: 2048 })),
  webhook_secret: Type.Optional(Type.String({ maxLength: 1024 }))
}, closed)
export const UpdateDirectoryBody = Type.Object({
  name: Type.Optional(Type.String({ maxLength: 255 })),
  webhook_url: Type.Optional(Type.String({ maxLength: 2048 })),
  webhook_secret: Type.Optional(Type.String({ maxLength: 1024 })),
  log_webhook_events: Type.Optional(Type.Boolean()),
  deactivated: Type.Optional(Type.Boolean())
}, closed)
export const RotateBody = Type.Object({ graceSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 7 * 24 * 3600 })) }, closed)
export const EventQuery = Type.Object({
  after: Type.Optional(Type.String({ maxLength: 200 })),
  types: Type.Optional(Type.String({ maxLength: 1000, description: 'Event types, separated by commas' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 }))
}, closed)
export const FailedQuery = Type.Object({ handler: Type.Optional(Type.String({ maxLength: 255 })) }, closed)
export const ReplayBody = Type.Object({ handler: Type.Optional(Type.String({ maxLength: 255 })) }, closed)
export const ReleaseBody = Type.Object({ coalesce: Type.Optional(Type.Boolean()) }, closed)
export const LinkQuery = Type.Object({ tenant: Type.Optional(Id), product: Type.Optional(Id) }, closed)
export const CreateLinkBody = Type.Object({
  tenant: Type.Optional(Id),
  product: Type.Optional(Id),
  expiresInSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 90 * 24 * 3600 }))
}, closed)
export const PickBody = Type.Object({ type: DirectoryType }, closed)

export const Providers = Type.Object({ providers: Type.Record(Type.String(), Type.String()) })
export const Replayed = Type.Object({ delivered: Type.Integer(), failed: Type.Integer() })
export const Released = Type.Object({ released: Type.Integer(), coalesced: Type.Integer() })
export const CreatedDirectory = Type.Object({ directory: Directory, credentials: Credentials })
export const CreatedLink = Type.Object({ link: SetupLink, token: Type.String(), url: Nullable(Type.String()) })
export const Links = Type.Object({ items: Type.Array(SetupLink) })

/** Answers to document beside `ok`: the error shape at each status a route may give. */
export const errors = (...codes: number[]) => Object.fromEntries(codes.map((code) => [code, ErrorBody]))
