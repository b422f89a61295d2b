// The report: machine and versions, one table per engine, the ratios, and a line per target saying
// met or missed with the measured figure. Written to bench/RESULTS.md and printed.
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { cpus, totalmem, type as osType, release } from 'node:os'
import type { ContenderName } from './child.js'
import type { Config } from './config.js'
import type { FairnessResult } from './fairness.js'
import type { Checks, EngineResult, Summary } from './results.js'
import { READS, TITLES } from './scenarios.js'
import type { LoadResult } from './workload.js'

const require = createRequire(import.meta.url)
const version = (name: string) => (require(`${name}/package.json`) as { version: string }).version

export const LABELS: Record<ContenderName, string> = {
  plugin: 'plugin',
  inprocess: '(a) jackson in-process',
  bare: '(b) bare Fastify',
  express: '(c) Express + jackson',
  encrypted: '(e) plugin, encryptionKey set'
}
const ORDER: ContenderName[] = ['plugin', 'encrypted', 'inprocess', 'bare', 'express']

// With encryptionKey set, reads keep at least this share of the same build's speed without it, writes this.
const ENCRYPTED_TARGET = { read: 0.8, write: 0.7 }
const sustainedRatio = (a?: Summary, b?: Summary) => a && b && b.sustainedRps > 0 ? a.sustainedRps / b.sustainedRps : undefined

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
      const want = isRead ? 2.5 : 1.5
      list.push({ text: `${e.engine}: ${TITLES[s.scenario]}: plugin ≥ ${want}× (c)`, met: r >= want, figure: `${r.toFixed(3)}×` })
      const sustained = sustainedRatio(s.contenders.plugin, s.contenders.express)
      if (!isRead && sustained !== undefined) {
        list.push({ text: `${e.engine}: ${TITLES[s.scenario]}: plugin ≥ ${want}× (c), sustained`, met: sustained >= want, figure: `${sustained.toFixed(3)}×` })
      }
      const enc = ratio(s.contenders.encrypted, s.contenders.plugin)
      if (enc !== undefined && s.scenario !== 'initialSync') {
        const share = isRead ? ENCRYPTED_TARGET.read : ENCRYPTED_TARGET.write
        list.push({ text: `${e.engine}: ${TITLES[s.scenario]}: with encryptionKey ≥ ${n0(share * 100)}% of without`, met: enc >= share, figure: `${n0(enc * 100)}%` })
      }
      const a = ratio(s.contenders.plugin, s.contenders.inprocess)
      if (isRead && e.engine === 'sqlite' && a !== undefined) {
        list.push({ text: `sqlite: ${TITLES[s.scenario]}: plugin ≥ 80% of (a)`, met: a >= 0.8, figure: `${n0(a * 100)}%` })
      }
    }
  }
  for (const e of engines) {
    if (e.fairness === undefined) continue
    const r = fairnessRatios(e.fairness)
    list.push({ text: `${e.engine}: fairness: tenant B's p99 under tenant A's attack ≤ ${FAIRNESS_TARGET}× B's p99 alone`, met: r.p99 <= FAIRNESS_TARGET, figure: `${n2(e.fairness.attacked.p99)} ms vs ${n2(r.alone.p99)} ms = ${n2(r.p99)}×` })
    const mix = statusMix(e.fairness)
    list.push({ text: `${e.engine}: fairness: no 5xx to tenant A, every read of tenant B answered 2xx`, met: mix.all.s5xx === 0 && r.bFailed === 0, figure: `A: ${n0(mix.all.s5xx)} 5xx of ${n0(mix.all.requests)} answers; B: ${n0(r.bFailed)} not 2xx` })
  }
  if (checks.scaling) {
    const { small, large, smallP50, largeP50 } = checks.scaling
    const r = largeP50 / smallP50
    list.push({ text: `userName lookup at ${n0(large)} users within 1.5× of ${n0(small)} users (p50)`, met: r <= 1.5, figure: `${n2(largeP50)} ms vs ${n2(smallP50)} ms = ${n2(r)}×` })
  }
  if (checks.soak) {
    const s = checks.soak
    list.push({ text: `RSS flat (±15%) over a ${n0(s.requests)}-request soak after warm-up`, met: s.worstPct <= 15, figure: `${n0(s.firstMb)} → ${n0(s.samplesMb[s.samplesMb.length - 1])} MB, worst ${n1(s.worstPct)}%` })
  }
  if (checks.boundedSoak) {
    const s = checks.boundedSoak
    list.push({ text: `RSS flat (±15%) over the soak with the README's flags (${s.flags.join(' ')})`, met: s.worstPct <= 15, figure: `${n0(s.firstMb)} → ${n0(s.samplesMb[s.samplesMb.length - 1])} MB, worst ${n1(s.worstPct)}%, ${n0(s.rps)} req/s` })
  }
  if (checks.coldStart) {
    const c = checks.coldStart
    list.push({ text: 'cold start ≤ 1.5 s (existing sqlite file, to the first SCIM answer)', met: c.medianMs <= 1500, figure: `median ${n0(c.medianMs)} ms of ${c.runsMs.map(n0).join(', ')}` })
    const r = c.medianMs / c.bareMedianMs
    list.push({ text: 'cold start ≤ 3× a bare Fastify app opening the same sqlite file (medians, same run)', met: r <= 3, figure: `${n0(c.medianMs)} ms vs ${n0(c.bareMedianMs)} ms = ${n2(r)}×` })
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
  const encrypted = e.scenarios.filter((s) => s.contenders.encrypted !== undefined && s.scenario !== 'initialSync')
  if (encrypted.length > 0) {
    lines.push('', '| scenario, with encryptionKey | (e)/plugin | (e)/plugin, sustained | target |', '| --- | ---: | ---: | ---: |')
    for (const s of encrypted) {
      const isRead = (READS as readonly string[]).includes(s.scenario)
      const sustained = isRead ? undefined : sustainedRatio(s.contenders.encrypted, s.contenders.plugin)
      lines.push(`| ${TITLES[s.scenario]} | ${fmtRatio(ratio(s.contenders.encrypted, s.contenders.plugin))} | ${fmtRatio(sustained)} | ≥ ${n2(isRead ? ENCRYPTED_TARGET.read : ENCRYPTED_TARGET.write)}× |`)
    }
  }
  return [...lines, '']
}

