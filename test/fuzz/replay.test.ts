// Replays every failure the fuzzer saved (test/fixtures/fuzz/*.json, written by scim.fuzz.test.ts) on
// a sqlite file and on PostgreSQL, whichever engine found it: each file's setup requests and then its
// request, on a fresh directory of its type, and asserts the fuzzer's properties on every answer (no
// 5xx, a SCIM error body for every 4xx, nothing logged at error level).
import t, { type Test } from 'tap'
import type { DbOptions } from '../../src/index.js'
import { sqliteFile } from '../helpers/app.js'
import { withService } from '../helpers/services.js'
import { batches, buildFuzzApp, describeLog, loadFailures, Session, type Engine } from './harness.js'

const saved = loadFailures()

async function replayAll (t: Test, engine: Engine, db: DbOptions): Promise<void> {
  if (saved.length === 0) {
    t.pass('no saved fuzz failures')
    return
  }
  const fuzzApp = await buildFuzzApp(t, db, engine)
  for (const { file, failure } of saved) {
    await t.test(`${file}: ${failure.cause}`, async (t) => {
      const session = await Session.open(fuzzApp, failure.directoryType)
      const requests = [...failure.setup, failure.request, ...failure.alongside ?? []]
      const last = failure.setup.length
      const broken: string[] = []
      let i = 0
      for (const group of batches(requests.map((request) => ({ request })))) {
        for (const exchange of await session.sendTogether(group.map(({ request }) => request))) {
          const what = `${i === last ? 'the request' : i < last ? `setup ${i + 1}` : `alongside ${i - last}`}: ${exchange.request.method} ${exchange.url.slice(0, 160)} → ${exchange.status}`
          i++
          if (exchange.problems.length === 0) continue
          broken.push(what)
          t.fail(what, {
            problems: exchange.problems,
            body: exchange.body.slice(0, 500),
            log: exchange.logs.filter((l) => l.level >= 50).map(describeLog)
          })
        }
      }
      if (broken.length === 0) t.pass(`${requests.length} requests (the last as saved from ${failure.engine}), every answer keeps the properties`)
    })
  }
}

t.test('sqlite', (t) => replayAll(t, 'sqlite', sqliteFile(t, 'fuzz-replay.db')))
t.test('postgres', (t) => withService(t, 'postgres', 'fuzz_replay', (t, db) => replayAll(t, 'postgres', db)))
