// Property-based fuzzing of the SCIM Users and Groups endpoints with fast-check, through the real
// plugin (Fastify inject), on a sqlite file and on PostgreSQL: 2,500 generated requests per engine.
//
// Properties, on every response: the status is below 500; a 4xx body is a SCIM error (schemas
// [Error], `status` the status as a string); and nothing is logged at error level. Floors, on a run
// that passes: at least 30% of the requests reach an operation, and every route and every PATCH op
// is used. The status mix is reported.
//
// Design: a run is a SEQUENCE, not a single request. Each fast-check run opens a fresh directory (of
// a generated type: Entra's answers PATCH with 204, for one), sends the prelude (three users and two
// groups shaped like the providers' fixtures) and then 25 generated requests in order, keeping a model
// of the ids alive; requests name resources by index into that model ({{user:3}}), so about half the
// id requests hit a real resource. 100 runs make the 2,500 requests.
// Why sequences: with one request per run against a shared app, a shrunk request would be replayed
// against state that earlier runs (and earlier shrink attempts) left behind, so neither the shrinking
// nor the saved file would be reproducible. A run on a fresh directory is self-contained: fast-check
// shrinks it by taking requests out (each slot can shrink to null) and by shrinking the ones left
// (depths and lengths as integers, strings, filters, bodies field by field), and what remains is the
// few requests that the failure needs, which replay the same on any engine.
// Now and then a request is sent concurrently with the one before it (or a copy of it), for races.
// The first request that breaks a property ends its run. While shrinking, only a failure with the
// same cause (causeOf: route, status and error logged) counts, so shrinking cannot wander off to
// another bug; it stops after SHRINK_BUDGET_MS with the smallest failure so far. The shrunk failure
// is saved to test/fixtures/fuzz/<hash>.json (test/fuzz/replay.test.ts replays every file there on
// both engines) from fast-check's reporter, before the test fails.
//
// The app (harness.ts) is made as the README says, with the plugin's frameworkErrors and
// clientErrorHandler, and a logger into a captured stream; each request carries its own request id, so
// that an error line belongs to the request that logged it. Nothing here touches the plugin's error
// handling: an unknown error still answers 500, and fails the test.
//
// Environment: FUZZ_SEED=<n> replays a run (the seed is printed first); FUZZ_PATH=<path> with it goes
// straight to a shrunk case; FUZZ_REQUESTS=<n> sends n per engine instead of 2,500;
// FUZZ_IGNORE_SAVED=1 passes over failures whose cause a saved file already has (to look for others).
import fc from 'fast-check'
import t, { type Test } from 'tap'
import type { DbOptions } from '../../src/index.js'
import { sqliteFile } from '../helpers/app.js'
import { withService } from '../helpers/services.js'
import { PATCH_OPS, ROUTES, runArb, type GenRun, type Route } from './arbitraries.js'
import {
  batches, buildFuzzApp, causeOf, gitCommit, loadFailures, PRELUDE, saveFailure, savedBody, savedLog, Session, Stats, toWire,
  type Engine, type Exchange, type WireRequest
} from './harness.js'

const LENGTH = 25
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 2500)
const NUM_RUNS = Math.max(1, Math.ceil(REQUESTS / LENGTH))
const REACHED_FLOOR = 0.3
// Shrinking stops after this long (each step replays a run): what it has then is what is saved.
const SHRINK_BUDGET_MS = 30_000
const seed = process.env.FUZZ_SEED !== undefined && process.env.FUZZ_SEED !== '' ? Number(process.env.FUZZ_SEED) : (Math.random() * 0x7fffffff) | 0
const path = process.env.FUZZ_PATH || undefined
const commit = gitCommit()
const ignoreSaved = process.env.FUZZ_IGNORE_SAVED === '1'
const knownCauses = new Set(ignoreSaved ? loadFailures().map(({ failure }) => failure.cause) : [])

// 2 × 2,500 requests take well under a minute; shrinking is bounded by SHRINK_BUDGET_MS per engine.
t.setTimeout(180_000)
t.comment(`fuzz seed ${seed} (FUZZ_SEED=${seed} replays this run), commit ${commit}, ${NUM_RUNS} runs of ${LENGTH} requests per engine`)
if (ignoreSaved) t.comment(`FUZZ_IGNORE_SAVED=1: passing over ${knownCauses.size} known causes`)

/** A run that failed: what it sent up to the failing request's group, and which request failed. */
interface Failing {
  run: GenRun
  exchanges: Exchange[]
  at: number
  cause: string
}