// ——— Fairness ———

/** B's p99 under attack may be at most this many times B's p99 alone. */
export const FAIRNESS_TARGET = 3

const meanLoad = (runs: LoadResult[]) => {
  const mean = (f: (r: LoadResult) => number) => runs.reduce((s, r) => s + f(r), 0) / Math.max(1, runs.length)
  return { rps: mean((r) => r.rps), p50: mean((r) => r.p50), p99: mean((r) => r.p99) }
}

function fairnessRatios (f: FairnessResult) {
  const alone = meanLoad(f.alone)
  const div = (a: number, b: number) => b > 0 ? a / b : Infinity
  return {
    alone,
    p50: div(f.attacked.p50, alone.p50),
    p99: div(f.attacked.p99, alone.p99),
    rps: div(f.attacked.rps, alone.rps),
    bFailed: [...f.alone, f.attacked].reduce((s, r) => s + r.non2xx + r.errors, 0)
  }
}

interface Mix { requests: number, s2xx: number, s4xx: number, s429: number, s5xx: number, codes: Record<string, number>, inFlight: number }

function statusMix (f: FairnessResult): { kinds: Record<string, Mix>, all: Mix } {
  const empty = (): Mix => ({ requests: 0, s2xx: 0, s4xx: 0, s429: 0, s5xx: 0, codes: {}, inFlight: 0 })
  const all = empty()
  const kinds: Record<string, Mix> = {}
  for (const [kind, k] of Object.entries(f.attacker.kinds)) {
    const m = kinds[kind] = empty()
    m.inFlight = k.inFlight
    for (const [code, count] of Object.entries(k.statuses)) {
      const c = Number(code)
      m.requests += count
      m.codes[code] = (m.codes[code] ?? 0) + count
      if (c >= 200 && c < 300) m.s2xx += count
      else if (c === 429) m.s429 += count
      else if (c >= 500) m.s5xx += count
      else m.s4xx += count // and anything else that is not a success
    }
    for (const key of ['requests', 's2xx', 's4xx', 's429', 's5xx', 'inFlight'] as const) all[key] += m[key]
    for (const [code, count] of Object.entries(m.codes)) all.codes[code] = (all.codes[code] ?? 0) + count
  }
  return { kinds, all }
}

const codes = (m: Mix) => Object.entries(m.codes).sort(([a], [b]) => Number(a) - Number(b)).map(([c, n]) => `${c}×${n0(n)}`).join(', ')

