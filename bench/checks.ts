// The plugin's own targets beyond throughput, on sqlite: memory over a long soak, cold start on an
// existing database file, and a userName lookup in a small directory against a large one.
import { performance } from 'node:perf_hooks'
import { freePort, httpInspector, spawnContender, startContender, type Child } from './child.js'
import type { Config } from './config.js'
import type { Databases } from './databases.js'
import { httpRunner } from './http-runner.js'
import type { Pools } from './pools.js'
import type { Checks } from './results.js'
import { runScenario } from './scenarios.js'
import { getUser } from './single.js'
import type { Log } from './section.js'

const MB = 2 ** 20

/**
 * GET /Users/:id: warm-up, then the soak in chunks, the child's RSS read after each chunk. A full
 * collection halfway through the warm-up and one after the soak tell memory kept (a leak) from garbage
 * V8 had not collected yet; the RSS samples themselves are left to V8's own rhythm.
 */
/** The node flags that bound the plugin's RSS (README, "Memory"): the old space capped. */
export const BOUNDED_FLAGS = ['--max-old-space-size=96']

/** The soak again, on a fresh plugin process with BOUNDED_FLAGS on the same database. */
export async function boundedSoak (dbs: Databases, pools: Pools, config: Config, log: Log): Promise<Checks['boundedSoak']> {
  const plugin = await startContender('plugin', { db: dbs.plugin, nodeArgs: ['--expose-gc', ...BOUNDED_FLAGS] })
  try {
    log(`soak with ${BOUNDED_FLAGS.join(' ')}:`)
    return { ...(await soak(plugin, pools, config, log))!, flags: BOUNDED_FLAGS }
  } finally {
    await plugin.stop()
  }
}

export async function soak (plugin: Child, pools: Pools, config: Config, log: Log): Promise<Checks['soak']> {
  const run = httpRunner(plugin.ready.base, plugin.ready.token)
  const users = pools.readers(config.readPool)
  const chunk = (requests: number) => run(getUser(users, config.readConnections, requests))
  await chunk(config.soak.warmup / 2)
  const before = await plugin.collect()
  await chunk(config.soak.warmup / 2)
  const samples = [await plugin.rss()]
  let seconds = 0
  for (let done = 0; done < config.soak.requests; done += config.soak.every) {
    const load = await chunk(config.soak.every)
    if (load.ok !== load.requests) throw new Error(`soak: ${load.requests - load.ok} requests failed`)
    seconds += load.seconds
    samples.push(await plugin.rss())
  }
  const after = await plugin.collect()
  const first = samples[0]
  const worst = Math.max(...samples.map((s) => Math.abs(s - first) / first))
  log(`soak: RSS ${samples.map((s) => (s / MB).toFixed(0)).join(' → ')} MB; heap after a full GC ${(before.heapUsed / MB).toFixed(0)} → ${(after.heapUsed / MB).toFixed(0)} MB`)
  return {
    requests: config.soak.requests,
    samplesMb: samples.map((s) => s / MB),
    firstMb: first / MB,
    minMb: Math.min(...samples) / MB,
    maxMb: Math.max(...samples) / MB,
    worstPct: worst * 100,
    rps: config.soak.requests / seconds,
    heapAfterGcMb: [before.heapUsed / MB, after.heapUsed / MB],
    rssAfterGcMb: [before.rss / MB, after.rss / MB]
  }
}

/** Process start to the first 200 of `GET /Users?count=1`, of `name` on the plugin's existing sqlite file. */
async function startedWithin (name: 'plugin' | 'bare', dbs: Databases, directoryId: string, token: string): Promise<number> {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}/api/scim/v2.0/${directoryId}/Users?count=1`
  const started = performance.now()
  const child = spawnContender(name, port, { db: dbs.plugin })
  child.stdout!.resume()
  child.stderr!.resume()
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} during cold start`)
      const status = await fetch(url, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status, () => 0)
      if (status === 200) return performance.now() - started
      if (performance.now() - started > 60_000) throw new Error(`cold start: ${name} did not answer within 60 s`)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    await exited
  }
}

/**
 * Cold start of the plugin on its existing sqlite file, against (b), a bare Fastify app that opens the
 * same file, alternated (plugin first, then bare first) so that drift cancels.
 */
export async function coldStart (dbs: Databases, directoryId: string, token: string, users: number, config: Config, log: Log): Promise<Checks['coldStart']> {
  const runsMs: number[] = []
  const bareRunsMs: number[] = []
  for (let i = 0; i < config.coldStarts; i++) {
    for (const name of i % 2 === 0 ? ['plugin', 'bare'] as const : ['bare', 'plugin'] as const) {
      (name === 'plugin' ? runsMs : bareRunsMs).push(await startedWithin(name, dbs, directoryId, token))
    }
  }
  const median = (ms: number[]) => [...ms].sort((a, b) => a - b)[Math.floor(ms.length / 2)]
  log(`cold start: plugin ${runsMs.map((ms) => ms.toFixed(0)).join(', ')} ms; bare Fastify on the same file ${bareRunsMs.map((ms) => ms.toFixed(0)).join(', ')} ms`)
  return { runsMs, medianMs: median(runsMs), bareRunsMs, bareMedianMs: median(bareRunsMs), users }
}

/**
 * userName lookups in a directory of `small` users and in one of `large` (seeded in-process through the
 * plugin's public API before it listens), alternated small, large, large, small.
 */
export async function scaling (dbs: Databases, smallDb: Databases['plugin'], config: Config, log: Log): Promise<Checks['scaling']> {
  const { small, large, seconds } = config.scaling
  log(`scaling: seeding ${small} and ${large} users`)
  const [smallChild, largeChild] = await Promise.all([
    startContender('plugin', { db: smallDb, seedUsers: small }),
    startContender('plugin', { db: dbs.plugin, seedUsers: large })
  ])
  try {
    // Seeding leaves the plugin writing jackson's copy in the background: measure once it is done.
    const [, largeSettle] = await Promise.all([smallChild.settle(600), largeChild.settle(600)])
    const measure = async (child: Child) => {
      const inspector = httpInspector(child.origin)
      const users = (await inspector.sample(small, 0)).users
      return runScenario({ scenario: 'filterUser', connections: config.readConnections, seconds, prefix: 's', users }, httpRunner(child.ready.base, child.ready.token), inspector)
    }
    const runs = { small: [] as number[][], large: [] as number[][] }
    for (const [name, child] of [['small', smallChild], ['large', largeChild], ['large', largeChild], ['small', smallChild]] as const) {
      const { load } = await measure(child)
      if (load.ok !== load.requests) throw new Error(`scaling: ${load.requests - load.ok} lookups failed`)
      runs[name].push([load.p50, load.rps])
    }
    const mean = (xs: number[][], i: number) => xs.reduce((s, x) => s + x[i], 0) / xs.length
    const result = {
      small,
      large: (await httpInspector(largeChild.origin).stored()).users,
      smallP50: mean(runs.small, 0),
      largeP50: mean(runs.large, 0),
      smallRps: mean(runs.small, 1),
      largeRps: mean(runs.large, 1),
      seedSeconds: (largeChild.ready.seeded?.ms ?? 0) / 1000,
      settleSeconds: largeSettle
    }
    log(`scaling: p50 ${result.smallP50.toFixed(2)} ms at ${small} users, ${result.largeP50.toFixed(2)} ms at ${result.large}`)
    return result
  } finally {
    await Promise.all([smallChild.stop(), largeChild.stop()])
  }
}
