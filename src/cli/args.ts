// The command line as typed: which command, its options, and the global options (each also from an
// environment variable). Anything wrong here is a usage error (exit code 2), found before a database is opened.
import { parseArgs } from 'node:util'

export class UsageError extends Error {}

export interface Globals {
  /** --db / DSYNC_DB, as given (db.ts reads it). */
  db: string | undefined
  externalUrl: string | undefined
  scimPath: string | undefined
  encryptionKey: string | undefined
  connectTimeout: number | undefined
  json: boolean
}

export type Command =
  | { name: 'help' }
  | { name: 'providers' }
  | { name: 'migrate' }
  | { name: 'create', tenant: string, product: string, type: string | undefined, directoryName: string | undefined, webhookUrl: string | undefined, webhookSecret: string | undefined }
  | { name: 'list', tenant: string | undefined, product: string | undefined }
  | { name: 'show', id: string, revealToken: boolean }
  | { name: 'deactivate' | 'activate' | 'delete' | 'rotate-token', id: string }

export interface Invocation {
  command: Command
  globals: Globals
}

export type Env = Record<string, string | undefined>

const options = {
  db: { type: 'string' },
  'external-url': { type: 'string' },
  'scim-path': { type: 'string' },
  'encryption-key': { type: 'string' },
  'connect-timeout': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  tenant: { type: 'string' },
  product: { type: 'string' },
  type: { type: 'string' },
  name: { type: 'string' },
  'webhook-url': { type: 'string' },
  'webhook-secret': { type: 'string' },
  'reveal-token': { type: 'boolean' }
} as const

type OptionName = keyof typeof options

const globalOptions: OptionName[] = ['db', 'external-url', 'scim-path', 'encryption-key', 'connect-timeout', 'json', 'help']

// The options each command takes besides the global ones.
const commandOptions: Record<string, OptionName[]> = {
  'directories create': ['tenant', 'product', 'type', 'name', 'webhook-url', 'webhook-secret'],
  'directories list': ['tenant', 'product'],
  'directories show': ['reveal-token'],
  'directories deactivate': [],
  'directories activate': [],
  'directories delete': [],
  'directories rotate-token': [],
  migrate: [],
  providers: [],
  help: []
}

export function parse (argv: string[], env: Env): Invocation {
  let parsed
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true })
  } catch (err) {
    // node's messages name the option ("Unknown option '--x'", "Option '--db <value>' argument missing").
    throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/s, ''))
  }
  const { values, positionals } = parsed
  const globals = readGlobals(values, env)
  if (values.help === true || positionals[0] === 'help') return { command: { name: 'help' }, globals }
  if (positionals.length === 0) throw new UsageError('a command is required')

  const [group, sub, ...rest] = positionals
  const key = group === 'directories' ? `directories ${sub ?? ''}`.trim() : group
  if (commandOptions[key] === undefined) {
    if (group === 'directories') throw new UsageError(sub === undefined ? 'directories: a subcommand is required (create, list, show, deactivate, activate, delete, rotate-token)' : `unknown command "directories ${sub}"`)
    throw new UsageError(`unknown command "${group}"`)
  }
  const allowed = new Set([...globalOptions, ...commandOptions[key]])
  for (const name of Object.keys(values) as OptionName[]) {
    if (!allowed.has(name)) throw new UsageError(`${key} does not take --${name}`)
  }
  const operands = group === 'directories' ? rest : [sub, ...rest].filter((p) => p !== undefined)
  const takesId = ['directories show', 'directories deactivate', 'directories activate', 'directories delete', 'directories rotate-token'].includes(key)
  if (takesId && operands.length !== 1) throw new UsageError(`${key}: ${operands.length === 0 ? 'the directory id is required' : `one directory id, got ${operands.length} arguments`}`)
  if (!takesId && operands.length > 0) throw new UsageError(`${key}: unexpected argument "${operands[0]}"`)

  switch (key) {
    case 'directories create': {
      if (values.tenant === undefined || values.tenant === '') throw new UsageError('directories create: --tenant is required')
      if (values.product === undefined || values.product === '') throw new UsageError('directories create: --product is required')
      if ((values['webhook-url'] === undefined) !== (values['webhook-secret'] === undefined)) {
        throw new UsageError('directories create: --webhook-url and --webhook-secret go together')
      }
      return {
        command: { name: 'create', tenant: values.tenant, product: values.product, type: values.type, directoryName: values.name, webhookUrl: values['webhook-url'], webhookSecret: values['webhook-secret'] },
        globals
      }
    }
    case 'directories list':
      if ((values.tenant === undefined) !== (values.product === undefined)) throw new UsageError('directories list: --tenant and --product go together')
      return { command: { name: 'list', tenant: values.tenant, product: values.product }, globals }
    case 'directories show':
      return { command: { name: 'show', id: operands[0]!, revealToken: values['reveal-token'] === true }, globals }
    case 'directories deactivate':
    case 'directories activate':
    case 'directories delete':
    case 'directories rotate-token':
      return { command: { name: sub as 'deactivate' | 'activate' | 'delete' | 'rotate-token', id: operands[0]! }, globals }
    case 'migrate':
      return { command: { name: 'migrate' }, globals }
    default:
      return { command: { name: 'providers' }, globals }
  }
}

// An empty environment variable counts as unset; an option given on the command line wins.
function readGlobals (values: Partial<Record<OptionName, string | boolean>>, env: Env): Globals {
  const pick = (option: OptionName, variable: string): string | undefined => {
    const given = values[option]
    if (typeof given === 'string') return given
    const fromEnv = env[variable]
    return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv
  }
  const timeout = pick('connect-timeout', 'DSYNC_CONNECT_TIMEOUT')
  if (timeout !== undefined && !/^[1-9][0-9]*$/.test(timeout)) throw new UsageError(`--connect-timeout: expected a positive number of milliseconds, got "${timeout}"`)
  return {
    db: pick('db', 'DSYNC_DB'),
    externalUrl: pick('external-url', 'DSYNC_EXTERNAL_URL'),
    scimPath: pick('scim-path', 'DSYNC_SCIM_PATH'),
    encryptionKey: pick('encryption-key', 'DSYNC_ENCRYPTION_KEY'),
    connectTimeout: timeout === undefined ? undefined : Number(timeout),
    json: values.json === true
  }
}
