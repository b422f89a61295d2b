// jackson's and typeorm's messages reach the Fastify logger, never the console, and never carry a secret.
import { Writable } from 'node:stream'
import Database from 'better-sqlite3'
import Fastify from 'fastify'
import t from 'tap'
import fastifyDirectorySync from '../../src/index.js'
import { redact } from '../../src/engine/logging.js'
import { externalUrl, scimUser, sqliteFile } from '../helpers/app.js'
import { createDirectory } from '../helpers/directory.js'

t.test('redact', async (t) => {
  const cases: Array<[string, string]> = [
    ['Authorization: Bearer abc.def-123', 'Authorization: [redacted]'],
    ['token Bearer abc.def-123 sent', 'token Bearer [redacted] sent'],
    ['postgres://user:hunter2@db:5432/x', 'postgres://user:[redacted]@db:5432/x'],
    ['{"secret":"s3cr3t","name":"a"}', '{"secret":"[redacted]","name":"a"}'],
    ['webhook_secret=abc&x=1', 'webhook_secret=[redacted]&x=1'],
    ['password: hunter2', 'password: [redacted]'],
    ['nothing to hide', 'nothing to hide']
  ]
  for (const [input, output] of cases) t.equal(redact(input), output, input)
})

t.test('secrets never reach the logs, and nothing reaches the console', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _enc, done) { lines.push(String(chunk)); done() } })
  const consoleOutput: string[] = []
  const writes = { out: process.stdout.write, err: process.stderr.write }
  const capture = (chunk: unknown) => { consoleOutput.push(String(chunk)); return true }
  process.stdout.write = capture as typeof process.stdout.write
  process.stderr.write = capture as typeof process.stderr.write
  t.after(() => { process.stdout.write = writes.out; process.stderr.write = writes.err })

  const db = sqliteFile(t) as { engine: 'sql', type: 'sqlite', url: string }
  const app = Fastify({ logger: { level: 'trace', stream } })
  t.after(() => app.close())
  await app.register(fastifyDirectorySync, { db, externalUrl })
  const directory = await createDirectory(app, 'acme')
  const webhookSecret = 'whsec-do-not-log'
  await app.directorySync.directories.update(directory.id, { webhook_url: 'http://127.0.0.1:9/hook', webhook_secret: webhookSecret })
  const request = { directoryId: directory.id, resourceType: 'users', resourceId: undefined, apiSecret: directory.scim.secret, query: {} }
  await app.directorySync.requests.handle({ ...request, method: 'POST', body: scimUser('jane@acme.example.com') })

  // Make jackson's copy fail: its failure is logged, without the record it was writing.
  const raw = new Database(db.url)
  raw.exec('DROP TABLE jackson_index')
  raw.close()
  await app.directorySync.requests.handle({ ...request, method: 'POST', body: scimUser('john@acme.example.com') }).catch(() => {})
  // jackson's copy is written after the response, from the event queue: wait for its failure to be logged.
  for (let waited = 0; waited < 5000 && !lines.join('').includes('event delivery failed'); waited += 50) await new Promise((resolve) => setTimeout(resolve, 50))

  process.stdout.write = writes.out
  process.stderr.write = writes.err
  const logs = lines.join('')
  t.ok(lines.some((line) => line.includes('event delivery failed') && line.includes('no such table: jackson_index')), 'the failed write of jackson\'s copy was reported through the Fastify logger')
  t.notOk(logs.includes(directory.scim.secret), 'the SCIM token is not in the logs')
  t.notOk(logs.includes(webhookSecret), 'the webhook secret is not in the logs')
  t.notOk(logs.includes('john@acme.example.com'), 'query parameters (stored records) are not in the logs')
  t.same(consoleOutput, [], 'nothing was written to the console')
})
