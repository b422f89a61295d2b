// One engine's section: starts the contenders, runs the initial sync (which also seeds the data every
// later scenario reads and changes), then each scenario with the contenders alternated in a palindrome
// (plugin, Express, the references, Express, plugin) so that drift during the section cancels out.
import { httpInspector, startContender, type Child, type ContenderName } from './child.js'
import type { Config } from './config.js'
import { autovacuum, copyForInProcess, emulateAutovacuum, vacuumAnalyze, type Databases, type Engine } from './databases.js'
import { httpRunner } from './http-runner.js'
import { jacksonStoreInspector } from './jackson-store.js'
import { Pools } from './pools.js'
import type { Inspector } from './protocol.js'
import { READS, runScenario, WRITES, type Outcome, type RunData, type ScenarioName } from './scenarios.js'
import { summarise, type EngineResult, type ScenarioResult } from './results.js'

export type Log = (line: string) => void

export interface Section {
  result: EngineResult
  /** Still running: the soak and the cold start use it. */
  plugin: Child
  pluginPools: Pools
  stop (): Promise<void>
}

const READ_ORDER: ContenderName[] = ['plugin', 'express', 'inprocess', 'bare', 'express', 'plugin']
const WRITE_ORDER: ContenderName[] = ['plugin', 'express', 'inprocess', 'express', 'plugin']
// The scenarios with an encrypted variant (the plugin with db.encryptionKey, on a database of its own,
// compared with the plugin without it): a read and two writes, to keep the full run within 15 minutes.
export const ENCRYPTED: readonly ScenarioName[] = ['getUser', 'createUser', 'deactivate']
// Next to the plugin's runs, inside the palindrome.
const withEncrypted = (order: ContenderName[]): ContenderName[] => [order[0], 'encrypted', ...order.slice(1, -1), 'encrypted', order[order.length - 1]]

