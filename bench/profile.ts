// CPU profile of one contender during one scenario, for the closing note's evidence:
//   npx tsx bench/profile.ts getUser [--engine sqlite|postgres] [--contender plugin|encrypted|express|inprocess] [--users 2000] [--seconds 10] [--requests 2000] [--readers 1000]
// It seeds a directory through the contender's own API (an initial sync: --users users, one group per 50),
// profiles only the scenario run, writes the .cpuprofile under bench/out/profiles (open it in Chrome
// DevTools), and prints the top self-time functions and areas.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { httpInspector, runCompiled, startContender, type ContenderName } from './child.js'
import { compileServers } from './compile.js'
import { formatRows, summarise, type CpuProfile } from './cpuprofile.js'
import { prepare, sqliteFolder, type Engine } from './databases.js'
import { httpRunner } from './http-runner.js'
import { jacksonStoreInspector } from './jackson-store.js'
import { Pools } from './pools.js'
import { INSPECT } from './protocol.js'
import { runScenario, type Outcome, type RunData, type ScenarioName } from './scenarios.js'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    engine: { type: 'string', default: 'sqlite' },
    contender: { type: 'string', default: 'plugin' },
    seconds: { type: 'string', default: '10' },
    users: { type: 'string', default: '2000' },
    requests: { type: 'string', default: '2000' },
    readers: { type: 'string', default: '1000' }
  }
})
const scenario = (positionals[0] ?? 'getUser') as ScenarioName
const engine = values.engine as Engine
const name = values.contender as ContenderName

runCompiled(compileServers())
const folder = sqliteFolder()
const dbs = await prepare(engine, folder)
if (typeof dbs === 'string') throw new Error(dbs)
const db = name === 'plugin' ? dbs.plugin : name === 'encrypted' ? dbs.encrypted : dbs.jackson
const child = await startContender(name, { db })
try {
  const inspector = name === 'plugin' || name === 'encrypted' ? httpInspector(child.origin) : jacksonStoreInspector(db)
  const execute = (data: RunData): Promise<Outcome> => name === 'inprocess'
    ? child.run(data)
    : runScenario(data, httpRunner(child.ready.base, child.ready.token), inspector)
  const users = Number(values.users)
  const seeded = await execute({ scenario: 'initialSync', connections: 8, prefix: 'seed', count: users, groups: Math.ceil(users / 50), groupSize: 50 })
  process.stderr.write(`seeded: ${seeded.load.rps.toFixed(0)} req/s in ${seeded.load.seconds.toFixed(1)} s, ${seeded.stored}\n`)
  const pools = new Pools(await inspector.sample(users, Math.ceil(users / 25)))
  const requests = Number(values.requests)
  const data: RunData = { scenario, prefix: 'prof', connections: 8 }
  if (scenario === 'getUser' || scenario === 'filterUser') Object.assign(data, { connections: 16, seconds: Number(values.seconds), users: pools.readers(Number(values.readers)) })
  if (scenario === 'createUser') data.count = requests
  if (scenario === 'deactivate') data.ids = pools.toDeactivate(requests)
  if (scenario === 'membership') data.changes = pools.membershipChanges(requests)

  const control = (what: 'start' | 'stop') => fetch(`${child.origin}${INSPECT}/profile/${what}`, { method: 'POST' }).then((r) => r.json())
  await control('start')
  const outcome = await execute(data)
  const profile = await control('stop') as CpuProfile

  const out = fileURLToPath(new URL('./out/profiles/', import.meta.url))
  mkdirSync(out, { recursive: true })
  const file = join(out, `${name}-${engine}-${scenario}.cpuprofile`)
  writeFileSync(file, JSON.stringify(profile))
  const { totalMs, functions, areas } = summarise(profile, 25)
  const served = outcome.served / outcome.load.seconds
  process.stdout.write([
    `${name} on ${engine}, ${scenario}: ${served.toFixed(0)} served req/s, p50 ${outcome.load.p50.toFixed(2)} ms, p99 ${outcome.load.p99.toFixed(2)} ms`,
    `profile: ${file} (${(totalMs / 1000).toFixed(1)} s sampled)`, '',
    'self time by area:', formatRows(areas), '',
    'top functions by self time:', formatRows(functions), ''
  ].join('\n'))
} finally {
  await child.stop()
  rmSync(folder, { recursive: true, force: true })
}
