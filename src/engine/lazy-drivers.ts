// jackson's dist/db/db.js requires, when it loads, the driver of every database it supports: MongoDB,
// DynamoDB (the AWS SDK) and its Redis client, about 770 modules and a third of a second, whatever engine
// is configured. The plugin never gives jackson MongoDB or DynamoDB, and gives it Redis only on the
// redis engine. So while db.js loads (jackson.ts imports this module just before it, and calls
// stopDeferring() just after), its require() of those three answers a stand-in whose `default.new()`
// loads the real driver then, on first use. Nothing else is deferred; every other require is untouched.
// test/engine/jackson-pinned.test.ts pins the requires this relies on.
import Module from 'node:module'

type Load = (request: string, parent: { filename?: string } | undefined, isMain: boolean) => unknown

/** db.js's requires that are deferred, by the name it requires them with. */
export const DEFERRED_DRIVERS: readonly string[] = ['./mongo', './dynamoDb', './redis']
const DB_MODULE = /[\\/]@boxyhq[\\/]saml-jackson[\\/]dist[\\/]db[\\/]db\.js$/

const loader = Module as unknown as { _load: Load }
const previous = loader._load
const deferring: Load = function (this: unknown, request, parent, isMain) {
  if (parent?.filename !== undefined && DB_MODULE.test(parent.filename) && DEFERRED_DRIVERS.includes(request)) {
    const load = () => previous.call(this, request, parent, isMain) as { default: { new: (...args: unknown[]) => unknown } }
    return { __esModule: true, default: { new: (...args: unknown[]) => load().default.new(...args) } }
  }
  return previous.call(this, request, parent, isMain)
}
loader._load = deferring

/** Puts the loader back as it was (unless something replaced it since, which is then left alone). */
export function stopDeferring (): void {
  if (loader._load === deferring) loader._load = previous
}
