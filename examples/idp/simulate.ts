// An identity-provider simulator: replays Okta's, Entra ID's, OneLogin's or JumpCloud's provisioning
// sequence (dialects.ts, scenario.ts) against any SCIM base URL, then reads every user, group and
// membership back and compares them with what it expects (readback.ts).
//   npm run example:idp -- --provider okta --users 20 --url <SCIM base URL> --token <token>
// Exit codes: 0 all as expected, 1 a mismatch or a failed request (each printed), 2 bad arguments.
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { parseBaseUrl, RequestFailure, ScimClient } from './client.js'
import { DIRECTORY_TYPES, dialectFor, PROVIDERS, type Provider } from './dialects.js'
import { readBack, type Mismatch } from './readback.js'
import { expectedState, plan, runScenario, SequenceFailed } from './scenario.js'

const USAGE = `Usage: npm run example:idp -- --provider <name> --url <SCIM base URL> --token <token> [options]

Replays an identity provider's provisioning sequence against a SCIM 2.0 base URL (users with an
existence check, group push, membership changes, profile updates, deactivations, deletions), then
reads everything back and exits 1 on any difference.

  --provider <name>     ${PROVIDERS.join(' | ')} (directory types: ${PROVIDERS.map((p) => DIRECTORY_TYPES[p]).join(', ')})
  --url <url>           the directory's SCIM base URL (its scim.endpoint). For entra, the Tenant URL as
                        given, e.g. https://host/api/scim/v2.0/<id>/?aadOptscim062020: the flag selects
                        Entra's RFC 7644 dialect and is not sent on requests; without it, Entra's default
                        dialect ("Replace", "False")
  --token <token>       the directory's SCIM token (or the SCIM_TOKEN environment variable)
  --users <n>           how many users to provision (default 10, at most 10000)
  --seed <n>            seed for names and choices (default 1)
  --run-id <id>         the run id in every userName and group name (default: random, so that runs
                        against one directory do not collide); letters, digits and '-', at most 20
  --concurrency <k>     parallel requests for per-user phases (default 4, at most 64)
  --quiet               no progress lines; only the result (OK line or mismatches)
  --help                this text

Exit codes: 0 everything as expected, 1 mismatches or failed requests, 2 bad arguments.
Example server: npm run example (prints a base URL and token); another directory:
npm run directory -- create --tenant acme --type okta-scim-v2
`

function usageError (message: string): never {
  process.stderr.write(`error: ${message}\n\n${USAGE}`)
  process.exit(2)
}

function integer (name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback
  if (!/^\d+$/.test(raw)) usageError(`--${name} must be a whole number, got ${JSON.stringify(raw)}`)
  const value = Number(raw)
  if (value < min || value > max) usageError(`--${name} must be from ${min} to ${max}, got ${value}`)
  return value
}

// A token is 16 random bytes in base64url: one in 64 starts with '-', which parseArgs takes for an
// option of its own ("--token -XYZ is ambiguous"). The value after a string option is that option's.
const STRING_OPTIONS = new Set(['--provider', '--users', '--url', '--token', '--seed', '--run-id', '--concurrency'])
const given = process.argv.slice(2)
const argv: string[] = []
for (let i = 0; i < given.length; i++) {
  if (STRING_OPTIONS.has(given[i]) && i + 1 < given.length) argv.push(`${given[i]}=${given[++i]}`)
  else argv.push(given[i])
}

let parsed
try {
  parsed = parseArgs({
    args: argv,
    options: {
      provider: { type: 'string' },
      users: { type: 'string' },
      url: { type: 'string' },
      token: { type: 'string' },
      seed: { type: 'string' },
      'run-id': { type: 'string' },
      concurrency: { type: 'string' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false }
    },
    strict: true,
    allowPositionals: false
  })
} catch (err) {
  usageError((err as Error).message)
}
const args = parsed.values
if (args.help) {
  process.stdout.write(USAGE)
  process.exit(0)
}

