// What each command does, on openDirectoryAdmin: directory administration without delivery (no
// dispatcher, no claims, no webhooks, no jackson copy), so that a process that lives a second never
// takes a server's deliveries. Answers the exit code: 0 done, 1 the operation failed, 3 the database
// could not be opened; usage errors (2) are thrown as UsageError.
import { existsSync } from 'node:fs'
import { openDirectoryAdmin, type DirectoryAdmin } from '../engine/admin.js'
import { acquireDatabase } from '../engine/database.js'
import { redact } from '../engine/logging.js'
import { DatabaseMissingError } from '../errors.js'
import { resolveOptions, type DbOptions, type ResolvedOptions } from '../options.js'
import { migrate } from '../store/index.js'
import type { ApiError, CreateDirectoryParams, Directory, DirectoryType, Result } from '../types.js'
import { UsageError, type Command, type Globals } from './args.js'
import { dbFromArgument, sqliteFileOf } from './db.js'
import { stderrLogger } from './logger.js'
import { describeDirectory, directoryLine, fields, printable, writeJson, type Io } from './output.js'

export const EXIT = { ok: 0, failed: 1, usage: 2, database: 3 } as const

/** An error while opening the database (exit code 3). */
class OpenFailure extends Error {
  constructor (readonly cause: unknown) {
    super((cause as Error)?.message ?? String(cause))
  }
}

// Where the database answered with an error of its own during migrate (not a fault of the migration).
const databaseCodes = /^FST_DSYNC_(DB_UNREACHABLE|DB_REFUSED|DB_MISSING|ENCRYPTION_KEY_MISMATCH|ENCRYPTION_KEY_REQUIRED|MIGRATION_PENDING)$/

// SCIM endpoints need the URL the server is reached at; commands that print none can do without.
const PLACEHOLDER_URL = 'http://localhost'

export async function execute (command: Exclude<Command, { name: 'help' }>, globals: Globals, io: Io): Promise<number> {
  try {
    switch (command.name) {
      case 'providers': return await providers(globals, io)
      case 'migrate': return await migrateCommand(globals, io)
      default: return await directories(command, globals, io)
    }
  } catch (err) {
    if (err instanceof UsageError) throw err
    if (err instanceof OpenFailure) return failure(io, globals, EXIT.database, err.cause)
    return failure(io, globals, EXIT.failed, err)
  }
}

function failure (io: Io, globals: Globals, exitCode: number, err: unknown): number {
  const code = (err as { code?: unknown })?.code
  const message = redact((err as Error)?.message ?? String(err))
  io.stderr.write(`error: ${typeof code === 'string' ? `${code}: ` : ''}${message}\n`)
  if (globals.json) writeJson(io, { error: { ...(typeof code === 'string' ? { code } : {}), message } })
  return exitCode
}

/** A controller's error answer (exit code 1). */
function refused (io: Io, globals: Globals, error: ApiError): number {
  io.stderr.write(`error: ${error.message} (${error.code})\n`)
  if (globals.json) writeJson(io, { error: { status: error.code, message: error.message } })
  return EXIT.failed
}

/** The options as registration would resolve them; a bad one is a usage error naming the flag. */
function resolve (db: DbOptions, globals: Globals, externalUrl: string): ResolvedOptions {
  try {
    return resolveOptions({
      db,
      externalUrl,
      ...(globals.scimPath === undefined ? {} : { scimPath: globals.scimPath }),
      ...(globals.connectTimeout === undefined ? {} : { connectTimeout: globals.connectTimeout })
    })
  } catch (err) {
    const match = /invalid option "([^"]+)": (.*)$/s.exec((err as Error).message)
    if (match === null) throw new UsageError((err as Error).message)
    const [, option, reason] = match
    const flag = option === 'externalUrl'
      ? '--external-url'
      : option === 'scimPath'
        ? '--scim-path'
        : option === 'connectTimeout' ? '--connect-timeout' : option === 'db.encryptionKey' ? '--encryption-key' : `--db (${option})`
    throw new UsageError(`${flag}: ${reason}`)
  }
}

