// Telling a database that is unavailable (down, restarting, unreachable, the connection cut) from any
// other failure, on every driver the store uses, so that the failure answers 503 with Retry-After (the
// client tries again) instead of 500, and nothing counts it as a fault of the request or of a handler.
import { DatabaseUnavailableError } from '../errors.js'

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED'])
// PostgreSQL: admin_shutdown, crash_shutdown, cannot_connect_now (starting up or shutting down), and
// class 08 (connection exception).
const POSTGRES_CODES = new Set(['57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006', '08007'])
const MYSQL_CODES = new Set(['PROTOCOL_CONNECTION_LOST', 'ER_CON_COUNT_ERROR', 'ER_SERVER_SHUTDOWN', 'PROTOCOL_SEQUENCE_TIMEOUT'])
// What pg, mysql2 and node-redis say when a connection ends under them or cannot be had in time (also
// inside the message of an error that wraps theirs, as jackson's answers do).
const MESSAGES = /\b(?:ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH)\b|Connection terminated|connection timeout|timeout exceeded when trying to connect|not queryable|Query read timeout|The client is closed|The client is offline|Socket closed unexpectedly|Connection lost|Can't add new command when connection is in closed state|connect ETIMEDOUT|Pool is closed/i

/** Whether `err` says the database cannot be reached now (as opposed to a fault of the statement). */
export function isUnavailable (err: unknown): boolean {
  if (err instanceof DatabaseUnavailableError) return true
  if (err === null || typeof err !== 'object') return false
  const { code, fatal, message, name } = err as { code?: unknown, fatal?: unknown, message?: unknown, name?: unknown }
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || POSTGRES_CODES.has(code) || MYSQL_CODES.has(code))) return true
  if (fatal === true) return true // mysql2: the connection is gone
  if (typeof name === 'string' && ['ClientClosedError', 'ClientOfflineError', 'SocketClosedUnexpectedlyError', 'ConnectionTimeoutError'].includes(name)) return true
  return typeof message === 'string' && MESSAGES.test(message)
}

// What the database says of data it will never take as given: too long for its column, out of range,
// a constraint it breaks. Trying again cannot help (PostgreSQL class 22 and 23, MySQL's messages).
const REJECTED_DATA = /Data too long|value too long|out of range|violates .* constraint|Duplicate entry|Incorrect string value|invalid byte sequence|\b(ER_DATA_TOO_LONG|ER_DUP_ENTRY|ER_TRUNCATED_WRONG_VALUE)\b/i

/** Whether the database refused `err`'s data for good (so that retrying is pointless). */
export function isRejectedData (err: unknown): boolean {
  if (err === null || typeof err !== 'object' || isUnavailable(err)) return false
  const { code, message } = err as { code?: unknown, message?: unknown }
  if (typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code)) return true
  return typeof message === 'string' && REJECTED_DATA.test(message)
}

/** `err` as a DatabaseUnavailableError when the database is unavailable; as it is otherwise. */
export function asUnavailable (err: unknown): unknown {
  if (err instanceof DatabaseUnavailableError || !isUnavailable(err)) return err
  const detail = err instanceof Error ? err.message : String(err)
  return Object.assign(new DatabaseUnavailableError(detail), { cause: err })
}

/**
 * `target` with every method's rejection passed through asUnavailable (a store whose driver is not
 * wrapped statement by statement, as the SQL client is). Async iterators are wrapped too.
 */
export function reportingUnavailable<T extends object> (target: T): T {
  return new Proxy(target, {
    get (object, property, receiver) {
      const value = Reflect.get(object, property, receiver)
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => {
        const result = value.apply(object, args)
        if (result instanceof Promise) return result.catch((err: unknown) => { throw asUnavailable(err) })
        if (result !== null && typeof result === 'object' && Symbol.asyncIterator in result) return guardIterator(result as AsyncIterable<unknown>)
        return result
      }
    }
  })
}

async function * guardIterator<V> (iterable: AsyncIterable<V>): AsyncIterable<V> {
  try {
    yield * iterable
  } catch (err) {
    throw asUnavailable(err)
  }
}