async function fuzz (t: Test, engine: Engine, db: DbOptions): Promise<void> {
  const started = Date.now()
  const fuzzApp = await buildFuzzApp(t, db, engine)
  const stats = new Stats()
  let target: string | undefined // the cause being shrunk, once a run failed
  let failing: Failing | undefined // the last run that failed with it: after shrinking, the smallest
  let shrinkRuns = 0
  let shrinkStarted = 0
  let shrinkCut = false

  const property = fc.asyncProperty(runArb(LENGTH), async (run) => {
    if (target !== undefined) {
      // Past the budget every further candidate passes untried, so that fast-check ends with the smallest so far.
      if (Date.now() - shrinkStarted > SHRINK_BUDGET_MS) {
        shrinkCut = true
        return
      }
      shrinkRuns++
    }
    const session = await Session.open(fuzzApp, run.directoryType)
    const planned: Array<{ request: WireRequest, route?: Route }> = PRELUDE.map((request) => ({ request }))
    for (const generated of run.requests) {
      if (generated === null) continue
      const previous = planned[planned.length - 1]
      const route = generated.together === 'copy-of-previous' ? previous.route ?? 'other' : generated.route
      planned.push({ request: toWire(generated, previous.request), route })
    }
    const exchanges: Exchange[] = []
    for (const group of batches(planned)) {
      const answered = await session.sendTogether(group.map(({ request }) => request))
      exchanges.push(...answered)
      for (const [i, exchange] of answered.entries()) {
        const route = group[i].route
        if (target === undefined && route !== undefined) stats.add(route, exchange)
      }
      for (const exchange of answered) {
        if (exchange.problems.length === 0) continue
        const cause = causeOf(exchange)
        if (target === undefined && knownCauses.has(cause)) {
          stats.ignored.set(cause, (stats.ignored.get(cause) ?? 0) + 1)
          continue
        }
        if (target !== undefined && cause !== target) continue
        if (target === undefined) shrinkStarted = Date.now()
        target = cause
        failing = { run, exchanges, at: exchanges.indexOf(exchange), cause }
        throw new Error(`${exchange.request.method} ${exchange.url.slice(0, 200)} → ${exchange.status}: ${exchange.problems.join('; ').slice(0, 500)}`)
      }
    }
  })

  let failure: { message: string, diagnostics: Record<string, unknown> } | undefined
  await fc.assert(property, {
    seed,
    numRuns: NUM_RUNS,
    ...(path === undefined ? {} : { path }),
    // Shrink: the default. endOnFailure would stop at the first failure unshrunk.
    asyncReporter: async (details) => {
      if (!details.failed) return
      if (failing === undefined) {
        const error = details.errorInstance instanceof Error ? details.errorInstance.stack ?? details.errorInstance.message : String(details.errorInstance)
        failure = {
          message: `${engine}: the fuzz run itself failed in run ${details.numRuns}`,
          diagnostics: { error: error.slice(0, 2000), replay: `FUZZ_SEED=${seed}${details.counterexamplePath ? ` FUZZ_PATH=${details.counterexamplePath}` : ''}` }
        }
        return
      }
      const last = failing.exchanges[failing.at]
      const alongside = failing.exchanges.slice(failing.at + 1).map((e) => e.request)
      const file = saveFailure({
        seed,
        engine,
        commit,
        directoryType: failing.run.directoryType,
        cause: failing.cause,
        problems: last.problems,
        setup: failing.exchanges.slice(0, failing.at).map((e) => e.request),
        request: last.request,
        ...(alongside.length > 0 ? { alongside } : {}),
        sentUrl: last.url,
        status: last.status,
        body: savedBody(last),
        log: last.logs.map(savedLog),
        fastCheckPath: details.counterexamplePath ?? undefined
      })
      failure = {
        message: `${engine}: ${failing.cause}`,
        diagnostics: {
          found: `in run ${details.numRuns} of ${NUM_RUNS}, shrunk in ${details.numShrinks} steps (${shrinkRuns} runs` +
            `${shrinkCut ? `, cut after ${SHRINK_BUDGET_MS / 1000} s` : ''}), after ${failing.at - PRELUDE.length} generated requests (and the prelude)`,
          problems: last.problems,
          request: `${last.request.method} ${last.url.slice(0, 300)}`,
          payload: (last.request.payload ?? '(none)').slice(0, 500),
          answer: `${last.status} ${last.body.slice(0, 300)}`,
          saved: file.slice(file.indexOf('test/fixtures')),
          replay: `FUZZ_SEED=${seed}${details.counterexamplePath ? ` FUZZ_PATH=${details.counterexamplePath}` : ''} npx tap test/fuzz/scim.fuzz.test.ts`
        }
      }
    }
  })

  const seconds = ((Date.now() - started) / 1000).toFixed(1)
  report(t, engine, stats, seconds)
  if (failure !== undefined) {
    t.fail(failure.message, failure.diagnostics)
    return
  }
  t.pass(`${engine}: ${stats.requests} requests, no property broken`)
  // A replay of one case (FUZZ_PATH) sends too few requests for the floors.
  if (path !== undefined) return
  const reached = stats.reached / stats.requests
  t.ok(reached >= REACHED_FLOOR, `${(reached * 100).toFixed(1)}% of the requests reached an operation (floor ${REACHED_FLOOR * 100}%)`)
  t.same(ROUTES.filter((r) => !stats.routes.has(r)), [], 'every route was used')
  t.same(PATCH_OPS.filter((op) => !stats.patchOps.has(op)), [], 'every PATCH op was used')
}

function report (t: Test, engine: Engine, stats: Stats, seconds: string): void {
  const statuses = [...stats.statuses].sort(([a], [b]) => a - b)
  t.comment(`${engine}: ${stats.requests} generated requests in ${seconds} s; ${stats.reached} (${(100 * stats.reached / Math.max(1, stats.requests)).toFixed(1)}%) reached an operation`)
  t.comment('status | count')
  t.comment('------ | -----')
  for (const [status, count] of statuses) t.comment(`${String(status).padEnd(6)} | ${count}`)
  t.comment(`routes: ${[...stats.routes].map(([r, n]) => `${r} ${n}`).join(', ')}`)
  t.comment(`PATCH ops: ${[...stats.patchOps].map(([op, n]) => `${op} ${n}`).join(', ')}`)
  t.comment(`slowest: ${stats.slowest.map((s) => `${s.ms.toFixed(0)} ms ${s.route}`).join(', ')}`)
  for (const [warning, n] of stats.warnings) t.comment(`warning logged ${n}×: ${warning}`)
  for (const [cause, n] of stats.ignored) t.comment(`known failure passed over ${n}×: ${cause}`)
}

t.test('sqlite', (t) => fuzz(t, 'sqlite', sqliteFile(t, 'fuzz.db')))
t.test('postgres', (t) => withService(t, 'postgres', 'fuzz', (t, db) => fuzz(t, 'postgres', db)))