const provider = args.provider as Provider
if (provider === undefined) usageError('--provider is required')
if (!PROVIDERS.includes(provider)) usageError(`--provider must be one of ${PROVIDERS.join(', ')}, got ${JSON.stringify(provider)}`)
if (args.url === undefined) usageError('--url is required')
const token = args.token ?? process.env.SCIM_TOKEN
if (token === undefined || token === '') usageError('--token is required (or SCIM_TOKEN)')
const users = integer('users', args.users, 10, 1, 10_000)
const seed = integer('seed', args.seed, 1, 0, 2 ** 32 - 1)
const concurrency = integer('concurrency', args.concurrency, 4, 1, 64)
const runId = args['run-id'] ?? randomBytes(3).toString('hex')
if (!/^[A-Za-z0-9-]{1,20}$/.test(runId)) usageError(`--run-id must be 1-20 letters, digits or '-', got ${JSON.stringify(runId)}`)
let target
try {
  target = parseBaseUrl(args.url, provider)
} catch (err) {
  usageError((err as Error).message)
}

const quiet = args.quiet
const tty = process.stdout.isTTY === true && !quiet
const say = (line: string) => { if (!quiet) process.stdout.write(line + '\n') }
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`
const clip = (text: string) => text.length > 2000 ? `${text.slice(0, 2000)}… (${text.length} characters)` : text

function printMismatches (mismatches: Mismatch[]): void {
  for (const m of mismatches) {
    process.stderr.write(`MISMATCH ${m.what}: ${m.detail}\n`)
    if (m.body !== undefined && m.body !== '') process.stderr.write(`  response body: ${clip(m.body)}\n`)
  }
}

const dialect = dialectFor(provider, target.entraFlag)
const client = new ScimClient(target, token, { 'User-Agent': dialect.userAgent })
const thePlan = plan(provider, users, seed, runId)
const phases = ['users', 'groups', 'membership changes', 'profile updates', 'deactivations', 'deletions', 'read-back']
const started = performance.now()
const timings: string[] = []

say(`${dialect.label} -> ${target.base} (run ${runId}, seed ${seed}, ${users} users)`)
for (const note of target.notes) say(`  note: ${note}`)

let failed: Mismatch[] = []
try {
  const run = await runScenario(thePlan, dialect, client, {
    concurrency,
    onPhase: ({ name, summary, ms }) => {
      if (tty) process.stdout.write('\r\x1b[K')
      say(`${phases.indexOf(name) + 1}/${phases.length} ${name}: ${summary} (${seconds(ms)})`)
      timings.push(`${name} ${seconds(ms)}`)
    },
    onProgress: tty ? (done, total) => process.stdout.write(`\r\x1b[K1/${phases.length} users: ${done}/${total}`) : undefined
  })
  const readStarted = performance.now()
  const expected = expectedState(thePlan)
  const result = await readBack(expected, run, dialect, client, concurrency)
  const readMs = performance.now() - readStarted
  say(`7/${phases.length} read-back: ${result.users} users by id and by filter, ${result.deleted} deleted users, ${result.groups} groups, ` +
    `${result.memberships} memberships checked (${seconds(readMs)})`)
  timings.push(`read-back ${seconds(readMs)}`)
  if (result.activeAbsent > 0) say(`  note: ${result.activeAbsent} reads of active users carried no "active" attribute (counted as active: RFC 7643 gives it no default)`)
  failed = result.mismatches
  say(`total ${seconds(performance.now() - started)}, ${client.requests} requests (${timings.join(', ')})`)
  if (failed.length === 0) {
    process.stdout.write(`OK: ${result.users} users, ${result.groups} groups, ${result.memberships} memberships as expected\n`)
  }
} catch (err) {
  if (tty) process.stdout.write('\r\x1b[K')
  if (err instanceof SequenceFailed) {
    process.stderr.write(`Stopped in phase "${err.phase}": later phases depend on it.\n`)
    failed = err.problems.map((p) => ({ what: `${p.what}: ${p.failure.request}`, detail: p.failure.detail, body: p.failure.body }))
  } else if (err instanceof RequestFailure) {
    process.stderr.write('Stopped: the server refused the provider or could not be reached.\n')
    failed = [{ what: err.request, detail: err.detail, body: err.body }]
  } else {
    throw err
  }
}

if (failed.length > 0) {
  printMismatches(failed)
  process.stderr.write(`FAILED: ${failed.length} mismatch${failed.length === 1 ? '' : 'es'} (${client.requests} requests, ${seconds(performance.now() - started)})\n`)
  process.exitCode = 1
}
