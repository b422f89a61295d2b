// Creates and lists directories on the example's database, from the shell:
//   npm run directory -- create --tenant acme [--product demo-app] [--type generic-scim-v2] [--name "Acme"]
//                               [--webhook-url URL --webhook-secret SECRET]
//   npm run directory -- list
// `create` prints the new directory's SCIM base URL and token on its last line, "BASE_URL TOKEN", which is
// what the conformance runner's NEWDIR_CMD reads. It works while the example server runs (same sqlite file).
import { parseArgs } from 'node:util'
import Fastify from 'fastify'
import fastifyDirectorySync, { type DirectoryType } from '../src/index.js'
import { pluginOptions } from './config.js'

const usage = 'usage: npm run directory -- create --tenant <tenant> [--product <product>] [--type <type>] [--name <name>] [--webhook-url <url> --webhook-secret <secret>]\n' +
  '       npm run directory -- list'

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    tenant: { type: 'string' },
    product: { type: 'string', default: 'demo-app' },
    type: { type: 'string', default: 'generic-scim-v2' },
    name: { type: 'string' },
    'webhook-url': { type: 'string' },
    'webhook-secret': { type: 'string' }
  }
})

const fail = (message: string): never => {
  process.stderr.write(`${message}\n${usage}\n`)
  process.exit(2)
}

const command = positionals[0]
if (command !== 'create' && command !== 'list') fail(`unknown command ${JSON.stringify(command ?? '')}`)

const app = Fastify({ logger: { level: 'warn' } })
await app.register(fastifyDirectorySync, pluginOptions())
await app.ready()
try {
  if (command === 'list') {
    const { data, error } = await app.directorySync.directories.getAll()
    if (error) fail(error.message)
    for (const d of data ?? []) process.stdout.write(`${d.id}  ${d.type}  tenant=${d.tenant} product=${d.product}  ${d.scim.endpoint ?? ''}\n`)
  } else {
    const providers = app.directorySync.providers()
    if (values.tenant === undefined) fail('--tenant is required')
    if (!(values.type! in providers)) fail(`--type must be one of: ${Object.keys(providers).join(', ')}`)
    const { data, error } = await app.directorySync.directories.create({
      tenant: values.tenant!,
      product: values.product!,
      type: values.type as DirectoryType,
      name: values.name ?? `${values.tenant} (${values.type})`,
      webhook_url: values['webhook-url'],
      webhook_secret: values['webhook-secret']
    })
    if (error) fail(`could not create the directory: ${error.message}`)
    process.stdout.write(`Created directory ${data!.id} (tenant "${data!.tenant}", product "${data!.product}", ${data!.type})\n`)
    process.stdout.write(`${data!.scim.endpoint} ${data!.scim.secret}\n`)
  }
} finally {
  await app.close()
}
