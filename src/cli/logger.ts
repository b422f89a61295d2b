// The command line's logger, as openDirectoryAdmin takes one (FastifyBaseLogger's methods and child()):
// warnings and errors to stderr, one line each; nothing below that. jackson's messages arrive redacted
// already (engine/logging.ts); everything is redacted again here, as this is a terminal.
import { format } from 'node:util'
import type { FastifyBaseLogger } from 'fastify'
import { redact } from '../engine/logging.js'

export interface TextSink { write(text: string): unknown }

function render (args: unknown[]): string {
  const [first, ...rest] = args
  if (typeof first === 'string') return format(first, ...rest)
  if (first instanceof Error) return rest.length > 0 ? `${format(...rest)}: ${first.message}` : first.message
  // pino's (object, message, ...args): the message, and an error the object carries.
  const object = (first ?? {}) as { err?: unknown, msg?: unknown }
  const message = rest.length > 0 ? format(...rest) : typeof object.msg === 'string' ? object.msg : JSON.stringify(first)
  return object.err instanceof Error ? `${message}: ${object.err.message}` : message
}

export function stderrLogger (stderr: TextSink, bindings: Record<string, unknown> = {}): FastifyBaseLogger {
  const component = typeof bindings.component === 'string' ? ` (${bindings.component})` : ''
  const write = (level: string) => (...args: unknown[]) => { stderr.write(`${level}${component}: ${redact(render(args))}\n`) }
  const quiet = () => {}
  return {
    level: 'warn',
    fatal: write('fatal'),
    error: write('error'),
    warn: write('warning'),
    info: quiet,
    debug: quiet,
    trace: quiet,
    silent: quiet,
    child: (more: Record<string, unknown>) => stderrLogger(stderr, { ...bindings, ...more })
  } as FastifyBaseLogger
}
