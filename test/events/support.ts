// Shared by the event tests (not a test file itself): SCIM calls against one directory, waiting for a
// condition, running a test on a sqlite file and on PostgreSQL, a signed-webhook receiver, and host apps
// in processes of their own.
import { spawn, type ChildProcess } from 'node:child_process'
import { createHmac, timingSafeEqual } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'
import type { CreateDirectoryParams, DbOptions, Directory } from '../../src/index.js'
import { scimUser, sqliteFile } from '../helpers/app.js'
import { withService } from '../helpers/services.js'

export const SCIM = 'application/scim+json'
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

export interface Scim {
  directory: Directory
  send (method: Method, path: string, body?: unknown): Promise<LightMyRequestResponse>
  /** POSTs a user; answers the response, its id and how long the request took. */
  createUser (userName: string): Promise<{ res: LightMyRequestResponse, id: string, ms: number }>
  /** PATCHes a user's givenName; answers the response and how long it took. */
  rename (userId: string, givenName: string): Promise<{ res: LightMyRequestResponse, ms: number }>
}

let tenants = 0

/** A new directory (optionally with a webhook) and SCIM calls to it through `app.inject`. */
export async function openScim (app: FastifyInstance, params: Partial<CreateDirectoryParams> = {}): Promise<Scim> {
  const tenant = `events-${process.pid}-${++tenants}`
  const { data: directory, error } = await app.directorySync.directories.create({ tenant, product: 'events', type: 'generic-scim-v2', name: tenant, ...params })
  if (error) throw new Error(`creating directory for ${tenant}: ${error.message}`)
  return scimFor(app, directory)
}

/** SCIM calls to an existing directory through `app` (another instance may have created it). */
export function scimFor (app: FastifyInstance, directory: Directory): Scim {
  const base = `/api/scim/v2.0/${directory.id}`
  const auth = { authorization: `Bearer ${directory.scim.secret}` }
  const send: Scim['send'] = (method, path, body) => body === undefined
    ? app.inject({ method, url: base + path, headers: auth })
    : app.inject({ method, url: base + path, headers: { ...auth, 'content-type': SCIM }, payload: JSON.stringify(body) })
  return {
    directory,
    send,
    async createUser (userName) {
      const started = performance.now()
      const res = await send('POST', '/Users', scimUser(userName))
      const ms = performance.now() - started
      if (res.statusCode !== 201) throw new Error(`POST /Users ${userName} answered ${res.statusCode}: ${res.body}`)
      return { res, id: res.json().id, ms }
    },
    async rename (userId, givenName) {
      const started = performance.now()
      const res = await send('PATCH', `/Users/${userId}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'name.givenName', value: givenName }] })
      const ms = performance.now() - started
      if (res.statusCode !== 200 && res.statusCode !== 204) throw new Error(`PATCH /Users/${userId} answered ${res.statusCode}: ${res.body}`)
      return { res, ms }
    }
  }
}

/** Polls `done` every 20 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function until (what: string, done: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!await done()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(20)
  }
}

export type Engine = 'sqlite file' | 'postgres'

/**
 * Runs `fn` as a subtest on a fresh sqlite file and on a fresh PostgreSQL database (named after `name`,
 * which must be unique among all test files; skipped when PostgreSQL is down unless DSYNC_REQUIRE_SERVICES=1).
 */
export async function onSqlEngines (t: Test, name: string, fn: (t: Test, db: DbOptions, engine: Engine) => Promise<void>): Promise<void> {
  await t.test(`sqlite file: ${name}`, (st) => fn(st, sqliteFile(st), 'sqlite file'))
  await withService(t, 'postgres', `ev_${name}`, (st, db) => fn(st, db, 'postgres'))
}

/** Checks a `t=<ms>,s=<hex>` signature over the raw body with the secret, as jackson's receivers do. */
export function verifySignature (header: string | undefined, secret: string, rawBody: string): { valid: boolean, timestamp: number } {
  const match = /^t=(\d+),s=([0-9a-f]{64})$/.exec(header ?? '')
  if (match === null) return { valid: false, timestamp: NaN }
  const expected = createHmac('sha256', secret).update(`${match[1]}.${rawBody}`).digest()
  return { valid: timingSafeEqual(expected, Buffer.from(match[2], 'hex')), timestamp: Number(match[1]) }
}

export interface Delivery {
  rawBody: string
  body: any
  headers: http.IncomingHttpHeaders
  /** Both signature headers verified with the secret over the raw body. */
  valid: boolean
  timestamp: number
  status: number
  at: number
}

/**
 * A webhook receiver on 127.0.0.1 (port 0), closed when the test ends. `answer` picks the status for
 * each request (given the parsed body) and may delay; every request is kept in `deliveries`.
 */
export async function receiver (t: Test, secret: string, answer: (body: any) => number | Promise<number> = () => 200) {
  const deliveries: Delivery[] = []
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', async () => {
      const rawBody = Buffer.concat(chunks).toString('utf8')
      let body: any
      try { body = JSON.parse(rawBody) } catch { body = undefined }
      const boxy = verifySignature(req.headers['boxyhq-signature'] as string | undefined, secret, rawBody)
      const ory = verifySignature(req.headers['ory-polis-signature'] as string | undefined, secret, rawBody)
      const delivery: Delivery = { rawBody, body, headers: req.headers, valid: boxy.valid && ory.valid, timestamp: boxy.timestamp, status: 0, at: Date.now() }
      deliveries.push(delivery)
      try {
        delivery.status = await answer(body)
      } catch {
        delivery.status = 500
      }
      if (!res.destroyed) res.writeHead(delivery.status, { 'content-type': 'text/plain' }).end('ok')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  }))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, deliveries }
}

const childScript = fileURLToPath(new URL('./children/crash-app.ts', import.meta.url))

export interface Child {
  proc: ChildProcess
  /** Every JSON line printed so far. */
  lines: any[]
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  ready: { ready: string, directory?: Directory }
}

/**
 * A host app in a process of its own (children/crash-app.ts), its JSON lines collected; killed when the
 * test ends. `settings`: `short` (a 1 s lease, fast polling) or `defaults`.
 */
export async function startChild (t: Test, mode: 'die' | 'collect', db: DbOptions, settings = 'short'): Promise<Child> {
  const proc = spawn(process.execPath, ['--import', 'tsx', childScript, mode, JSON.stringify(db), settings], { stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: any[] = []
  let pending = ''
  let stderr = ''
  proc.stdout!.on('data', (chunk) => {
    pending += chunk
    const parts = pending.split('\n')
    pending = parts.pop()!
    for (const line of parts) if (line.trim() !== '') lines.push(JSON.parse(line))
  })
  proc.stderr!.on('data', (chunk) => { stderr += chunk })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })))
  let gone = false
  exited.then(() => { gone = true }, () => {})
  t.teardown(async () => {
    if (gone) return
    proc.kill('SIGTERM')
    const killer = setTimeout(() => proc.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(killer)
  })
  try {
    await until(`the ${mode} child to listen`, () => {
      if (gone) throw new Error(`the ${mode} child exited before listening: ${stderr}`)
      return lines.some((l) => l.ready !== undefined)
    }, 30_000)
  } catch (err) {
    proc.kill('SIGKILL')
    throw err
  }
  return { proc, lines, exited, ready: lines.find((l) => l.ready !== undefined) }
}
