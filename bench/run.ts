// npm run bench (full) and npm run bench:quick: for each engine, the contenders in processes of their
// own under autocannon, then the plugin's own checks on sqlite, and the report in bench/RESULTS.md.
// Exits non-zero only when something crashes or a contender does not answer, never on a missed target.
// `tsx bench/run.ts --report` renders RESULTS.md again from the last full run's figures (after editing
// the closing note, bench/analysis.md). `--only fairness` runs that scenario alone, on a fresh database
// (tenant A seeded in-process from nothing), into bench/out/RESULTS.<full|quick>.fairness.md.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runCompiled } from './child.js'
import { boundedSoak, coldStart, scaling, soak } from './checks.js'
import { compileServers } from './compile.js'
import { full, quick } from './config.js'
import { prepare, sqliteFolder } from './databases.js'
import { fairness } from './fairness.js'
import { codeVersion, render, type Run } from './report.js'
import type { Checks, EngineResult } from './results.js'
import { runSection } from './section.js'

const here = fileURLToPath(new URL('.', import.meta.url))
const out = join(here, 'out')

// The scenarios that can run on their own.
const ONLY = ['fairness'] as const
type Only = typeof ONLY[number]
function onlyArg (): Only | undefined {
  const i = process.argv.findIndex((a) => a === '--only' || a.startsWith('--only='))
  if (i < 0) return undefined
  const value = process.argv[i].includes('=') ? process.argv[i].split('=')[1] : process.argv[i + 1]
  if (!(ONLY as readonly string[]).includes(value)) throw new Error(`--only ${value ?? ''}: the scenarios that run on their own are ${ONLY.join(', ')}`)
  return value as Only
}
const only = onlyArg()

async function measure (): Promise<Run> {
  const base = process.argv.includes('--quick') ? quick : full
  // `--engine postgres`: one engine's section alone (a trial; the report is written under bench/out).
  const engineArg = process.argv.indexOf('--engine')
  const config = engineArg < 0 ? base : { ...base, engines: base.engines.filter((e) => e === process.argv[engineArg + 1]) }
  const startedAt = new Date()
  // The machine may be shared: the load average says how much else ran meanwhile.
  const load = [loadavg()[0]]
  const sampler = setInterval(() => load.push(loadavg()[0]), 5000)
  const log = (line: string) => process.stderr.write(`[${((Date.now() - startedAt.getTime()) / 1000).toFixed(0).padStart(4)} s] ${line}\n`)
  const code = codeVersion()

  log('compiling the contenders')
  runCompiled(compileServers())
  const folder = sqliteFolder()
  const engines: EngineResult[] = []
  const checks: Checks = {}
  try {
    for (const engine of config.engines) {
      const dbs = await prepare(engine, folder)
      if (typeof dbs === 'string') {
        log(`${engine}: skipped: ${dbs}`)
        engines.push({ engine, database: '', scenarios: [], skipped: dbs })
        continue
      }
      if (only === 'fairness') {
        engines.push({ engine, database: dbs.version, scenarios: [], fairness: await fairness(engine, dbs, config, log) })
        continue
      }
      const section = await runSection(engine, dbs, config, log)
      engines.push(section.result)
      if (engine !== 'sqlite') {
        await section.stop()
        // On the section's database: tenant A is the directory its initial sync filled.
        section.result.fairness = await fairness(engine, dbs, config, log)
        continue
      }
      try {
        checks.soak = await soak(section.plugin, section.pluginPools, config, log)
      } finally {
        await section.stop()
      }
      checks.boundedSoak = await boundedSoak(dbs, section.pluginPools, config, log)
      // After the soak (whose RSS it would disturb) and before the scaling check (which tops the same
      // directory up to its own size).
      section.result.fairness = await fairness(engine, dbs, config, log)
      checks.scaling = await scaling(dbs, { ...dbs.plugin, url: join(folder, 'small.db') }, config, log)
      const { directoryId, token } = section.plugin.ready
      checks.coldStart = await coldStart(dbs, directoryId, token, checks.scaling!.large, config, log)
    }
  } finally {
    clearInterval(sampler)
    rmSync(folder, { recursive: true, force: true })
  }
  log(`done in ${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)} s`)
  return { config, engines, checks, startedAt: startedAt.toISOString(), seconds: (Date.now() - startedAt.getTime()) / 1000, load, code, ...(only ? { only } : {}) }
}

const reportOnly = process.argv.includes('--report')
if (reportOnly && only !== undefined) throw new Error('--report renders the last full run: it takes no --only')
const figures = join(out, 'results.full.json')
if (reportOnly && !existsSync(figures)) throw new Error(`${figures} does not exist: run npm run bench first`)
const run: Run = reportOnly ? JSON.parse(readFileSync(figures, 'utf8')) : await measure()
mkdirSync(out, { recursive: true })
const engineOnly = process.argv.includes('--engine') ? `.${run.config.engines.join('.')}` : ''
const name = `${run.config.name}${run.only === undefined ? '' : `.${run.only}`}${engineOnly}`
writeFileSync(join(out, `results.${name}.json`), JSON.stringify(run, null, 2))

let report = render(run)
// The closing note is written by hand from profiles (bench/analysis.md); the figures above are regenerated.
const analysis = join(here, 'analysis.md')
const whole = name === 'full'
if (whole && existsSync(analysis)) report += '\n' + readFileSync(analysis, 'utf8')
// The quick run (CI) and runs of one scenario leave the committed RESULTS.md alone.
writeFileSync(whole ? join(here, 'RESULTS.md') : join(out, `RESULTS.${name}.md`), report)
process.stdout.write(report)
