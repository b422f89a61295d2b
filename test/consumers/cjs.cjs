// A CommonJS consumer of the built package (resolved through package.json "exports", by the package's own name).
const Fastify = require('fastify')
const pkg = require('fastify-directory-sync')

if (pkg.default !== pkg.fastifyDirectorySync) throw new Error('default and named exports differ')
async function main () {
  const app = Fastify()
  await app.register(pkg.default, { db: { engine: 'mem' }, externalUrl: 'http://127.0.0.1' })
  const { data, error } = await app.directorySync.directories.create({ tenant: 'cjs', product: 'app' })
  if (error || !data.scim.endpoint) throw new Error('directory not created: ' + JSON.stringify(error))
  await app.close()
  console.log('cjs consumer: ok')
}
main().catch((err) => { console.error(err); process.exit(1) })