async function open (options: ResolvedOptions, io: Io): Promise<DirectoryAdmin> {
  try {
    return await openDirectoryAdmin(options, stderrLogger(io.stderr))
  } catch (err) {
    throw new OpenFailure(err)
  }
}

async function providers (globals: Globals, io: Io): Promise<number> {
  // The list is jackson's and the same for every database: an in-memory one answers it.
  const admin = await open(resolve({ engine: 'mem' }, globals, PLACEHOLDER_URL), io)
  try {
    const list = admin.providers()
    if (globals.json) writeJson(io, { providers: list })
    else io.stdout.write(fields(Object.entries(list)))
    return EXIT.ok
  } finally {
    await admin.close()
  }
}

async function migrateCommand (globals: Globals, io: Io): Promise<number> {
  const db = dbFromArgument(globals.db, globals.encryptionKey)
  const options = resolve(db, globals, PLACEHOLDER_URL)
  const log = stderrLogger(io.stderr)
  // jackson creates and updates its tables itself (typeorm's synchronize) when manualMigration is off.
  try {
    const lease = await acquireDatabase({ ...options.db, manualMigration: false } as DbOptions, log, options.connectTimeout)
    await lease.release()
  } catch (err) {
    throw new OpenFailure(err)
  }
  if (!globals.json) io.stdout.write('jackson\'s tables: up to date\n')
  let applied
  try {
    applied = await migrate(options.db, { warn: (obj, msg) => log.warn(obj, msg) })
  } catch (err) {
    if (databaseCodes.test(String((err as { code?: unknown })?.code))) throw new OpenFailure(err)
    throw err
  }
  if (globals.json) {
    writeJson(io, { jackson: 'up to date', applied: applied.map(({ version, name }) => ({ version, name })) })
  } else {
    io.stdout.write(applied.length === 0
      ? 'the plugin\'s migrations: up to date\n'
      : `the plugin's migrations applied: ${applied.map((m) => `${m.version} (${m.name})`).join(', ')}\n`)
  }
  return EXIT.ok
}

type DirectoryCommand = Extract<Command, { name: 'create' | 'list' | 'show' | 'deactivate' | 'activate' | 'delete' | 'rotate-token' }>

async function directories (command: DirectoryCommand, globals: Globals, io: Io): Promise<number> {
  const db = dbFromArgument(globals.db, globals.encryptionKey)
  // Every command but delete prints a directory, with its endpoint as the server hands it out.
  if (command.name !== 'delete' && globals.externalUrl === undefined) {
    throw new UsageError('--external-url (or DSYNC_EXTERNAL_URL) is required: the URL the server is reached at, which SCIM endpoints start with')
  }
  const options = resolve(db, globals, globals.externalUrl ?? PLACEHOLDER_URL)
  // A mistyped path would otherwise become a new, empty database: only create makes one.
  const file = sqliteFileOf(options.db)
  if (command.name !== 'create' && file !== undefined && !existsSync(file)) {
    throw new OpenFailure(new DatabaseMissingError('sqlite', `there is no file ${file} (only directories create and migrate make one)`))
  }
  const admin = await open(options, io)
  try {
    return await run(admin, command, globals, io, options.db.pageLimit ?? 50)
  } finally {
    await admin.close()
  }
}

