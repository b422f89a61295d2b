// npm run migrate -- [--db '<the plugin's db option as JSON>']
// Brings a database up to date for the plugin, for hosts that register it with db.manualMigration:
// jackson's tables (jackson creates and updates them itself, with typeorm's synchronize, when
// manualMigration is off: that is what runs here) and the plugin's versioned migrations. Without --db,
// the example server's sqlite file. (This moves into the package's CLI when it has one.)
import { acquireDatabase } from '../src/engine/database.js'
import { migrate } from '../src/store/index.js'
import type { DbOptions } from '../src/index.js'
import { pluginOptions } from '../examples/config.js'

const at = process.argv.indexOf('--db')
const db: DbOptions = at >= 0 ? JSON.parse(process.argv[at + 1] ?? '') : pluginOptions().db
const write = (level: string) => (...args: unknown[]) => {
  const message = args.find((a) => typeof a === 'string')
  process.stderr.write(`${level}: ${message ?? JSON.stringify(args[0])}\n`)
}
const quiet = () => {}
const logger: any = { fatal: write('fatal'), error: write('error'), warn: write('warn'), info: quiet, debug: quiet, trace: quiet, silent: quiet, level: 'warn' }
logger.child = () => logger

try {
  const lease = await acquireDatabase({ ...db, manualMigration: false } as DbOptions, logger, 10_000)
  await lease.release()
  process.stdout.write('jackson\'s tables: up to date\n')
  const applied = await migrate(db, { warn: (_obj, msg) => process.stderr.write(`warn: ${msg}\n`) })
  process.stdout.write(applied.length === 0
    ? 'the plugin\'s migrations: up to date\n'
    : `the plugin's migrations applied: ${applied.map((m) => `${m.version} (${m.name})`).join(', ')}\n`)
  process.exit(0)
} catch (err) {
  process.stderr.write(`migrate failed: ${(err as Error).message}\n`)
  process.exit(1)
}
