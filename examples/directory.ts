// Creates and lists directories on the example's database, from the shell: the package's command line
// (src/cli, `fastify-directory-sync directories …`) with the example's database, external URL and SCIM path.
//   npm run directory -- create --tenant acme [--product demo-app] [--type generic-scim-v2] [--name "Acme"]
//                               [--webhook-url URL --webhook-secret SECRET]
//   npm run directory -- list | show <id> | deactivate <id> | activate <id> | delete <id> | rotate-token <id>  [--json]
// `create` prints the new directory's SCIM base URL and token on its last line, "BASE_URL TOKEN", which is
// what the conformance runner's NEWDIR_CMD reads. It works while the example server runs (same sqlite file).
import { main } from '../src/cli/index.js'
import { pluginOptions } from './config.js'

const options = pluginOptions()
const args = process.argv.slice(2)
// The example's product, unless another is given.
const product = args[0] === 'create' && !args.some((arg) => arg === '--product' || arg.startsWith('--product=')) ? ['--product', 'demo-app'] : []
const code = await main(
  ['directories', ...args, ...product, '--db', JSON.stringify(options.db), '--external-url', options.externalUrl, '--scim-path', options.scimPath ?? '/api/scim/v2.0'],
  { stdout: process.stdout, stderr: process.stderr, env: process.env }
)
process.exitCode = code