async function run (admin: DirectoryAdmin, command: DirectoryCommand, globals: Globals, io: Io, pageLimit: number): Promise<number> {
  const providers = admin.providers() as Record<string, string>
  switch (command.name) {
    case 'create': {
      const type = command.type ?? 'generic-scim-v2'
      if (providers[type] === undefined) throw new UsageError(`directories create: --type must be one of: ${Object.keys(providers).join(', ')}`)
      const params: CreateDirectoryParams = { tenant: command.tenant, product: command.product, type: type as DirectoryType }
      if (command.directoryName !== undefined) params.name = command.directoryName
      if (command.webhookUrl !== undefined) params.webhook_url = command.webhookUrl
      if (command.webhookSecret !== undefined) params.webhook_secret = command.webhookSecret
      const { data, error } = await admin.directories.create(params)
      if (error) return refused(io, globals, error)
      return withToken(io, globals, data, `Created directory ${data.id} (tenant "${data.tenant}", product "${data.product}", ${data.type})`)
    }
    case 'rotate-token': {
      const { data, error } = await admin.directories.rotateToken(command.id)
      if (error) return refused(io, globals, error)
      return withToken(io, globals, data, `New bearer token for directory ${data.id}; servers on this database refuse the old one within 2 s`)
    }
    case 'list': {
      const found = command.tenant === undefined
        ? await everyDirectory(admin, pageLimit)
        : await admin.directories.getByTenantAndProduct(command.tenant, command.product!)
      if (found.error) return refused(io, globals, found.error)
      if (globals.json) writeJson(io, { directories: found.data.map((d) => printable(d)) })
      else if (found.data.length === 0) io.stdout.write('no directories\n')
      else for (const directory of found.data) io.stdout.write(directoryLine(directory))
      return EXIT.ok
    }
    case 'show': {
      const { data, error } = await admin.directories.get(command.id)
      if (error) return refused(io, globals, error)
      // Counts and deliveries from directories.status (the database's: every instance's deliveries).
      const status = await admin.directories.status(command.id)
      if (status.error) return refused(io, globals, status.error)
      const { users, groups, deliveries, oldestUndeliveredMs } = status.data
      if (globals.json) {
        writeJson(io, { directory: printable(data, command.revealToken), users, groups, deliveries, oldestUndeliveredMs })
      } else {
        const rows = describeDirectory(data, providers)
        if (command.revealToken) rows.push(['token', data.scim?.secret ?? '(none)'])
        const pending = deliveries.map((d) => `${d.handler} ${d.pending} pending, ${d.failed} failed`).join('; ')
        io.stdout.write(fields([...rows, ['users', String(users)], ['groups', String(groups)], ['deliveries', pending === '' ? '(no handlers yet)' : pending]]))
      }
      return EXIT.ok
    }
    case 'deactivate':
    case 'activate': {
      const { data, error } = await admin.directories.update(command.id, { deactivated: command.name === 'deactivate' })
      if (error) return refused(io, globals, error)
      if (globals.json) writeJson(io, { directory: printable(data) })
      else if (command.name === 'deactivate') io.stdout.write(`Deactivated directory ${data.id}: its SCIM endpoint answers 403 (servers on this database within 2 s); its users and groups are kept\n`)
      else io.stdout.write(`Activated directory ${data.id}: its SCIM endpoint takes requests again (servers on this database within 2 s)\n`)
      return EXIT.ok
    }
    case 'delete': {
      const { error } = await admin.directories.delete(command.id)
      if (error) return refused(io, globals, error)
      if (globals.json) writeJson(io, { deleted: command.id })
      else io.stdout.write(`Deleted directory ${command.id}, with its users and groups\n`)
      return EXIT.ok
    }
  }
}

/** create and rotate-token: the directory with its token; in text, a last line "ENDPOINT TOKEN". */
function withToken (io: Io, globals: Globals, directory: Directory, headline: string): number {
  const endpoint = directory.scim?.endpoint
  const token = directory.scim?.secret
  if (globals.json) {
    writeJson(io, { directory: printable(directory, true), endpoint: endpoint ?? null, token: token ?? null })
  } else {
    io.stdout.write(`${headline}\n`)
    if (endpoint && token) io.stdout.write(`SCIM endpoint and bearer token, for the identity provider:\n${endpoint} ${token}\n`)
    else io.stdout.write('It is not a SCIM directory: it has no endpoint or token\n')
  }
  return EXIT.ok
}

/** Every directory, page by page. */
async function everyDirectory (admin: DirectoryAdmin, pageLimit: number): Promise<Result<Directory[]>> {
  const all: Directory[] = []
  let pageToken: string | undefined
  for (;;) {
    const page = await admin.directories.getAll({ pageOffset: all.length, pageLimit, ...(pageToken === undefined ? {} : { pageToken }) })
    if (page.error) return page
    all.push(...page.data)
    pageToken = page.pageToken
    if (page.data.length < pageLimit) return { data: all, error: null }
  }
}
