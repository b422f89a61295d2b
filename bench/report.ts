// The report: machine and versions, one table per engine, the ratios, and a line per target saying
// met or missed with the measured figure. Written to bench/RESULTS.md and printed.
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { cpus, totalmem, type as osType, release } from 'node:os'
import type { ContenderName } from './child.js'
import type { Config } from './config.js'
import type { Checks, EngineResult, Summary } from './results.js'
import { READS, TITLES } from './scenarios.js'

const require = createRequire(import.meta.url)
const version = (name: string) => (require(`${name}/package.json`) as { version: string }).version

export const LABELS: Record<ContenderName, string> = {
  plugin: 'plugin',
  inprocess: '(a) jackson in-process',
  bare: '(b) bare Fastify',
  express: '(c) Express + jackson'
}
const ORDER: ContenderName[] = ['plugin', 'inprocess', 'bare', 'express']

export interface Target { text: string, met: boolean, figure: string }

const n0 = (x: number) => Math.round(x).toLocaleString('en-US')
const n1 = (x: number) => x.toFixed(1)
const n2 = (x: number) => x.toFixed(2)
const ratio = (a?: Summary, b?: Summary) => a && b && b.servedRps > 0 ? a.servedRps / b.servedRps : undefined
const fmtRatio = (r?: number) => r === undefined ? '—' : `${n2(r)}×`

export function targets (engines: EngineResult[], checks: Checks): Target[] {
  const list: Target[] = []
  for (const e of engines.filter((e) => e.skipped === undefined)) {
    for (const s of e.scenarios) {
      const r = ratio(s.contenders.plugin, s.contenders.express)
      if (r === undefined) continue
      const isRead = (READS as readonly string[]).includes(s.scenario)
      const want = isRead ? 2.5 : 1
      list.push({ text: `${e.engine}: ${TITLES[s.scenario]}: plugin ≥ ${want}× (c)`, met: r >= want, figure: `${r.toFixed(3)}×` })
      const a = ratio(s.contenders.plugin, s.contenders.inprocess)
      if (isRead && e.engine === 'sqlite' && a !== undefined) {
        list.push({ text: `sqlite: ${TITLES[s.scenario]}: plugin ≥ 80% of (a)`, met: a >= 0.8, figure: `${n0(a * 100)}%` })
      }
    }
  }
  if (checks.scaling) {
    const { small, large, smallP50, largeP50 } = checks.scaling
    const r = largeP50 / smallP50
    list.push({ text: `userName lookup at ${n0(large)} users within 1.5× of ${n0(small)} users (p50)`, met: r <= 1.5, figure: `${n2(largeP50)} ms vs ${n2(smallP50)} ms = ${n2(r)}×` })
  }
  if (checks.soak) {
    const s = checks.soak
    list.push({ text: `RSS flat (±10%) over a ${n0(s.requests)}-request soak after warm-up`, met: s.worstPct <= 10, figure: `${n0(s.firstMb)} → ${n0(s.samplesMb[s.samplesMb.length - 1])} MB, worst ${n1(s.worstPct)}%` })
  }
  if (checks.coldStart) {
    const c = checks.coldStart
    list.push({ text: 'cold start ≤ 1.5 s (existing sqlite file, to the first SCIM answer)', met: c.medianMs <= 1500, figure: `median ${n0(c.medianMs)} ms of ${c.runsMs.map(n0).join(', ')}` })
  }
  return list
}

function engineTable (e: EngineResult): string[] {
  if (e.skipped) return [`### ${e.engine}`, '', `Skipped: ${e.skipped}`, '']
  const lines = [
    `### ${e.engine} (${e.database})`, '',
    ...(e.notes ?? []).flatMap((note) => [note, '']),
    '| scenario | contender | served req/s | all req/s | p50 ms | p99 ms | RSS MB | requests | non-2xx | busy after, s | stored |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |'
  ]
  for (const s of e.scenarios) {
    let first = true
    for (const name of ORDER) {
      const c = s.contenders[name]
      if (!c) continue
      const stored = c.stored === undefined ? '' : `${c.complete ? '' : '**lost writes:** '}${c.stored}`
      lines.push(`| ${first ? TITLES[s.scenario] : ''} | ${LABELS[name]} | ${n0(c.servedRps)} | ${n0(c.rps)} | ${n2(c.p50)} | ${n2(c.p99)} | ${n0(c.rssMb)} | ${n0(c.requests)} | ${n0(c.non2xx + c.errors)} | ${c.busyAfter > 0 ? n1(c.busyAfter) : ''} | ${stored} |`)
      first = false
    }
  }
  lines.push('', '| scenario | plugin/(a) | plugin/(b) | plugin/(c) | plugin/(c), sustained |', '| --- | ---: | ---: | ---: | ---: |')
  for (const s of e.scenarios) {
    const p = s.contenders.plugin
    const c = s.contenders.express
    // Deferred work only matters for writes.
    const isRead = (READS as readonly string[]).includes(s.scenario)
    const sustained = !isRead && p && c && c.sustainedRps > 0 ? p.sustainedRps / c.sustainedRps : undefined
    lines.push(`| ${TITLES[s.scenario]} | ${fmtRatio(ratio(p, s.contenders.inprocess))} | ${fmtRatio(ratio(p, s.contenders.bare))} | ${fmtRatio(ratio(p, c))} | ${fmtRatio(sustained)} |`)
  }
  return [...lines, '']
}

