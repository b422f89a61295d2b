// jackson's dist/db/db.js requires, when it loads, the driver of every database it supports: MongoDB,
// DynamoDB (the AWS SDK) and its Redis client, about 770 modules and a third of a second, whatever engine
// is configured. The plugin never gives jackson MongoDB or DynamoDB, and gives it Redis only on the
// redis engine. So while db.js loads (jackson.ts imports this module just before it, and calls
// stopDeferring() just after), its require() of those three answers a stand-in whose `default.new()`
// loads the real driver then, on first use. Likewise jackson's directory sync requires its Google
// Workspace provider (@googleapis/admin, google-auth-library), which the plugin refuses (a Google
// directory is not SCIM): its stand-in builds the real provider when one of its objects is first used.
// Its SQL driver (typeorm, 374 modules) and the typeorm entities it requires are deferred the same way:
// the plugin gives jackson a driver of its own (jackson-driver.ts) and builds jackson's only to have
// typeorm create or update jackson's tables (database.ts), once per jackson version and database.
// And three libraries that modules the plugin loads require at load but use only inside calls (DEFERRED_MODULES):
// SAML's (@boxyhq/saml20, for an error check in controller/utils.js), axios (jackson's own webhooks,
// which the plugin sends itself) and the OpenTelemetry exporters and SDK (@boxyhq/metrics' initializeMetrics,
// which only jackson's controllers() calls): each is a stand-in that loads the real module on first use.
// One is replaced rather than deferred: jackson digests every key of its store with the ripemd160 package
// (a JavaScript RIPEMD-160 over hash-base, readable-stream and typed-array helpers, 30 ms to load),
// which node:crypto computes natively with the same result (RIPEMD160_MODULE).
// Nothing else is deferred; every other require is untouched.
// test/engine/lazy-drivers.test.ts pins the requires this relies on.
import { createHash, type Hash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import Module from 'node:module'

type Load = (request: string, parent: { filename?: string } | undefined, isMain: boolean) => unknown

/** db.js's requires that are deferred, by the name it requires them with. */
export const DEFERRED_DRIVERS: readonly string[] = ['./mongo', './dynamoDb', './redis', './sql/sql']
/**
 * db.js's requires of jackson's typeorm entities (each module requires typeorm for its decorators): used
 * only when jackson's own SQL driver is built, which the plugin does only to synchronise jackson's
 * tables (jackson-driver.ts).
 */
export const DEFERRED_ENTITIES: readonly string[] = ['sql/entity', 'planetscale/entity', 'sql/mssql/entity', 'sql/sqlite/entity', 'sql/mariadb/entity']
  .flatMap((folder) => ['JacksonStore', 'JacksonIndex', 'JacksonTTL'].map((name) => `./${folder}/${name}`))
const DB_MODULE = /[\\/]@boxyhq[\\/]saml-jackson[\\/]dist[\\/]db[\\/]db\.js$/

// Where db.js was loaded from (its file name as the loader saw it): jacksonVersion() reads the package's.
let dbFile: string | undefined

/** The version of the @boxyhq/saml-jackson whose db.js was loaded, or null where it was not seen loading. */
export function jacksonVersion (): string | null {
  if (dbFile === undefined) return null
  try {
    const version: unknown = JSON.parse(readFileSync(join(dirname(dbFile), '..', '..', 'package.json'), 'utf8')).version
    return typeof version === 'string' ? version : null
  } catch {
    return null
  }
}

/** The directory-sync modules that require the Google provider, and how they name it. */
export const DEFERRED_GOOGLE: ReadonlyArray<{ parent: string, request: string }> = [
  { parent: 'dist/directory-sync/index.js', request: './non-scim/google' },
  { parent: 'dist/directory-sync/non-scim/index.js', request: './google' }
]

/**
 * Requires used only inside calls, by the file (under node_modules) that makes them: `esModule` is what
 * the real module says of itself, answered without loading it (TypeScript's __importDefault reads it).
 */
export const DEFERRED_MODULES: ReadonlyArray<{ parent: string, request: string, esModule: boolean }> = [
  { parent: '@boxyhq/saml-jackson/dist/controller/utils.js', request: '@boxyhq/saml20', esModule: true },
  { parent: '@boxyhq/saml-jackson/dist/event/axios.js', request: 'axios', esModule: false },
  ...['@opentelemetry/exporter-metrics-otlp-http', '@opentelemetry/exporter-metrics-otlp-grpc', '@opentelemetry/sdk-metrics', '@opentelemetry/resources', '@opentelemetry/semantic-conventions']
    .map((request) => ({ parent: '@boxyhq/metrics/dist/init.js', request, esModule: true }))
]

// A module that is loaded on the first use of one of its properties (or of itself as a function).
function onFirstLoad (load: () => object, esModule: boolean): object {
  let real: object | undefined
  const target = () => (real ??= load())
  return new Proxy(function standIn () {}, {
    get: (_, property) => property === '__esModule' ? (esModule ? true : undefined) : Reflect.get(target(), property),
    has: (_, property) => Reflect.has(target(), property),
    apply: (_, self, args) => Reflect.apply(target() as (...a: unknown[]) => unknown, self, args),
    construct: (_, args) => Reflect.construct(target() as new (...a: unknown[]) => object, args)
  })
}

// Whether `parent` (a module's file name) is `file`, a path under node_modules.
const requiredBy = (parent: string, file: string) => parent.replace(/\\/g, '/').endsWith(`/node_modules/${file}`)

/** Where jackson requires ripemd160 (its keyDigest: `new RIPEMD160().update(k).digest('hex')`). */
export const RIPEMD160_MODULE = { parent: '@boxyhq/saml-jackson/dist/db/utils.js', request: 'ripemd160' }

/** The ripemd160 package's interface, on node:crypto. */
export class NativeRipemd160 {
  private readonly hash: Hash = createHash('ripemd160')
  update (data: string | Buffer): this {
    this.hash.update(data)
    return this
  }

  digest (encoding?: 'hex' | 'base64'): string | Buffer {
    return encoding === undefined ? this.hash.digest() : this.hash.digest(encoding)
  }
}

const isRipemd160 = (request: string, parent: string) =>
  request === RIPEMD160_MODULE.request && requiredBy(parent, RIPEMD160_MODULE.parent)

const deferredModule = (request: string, parent: string) =>
  DEFERRED_MODULES.find((d) => d.request === request && requiredBy(parent, d.parent))

type GoogleModule = { newGoogleProvider: (params: unknown) => Record<string, object> }

// An object that stands for `target()`'s, built on first use: every property read goes to the real one.
function onFirstUse (target: () => object): object {
  return new Proxy({}, {
    get (_, property) {
      const real = target()
      const value = Reflect.get(real, property, real)
      return typeof value === 'function' ? value.bind(real) : value
    },
    has: (_, property) => Reflect.has(target(), property)
  })
}

function googleStandIn (load: () => GoogleModule): GoogleModule {
  return {
    newGoogleProvider (params) {
      let provider: Record<string, object> | undefined
      const real = () => (provider ??= load().newGoogleProvider(params))
      return { directory: onFirstUse(() => real().directory), oauth: onFirstUse(() => real().oauth) }
    }
  }
}

const isGoogle = (request: string, parent: string) =>
  DEFERRED_GOOGLE.some((g) => g.request === request && requiredBy(parent, `@boxyhq/saml-jackson/${g.parent}`))

const loader = Module as unknown as { _load: Load }
const previous = loader._load
const deferring: Load = function (this: unknown, request, parent, isMain) {
  if (parent?.filename !== undefined && DB_MODULE.test(parent.filename)) {
    dbFile = parent.filename
    if (DEFERRED_DRIVERS.includes(request)) {
      const load = () => previous.call(this, request, parent, isMain) as { default: { new: (...args: unknown[]) => unknown } }
      return { __esModule: true, default: { new: (...args: unknown[]) => load().default.new(...args) } }
    }
    if (DEFERRED_ENTITIES.includes(request)) return onFirstLoad(() => previous.call(this, request, parent, isMain) as object, true)
  }
  if (parent?.filename !== undefined && isGoogle(request, parent.filename)) {
    return googleStandIn(() => previous.call(this, request, parent, isMain) as GoogleModule)
  }
  if (parent?.filename !== undefined && isRipemd160(request, parent.filename)) return { __esModule: true, default: NativeRipemd160 }
  const deferred = parent?.filename === undefined ? undefined : deferredModule(request, parent.filename)
  if (deferred !== undefined) return onFirstLoad(() => previous.call(this, request, parent, isMain) as object, deferred.esModule)
  return previous.call(this, request, parent, isMain)
}
loader._load = deferring

/** Puts the loader back as it was (unless something replaced it since, which is then left alone). */
export function stopDeferring (): void {
  if (loader._load === deferring) loader._load = previous
}
