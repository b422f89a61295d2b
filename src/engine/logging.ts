// Where jackson's and typeorm's messages go: to a child of the Fastify logger, never to the console, and
// never with a secret in them (jackson logs strings, so redaction works on text, not on object paths).
import { format } from 'node:util'
import type { FastifyBaseLogger } from 'fastify'
import type { JacksonLogger } from './jackson.js'

const patterns: Array<[RegExp, string]> = [
  // a whole Authorization header value, whatever its scheme
  [/(authorization["']?\s*[:=]\s*["']?)[^"'\n,}]+/gi, '$1[redacted]'],
  // credentials inside connection URLs: scheme://user:password@host
  [/([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s@/]+@/gi, '$1[redacted]@'],
  // Authorization header values and bearer tokens
  [/\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 [redacted]'],
  // "secret": "...", secret=..., apiSecret: ..., password, token, encryptionKey
  [/((?:secret|password|token|encryptionkey)[a-z_]*["']?\s*[:=]\s*["']?)[^"'\s,}&]+/gi, '$1[redacted]']
]

export function redact (text: string): string {
  let out = text
  for (const [pattern, replacement] of patterns) out = out.replace(pattern, replacement)
  return out
}

function render (args: unknown[]): string {
  return redact(format(...args.map((a) => (a instanceof Error ? a.message : a))))
}

// jackson reports every event of a directory without a webhook as an error; for a host that takes events
// through its own handler that is the normal case, not a fault.
const routine = /^Webhook not configured for directory /

export function jacksonLogger (log: FastifyBaseLogger): JacksonLogger {
  return {
    info: (...args) => log.info(render(args)),
    warn: (...args) => log.warn(render(args)),
    error: (...args) => {
      const message = render(args)
      if (routine.test(message)) log.debug(message)
      else log.error(message)
    }
  }
}

/**
 * Stands in for typeorm's console logger (jackson enables `logging: ['error']`, which prints failed
 * queries with their parameters, i.e. stored records, straight to the console). Parameters are dropped.
 */
export function typeormLogger (log: FastifyBaseLogger) {
  return {
    logQuery () {},
    logQuerySlow () {},
    logSchemaBuild () {},
    logMigration () {},
    logQueryError (error: unknown, query: string) {
      log.error({ query: redact(String(query)) }, render(['query failed: %s', error]))
    },
    log (level: 'log' | 'info' | 'warn', message: unknown) {
      if (level === 'warn') log.warn(render([message]))
      else log.debug(render([message]))
    }
  }
}