/** One run's figures, as saved in bench/out/results.<name>.json. */
export interface Run {
  config: Config
  engines: EngineResult[]
  checks: Checks
  startedAt: string
  seconds: number
  /** The 1-minute load average, sampled every 5 s. */
  load: number[]
  code: string
}

/** Which code is measured: the commit, and whether src/ has changes not yet committed. */
export function codeVersion (): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
    const changed = git('status', '--porcelain', '--', 'src').split('\n').filter(Boolean).length
    return `commit ${git('rev-parse', '--short', 'HEAD')}${changed > 0 ? ` with ${changed} uncommitted file(s) in src/` : ''}`
  } catch {
    return 'not a git checkout'
  }
}

function machine (databases: string[], load: number[], code: string): string[] {
  const cpu = cpus()
  const sorted = [...load].sort((a, b) => a - b)
  return [
    `- Machine: ${osType()} ${release()}, ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${n1(totalmem() / 2 ** 30)} GiB memory`,
    `- Load average (1 min) during the run, sampled every 5 s: min ${n1(sorted[0] ?? 0)}, median ${n1(sorted[Math.floor(sorted.length / 2)] ?? 0)}, max ${n1(sorted[sorted.length - 1] ?? 0)}` +
      ' (the benchmark itself keeps about 2 busy; more is other work sharing the 2 cores, and makes figures noisier)',
    `- Node ${process.version}; fastify ${version('fastify')}, @boxyhq/saml-jackson ${version('@boxyhq/saml-jackson')}, express ${version('express')}, autocannon ${version('autocannon')}`,
    `- Databases: ${databases.join('; ')}`,
    `- Code measured: ${code}`
  ]
}

export function render ({ config, engines, checks, startedAt, seconds, load, code }: Run): string {
  const found = targets(engines, checks)
  const c = config
  const lines = [
    '# Benchmark results', '',
    `\`npm run ${c.name === 'full' ? 'bench' : 'bench:quick'}\` (${c.name} run), ${startedAt}, ${n0(seconds)} s in all.`, '',
    ...machine(engines.map((e) => e.database).filter(Boolean), load, code), '',
    '## How it was measured', '',
    'Each contender is a process of its own listening on 127.0.0.1, compiled to JavaScript by tsc first (as an app runs it); autocannon runs in the driver.',
    `Reads run ${c.readSeconds} s at ${c.readConnections} connections;`,
    `writes send ${c.writeRequests} requests at ${c.writeConnections} connections, each with a unique body and each an effective change;`,
    `the initial sync pushes ${n0(c.sync.users)} users (a userName lookup, then a POST) and ${c.sync.groups} groups (a POST, then a PATCH adding ${c.sync.groupSize} members) at ${c.writeConnections} connections.`,
    'Contenders alternate per scenario as plugin, (c), (a), [(b)], (c), plugin, so that drift cancels; figures are over both runs.',
    '**Served** counts 2xx reads, and 2xx writes only up to what the contender was then found to have stored: the plugin\'s through its own API,',
    'jackson\'s (a, c) from its tables on a separate connection (jackson\'s own connection can hold writes it never commits). *All req/s* counts every answer.',
    '(a) calls jackson\'s `requests.handle` in-process from as many async loops as there are connections, on a copy of (c)\'s data taken after (c)\'s initial sync',
    '(sqlite: an online backup, since two processes writing one sqlite file through jackson lose each other\'s writes; PostgreSQL: (c)\'s own database).',
    '*Busy after*: seconds the contender\'s process kept working after its last answer (work deferred past the responses), waited for before the next run;',
    '*sustained* divides what was served by the answering time plus that busy time. Targets are judged on served req/s, what the identity provider sees.',
    'p99 of the initial sync is the higher of its two phases. RSS is the contender\'s after its last run of the scenario.', '',
    '## Results', '',
    ...engines.flatMap((e) => engineTable(e)),
    '## Checks (plugin, sqlite)', ''
  ]
  if (checks.scaling) {
    const s = checks.scaling
    lines.push(`- userName lookup (filter \`userName eq\`): p50 ${n2(s.smallP50)} ms and ${n0(s.smallRps)} req/s at ${n0(s.small)} users; p50 ${n2(s.largeP50)} ms and ${n0(s.largeRps)} req/s at ${n0(s.large)} users (seeding took ${n0(s.seedSeconds)} s, then ${n0(s.settleSeconds)} s of background work before measuring).`)
  }
  if (checks.soak) {
    const s = checks.soak
    lines.push(`- Soak: ${n0(s.requests)} GET /Users/:id at ${n0(s.rps)} req/s after warm-up; RSS ${s.samplesMb.map(n0).join(' → ')} MB (min ${n0(s.minMb)}, max ${n0(s.maxMb)}).` +
      ` After a full GC before and after: heap in use ${s.heapAfterGcMb.map(n0).join(' → ')} MB, RSS ${s.rssAfterGcMb.map(n0).join(' → ')} MB.`)
  }
  if (checks.coldStart) {
    const s = checks.coldStart
    lines.push(`- Cold start (spawn of \`node bench/servers/plugin.js\` to the first 200 of \`GET /Users?count=1\`, existing sqlite file with ${n0(s.users)} users): ${s.runsMs.map(n0).join(', ')} ms.`)
  }
  lines.push('', '## Targets', '')
  for (const t of found) lines.push(`- ${t.met ? 'met' : '**missed**'}: ${t.text} — ${t.figure}`)
  return lines.join('\n') + '\n'
}