export async function runSection (engine: Engine, dbs: Databases, config: Config, log: Log): Promise<Section> {
  log(`${engine}: starting the contenders`)
  const children: Partial<Record<ContenderName, Child>> = {}
  const stop = () => Promise.all(Object.values(children).map((c) => c.stop())).then(() => {})
  // The plugin can be asked for a full collection (the soak tells garbage from memory kept).
  const start = async (name: ContenderName, db?: unknown) => {
    children[name] = await startContender(name, { db, nodeArgs: name === 'plugin' ? ['--expose-gc'] : [] })
  }
  try {
    await Promise.all([start('plugin', dbs.plugin), start('encrypted', dbs.encrypted), start('express', dbs.jackson), start('bare')])
  } catch (err) {
    await stop()
    throw err
  }
  const child = (name: ContenderName) => children[name]!
  const notes: string[] = []
  let stopAutovacuum = async () => {}
  if (await autovacuum(dbs) === false) {
    notes.push('autovacuum is off on this server: the bench stands in for it with VACUUM ANALYZE of every database each minute and after the initial sync.')
    log(`${engine}: ${notes[0]}`)
    stopAutovacuum = emulateAutovacuum(dbs)
  }
  // What a contender stored is read from the plugin's own API, and from jackson's tables for (a) and (c).
  const inspectors: Partial<Record<ContenderName, Inspector>> = {
    plugin: httpInspector(child('plugin').origin),
    encrypted: httpInspector(child('encrypted').origin),
    express: jacksonStoreInspector(dbs.jackson),
    inprocess: jacksonStoreInspector(dbs.inprocess)
  }
  let runs = 0
  const execute = (name: ContenderName, data: RunData): Promise<Outcome> => {
    const c = child(name)
    return name === 'inprocess' ? c.run(data) : runScenario(data, httpRunner(c.ready.base, c.ready.token), inspectors[name]!)
  }
  const prefix = (name: ContenderName) => `${name[0]}${++runs}${Math.random().toString(36).slice(2, 6)}`
  const scenarios: ScenarioResult[] = []

  // The initial sync, on empty directories; the order alternates between engines.
  const syncOrder: ContenderName[] = engine === 'sqlite' ? ['plugin', 'express', 'encrypted'] : ['express', 'plugin', 'encrypted']
  const sync: ScenarioResult = { scenario: 'initialSync', contenders: {} }
  for (const name of syncOrder) {
    const { users, groups, groupSize } = config.sync
    const outcome = await execute(name, { scenario: 'initialSync', connections: config.writeConnections, prefix: prefix(name), count: users, groups, groupSize })
    outcome.busyAfter = await child(name).settle()
    sync.contenders[name] = summarise([outcome], await child(name).rss())
    log(`${engine}: initial sync ${name}: ${outcome.load.rps.toFixed(0)} req/s in ${outcome.load.seconds.toFixed(1)} s, stored ${outcome.stored}, busy ${outcome.busyAfter.toFixed(1)} s after`)
  }
  scenarios.push(sync)

  await vacuumAnalyze(dbs)

  // (a) starts on (c)'s data: a copy of it on sqlite, the same database on PostgreSQL.
  await copyForInProcess(dbs)
  await start('inprocess', dbs.inprocess)

  // Later runs work on what each database actually holds.
  const sampleOf = (name: ContenderName) => inspectors[name]!.sample(config.sync.users, config.sync.groups * 2)
  const pools: Partial<Record<ContenderName, Pools>> = {}
  pools.plugin = pools.bare = new Pools(await sampleOf('plugin'))
  pools.encrypted = new Pools(await sampleOf('encrypted'))
  pools.express = new Pools(await sampleOf('express'))
  pools.inprocess = dbs.inprocess.url === dbs.jackson.url ? pools.express : new Pools(await sampleOf('inprocess'))
  const dataFor = (scenario: ScenarioName, name: ContenderName): RunData => {
    const pool = pools[name]!
    const base = { scenario, prefix: prefix(name), connections: config.writeConnections }
    switch (scenario) {
      case 'getUser':
      case 'filterUser': return { ...base, connections: config.readConnections, seconds: config.readSeconds, users: pool.readers(config.readPool) }
      case 'createUser': return { ...base, count: config.writeRequests }
      case 'deactivate': return { ...base, ids: pool.toDeactivate(config.writeRequests) }
      case 'membership': return { ...base, changes: pool.membershipChanges(config.writeRequests) }
      default: throw new Error(`no run data for ${scenario}`)
    }
  }

  for (const scenario of [...READS, ...WRITES]) {
    const base = (READS as readonly string[]).includes(scenario) ? READ_ORDER : WRITE_ORDER
    const order = ENCRYPTED.includes(scenario) ? withEncrypted(base) : base
    const outcomes: Partial<Record<ContenderName, Outcome[]>> = {}
    const rss: Partial<Record<ContenderName, number>> = {}
    for (const name of order) {
      const outcome = await execute(name, dataFor(scenario, name))
      // Work deferred past the answers (the plugin writes jackson's copy in the background) is waited
      // for, so that it does not land in the next run, and reported.
      outcome.busyAfter = await child(name).settle()
      ;(outcomes[name] ??= []).push(outcome)
      rss[name] = await child(name).rss()
      log(`${engine}: ${scenario} ${name}: ${(outcome.served / outcome.load.seconds).toFixed(0)} served req/s, p50 ${outcome.load.p50.toFixed(2)} ms${outcome.stored ? `, ${outcome.stored}` : ''}${outcome.busyAfter > 0 ? `, busy ${outcome.busyAfter.toFixed(1)} s after` : ''}`)
    }
    const result: ScenarioResult = { scenario, contenders: {} }
    for (const name of Object.keys(outcomes) as ContenderName[]) result.contenders[name] = summarise(outcomes[name]!, rss[name]!)
    scenarios.push(result)
  }

  await stopAutovacuum()
  const plugin = child('plugin')
  delete children.plugin
  await stop()
  return { result: { engine, database: dbs.version, scenarios, notes }, plugin, pluginPools: pools.plugin, stop: () => plugin.stop() }
}