function fairnessMethod (f: FairnessResult): string[] {
  return [
    `One plugin process, two directories. Tenant B (${n0(f.bUsers)} users): \`GET /Users/:id\` over its users at ${f.bConnections} connections, ${f.seconds} s per window:`,
    `alone, then while tenant A attacks, then alone again (the reference is the mean of both lone windows). Tenant A (${n0(f.aUsers)} users) sends at ${f.aConnections} connections,`,
    `from a process of its own, in turn: a PATCH \`add\` of ${n0(f.attack.patchValues)} \`members\` to its group (${n0(f.attack.patchBytes / 1024)} KiB: the most values the plugin accepts, within its body limit;`,
    'the group holds them from a first PATCH before measuring, so the attack re-sends the same add),',
    `\`GET /Users?filter=${f.attack.filter}&count=${f.attack.count}\` (no index answers it: every user of A is read), and \`POST /Users/.search\` with ${f.attack.attributes} distinct attribute names and count=${f.attack.count}.`,
    'Any answer counts for A (400, 413 and 429 are the plugin defending itself); a 5xx never should.'
  ]
}

function fairnessTable (e: EngineResult): string[] {
  const f = e.fairness
  if (f === undefined) return []
  const r = fairnessRatios(f)
  const mix = statusMix(f)
  const row = (label: string, l: LoadResult) => `| ${label} | ${n0(l.rps)} | ${n2(l.p50)} | ${n2(l.p99)} | ${n0(l.requests)} | ${n0(l.non2xx + l.errors)} |`
  const titles: Record<string, string> = {
    patch: `PATCH add of ${n0(f.attack.patchValues)} members`,
    scan: 'GET /Users?filter=… (full scan)',
    search: `POST /Users/.search, ${f.attack.attributes} attributes`
  }
  const mixRow = (label: string, m: Mix, k?: { p50: number, p99: number, max: number, inFlightMaxMs?: number }) =>
    `| ${label} | ${n0(m.requests)} | ${n0(m.s2xx)} | ${n0(m.s4xx)} | ${n0(m.s429)} | ${m.s5xx > 0 ? `**${n0(m.s5xx)}**` : '0'} | ` +
    `${n0(m.inFlight)}${k?.inFlightMaxMs ? ` (oldest ${n0(k.inFlightMaxMs)} ms)` : ''} | ${k ? n0(k.p50) : ''} | ${k ? n0(k.p99) : ''} | ${k ? n0(k.max) : ''} | ${codes(m)} |`
  const lines = [
    `#### Fairness: tenant B's reads while tenant A attacks (${e.engine})`, '',
    ...fairnessMethod(f), '',
    '| tenant B, GET /Users/:id | req/s | p50 ms | p99 ms | requests | non-2xx |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    row('alone, before', f.alone[0]),
    row('**under attack**', f.attacked),
    ...(f.alone[1] ? [row('alone, after', f.alone[1])] : []),
    `| under attack ÷ alone | ${n2(r.rps)}× | ${n2(r.p50)}× | **${n2(r.p99)}×** | | |`,
    '',
    `| tenant A's requests, ${f.aConnections} at a time for ${n1(f.attacker.seconds)} s | answered | 2xx | 4xx | 429 | 5xx | unanswered at the end | p50 ms | p99 ms | max ms | statuses |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...Object.entries(mix.kinds).map(([kind, m]) => mixRow(titles[kind] ?? kind, m, f.attacker.kinds[kind])),
    mixRow('all', mix.all),
    ''
  ]
  if (mix.all.s5xx > 0) {
    lines.push(`**Tenant A got ${n0(mix.all.s5xx)} server errors (5xx: ${codes({ ...mix.all, codes: Object.fromEntries(Object.entries(mix.all.codes).filter(([c]) => Number(c) >= 500)) })}).` +
      ' A request the plugin cannot serve must be refused (400, 413, 429), never fail: this is a bug whatever the latencies.**', '')
  }
  if (f.probes !== undefined) {
    const size = (bytes: number) => bytes >= 1024 * 1024 ? `${n1(bytes / 2 ** 20)} MiB` : `${n0(bytes / 1024)} KiB`
    lines.push('Each of A\'s requests once, alone, before the attack: ' + f.probes.map((p) =>
      `${titles[p.kind] ?? p.kind}: ${p.status} in ${n0(p.ms)} ms, ${size(p.bytes)}` +
      (p.totalResults !== undefined ? ` (totalResults ${n0(p.totalResults)}, ${n0(p.resources ?? 0)} returned)` : '') +
      (p.members !== undefined ? ` (${n0(p.members)} members)` : '')).join('; ') + '.', '')
  }
  if (f.attacker.errors + f.attacker.timeouts > 0) lines.push(`Tenant A's connections also saw ${n0(f.attacker.errors)} errors (${n0(f.attacker.timeouts)} of them timeouts).`, '')
  lines.push(
    `Setup: ${n0(f.setup.seededA)} of A's users created in-process${f.setup.seededA < f.aUsers ? ' (the others are the initial sync\'s and the write scenarios\')' : ''}, and ${n0(f.setup.seededB)} of B's, in ${n1(f.setup.seedSeconds)} s;` +
    ` A's group first filled by the same PATCH: ${f.setup.groupStatus} in ${n1(f.setup.groupSeconds)} s;` +
    ` ${n1(f.setup.settleSeconds)} s of background work (jackson's copy) waited for before measuring. After the attack stopped the plugin kept busy ${n1(f.busyAfter)} s (A's requests still running).`,
    ''
  )
  return lines
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
  /** The one scenario run (`--only`), when not all were. */
  only?: string
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

export function render ({ config, engines, checks, startedAt, seconds, load, code, only }: Run): string {
  const found = targets(engines, checks)
  const c = config
  const command = `npm run ${c.name === 'full' ? 'bench' : 'bench:quick'}${only === undefined ? '' : ` -- --only ${only}`}`
  const lines = [
    '# Benchmark results', '',
    `\`${command}\` (${c.name} run${only === undefined ? '' : `, ${only} only`}), ${startedAt}, ${n0(seconds)} s in all.`, '',
    ...machine(engines.map((e) => e.database).filter(Boolean), load, code), ''
  ]
  if (only !== undefined) {
    // One scenario on a fresh database: tenant A is seeded in-process from nothing.
    lines.push('## Results', '', ...engines.flatMap((e) => e.skipped ? [`### ${e.engine}`, '', `Skipped: ${e.skipped}`, ''] : [`### ${e.engine} (${e.database})`, '', ...fairnessTable(e)]))
  } else {
    lines.push(
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
      '(e) is the plugin\'s own server on a database of its own with `db.encryptionKey` set, run next to the plugin in GET /Users/:id, POST /Users and PATCH deactivate (after an initial sync of its own).',
      '*Busy after*: seconds the contender\'s process kept working after its last answer (work deferred past the responses), waited for before the next run;',
      '*sustained* divides what was served by the answering time plus that busy time. Targets are judged on served req/s, what the identity provider sees.',
      'p99 of the initial sync is the higher of its two phases. RSS is the contender\'s after its last run of the scenario.',
      'Fairness (plugin only, after the other scenarios, in a plugin process of its own on the same database) is described under each engine\'s tables.', '',
      '## Results', '',
      ...engines.flatMap((e) => [...engineTable(e), ...fairnessTable(e)]),
      '## Checks (plugin, sqlite)', ''
    )
  }
  if (checks.scaling) {
    const s = checks.scaling
    lines.push(`- userName lookup (filter \`userName eq\`): p50 ${n2(s.smallP50)} ms and ${n0(s.smallRps)} req/s at ${n0(s.small)} users; p50 ${n2(s.largeP50)} ms and ${n0(s.largeRps)} req/s at ${n0(s.large)} users (seeding took ${n0(s.seedSeconds)} s, then ${n0(s.settleSeconds)} s of background work before measuring).`)
  }
  if (checks.soak) {
    const s = checks.soak
    lines.push(`- Soak: ${n0(s.requests)} GET /Users/:id at ${n0(s.rps)} req/s after warm-up; RSS ${s.samplesMb.map(n0).join(' → ')} MB (min ${n0(s.minMb)}, max ${n0(s.maxMb)}).` +
      ` After a full GC before and after: heap in use ${s.heapAfterGcMb.map(n0).join(' → ')} MB, RSS ${s.rssAfterGcMb.map(n0).join(' → ')} MB.`)
  }
  if (checks.boundedSoak) {
    const s = checks.boundedSoak
    lines.push(`- Soak with \`${s.flags.join(' ')}\` (a fresh plugin process on the same file): ${n0(s.requests)} GET /Users/:id at ${n0(s.rps)} req/s; RSS ${s.samplesMb.map(n0).join(' → ')} MB (min ${n0(s.minMb)}, max ${n0(s.maxMb)}).`)
  }
  if (checks.coldStart) {
    const s = checks.coldStart
    lines.push(`- Cold start (spawn of \`node bench/servers/plugin.js\` to the first 200 of \`GET /Users?count=1\`, existing sqlite file with ${n0(s.users)} users): ${s.runsMs.map(n0).join(', ')} ms; (b) bare Fastify opening the same file: ${s.bareRunsMs.map(n0).join(', ')} ms.`)
  }
  lines.push('', '## Targets', '')
  for (const t of found) lines.push(`- ${t.met ? 'met' : '**missed**'}: ${t.text} — ${t.figure}`)
  return lines.join('\n') + '\n'
}
