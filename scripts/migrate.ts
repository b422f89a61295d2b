// npm run migrate -- [--db '<the plugin's db option as JSON, or a database URL>'] [--encryption-key KEY]
// Brings a database up to date for the plugin, for hosts that register it with db.manualMigration:
// jackson's tables (jackson creates and updates them itself, with typeorm's synchronize, when
// manualMigration is off: that is what runs here) and the plugin's versioned migrations, with the
// rewrite under a new encryption key. It is the command line's `migrate` (fastify-directory-sync
// migrate --db …); without --db, on the example server's sqlite file.
import { main } from '../src/cli/index.js'
import { pluginOptions } from '../examples/config.js'

const args = process.argv.slice(2)
const db = args.some((arg) => arg === '--db' || arg.startsWith('--db=')) || process.env.DSYNC_DB ? [] : ['--db', JSON.stringify(pluginOptions().db)]
process.exitCode = await main(['migrate', ...args, ...db], { stdout: process.stdout, stderr: process.stderr, env: process.env })
