// npm run bench (full) and npm run bench:quick: for each engine, the contenders in processes of their
// own under autocannon, then the plugin's own checks on sqlite, and the report in bench/RESULTS.md.
// Exits non-zero only when something crashes or a contender does not answer, never on a missed target.
// `tsx bench/run.ts --report` renders RESULTS.md again from the last full run's figures (after editing
// the closing note, bench/analysis.md).
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runCompiled } from './child.js'
import { coldStart, scaling, soak } from './checks.js'
import { compileServers } from './compile.js'
import { full, quick } from './config.js'
import { prepare, sqliteFolder } from './databases.js'
import { codeVersion, render, type Run } from './report.js'
import type { Checks, EngineResult } from './results.js'
import { runSection } from './section.js'

const here = fileURLToPath(new URL('.', import.meta.url))
const out = join(here, 'out')

async function measure (): Promise<Run> {
  const config = process.argv.includes('--quick') ? quick : full
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
      const section = await runSection(engine, dbs, config, log)
      engines.push(section.result)
      if (engine !== 'sqlite') {
        await section.stop()
        continue
      }
      try {
        checks.soak = await soak(section.plugin, section.pluginPools, config, log)
      } finally {
        await section.stop()
      }
      checks.scaling = await scaling(dbs, { ...dbs.plugin, url: join(folder, 'small.db') }, config, log)
      const { directoryId, token } = section.plugin.ready
      checks.coldStart = await coldStart(dbs, directoryId, token, checks.scaling!.large, config, log)
    }
  } finally {
    clearInterval(sampler)
    rmSync(folder, { recursive: true, force: true })
  }
  log(`done in ${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)} s`)
  return { config, engines, checks, startedAt: startedAt.toISOString(), seconds: (Date.now() - startedAt.getTime()) / 1000, load, code }
}

const reportOnly = process.argv.includes('--report')
const figures = join(out, 'results.full.json')
if (reportOnly && !existsSync(figures)) throw new Error(`${figures} does not exist: run npm run bench first`)
const run: Run = reportOnly ? JSON.parse(readFileSync(figures, 'utf8')) : await measure()
mkdirSync(out, { recursive: true })
writeFileSync(join(out, `results.${run.config.name}.json`), JSON.stringify(run, null, 2))

let report = render(run)
// The closing note is written by hand from profiles (bench/analysis.md); the figures above are regenerated.
const analysis = join(here, 'analysis.md')
if (run.config.name === 'full' && existsSync(analysis)) report += '\n' + readFileSync(analysis, 'utf8')
// The quick run (CI) leaves the committed RESULTS.md alone.
writeFileSync(run.config.name === 'full' ? join(here, 'RESULTS.md') : join(out, 'RESULTS.quick.md'), report)
process.stdout.write(report)
