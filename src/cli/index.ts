#!/usr/bin/env node
// The command line, `fastify-directory-sync` (see usage.ts). `main(argv, io)` answers the exit code and
// never exits the process, so that tests and examples/directory.ts call it in-process; run as a program
// (the package's bin), this file runs it on process.argv and exits with that code.
import { realpathSync } from 'node:fs'
import { parse, UsageError } from './args.js'
import { execute, EXIT } from './commands.js'
import type { Io } from './output.js'
import { usage } from './usage.js'

export type { Io } from './output.js'
export { EXIT } from './commands.js'

export async function main (argv: string[], io: Io): Promise<number> {
  try {
    const { command, globals } = parse(argv, io.env)
    if (command.name === 'help') {
      io.stdout.write(usage)
      return EXIT.ok
    }
    return await execute(command, globals, io)
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    io.stderr.write(`fastify-directory-sync: ${err.message}\n(fastify-directory-sync --help for usage)\n`)
    return EXIT.usage
  }
}

// Run as a program: node dist/esm/cli/index.js, the bin's link to it, node --import tsx src/cli/index.ts.
// (Compared by path rather than import.meta, which the CommonJS build does not have.)
function invokedDirectly (): boolean {
  const script = process.argv[1]
  if (script === undefined) return false
  try {
    return /[\\/]cli[\\/]index\.[cm]?[jt]s$/.test(realpathSync(script))
  } catch {
    return false
  }
}

if (invokedDirectly()) {
  main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
    (code) => exitAfterOutput(code),
    (err) => {
      process.stderr.write(`fastify-directory-sync: ${(err as Error)?.stack ?? String(err)}\n`)
      exitAfterOutput(EXIT.failed)
    }
  )
}

// Exits once what was written has been handed to the OS (a pipe may be asynchronous), rather than
// waiting on a handle a driver may have left open.
function exitAfterOutput (code: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)))
}
