// What the fuzz test and the replay of its saved failures share: an app whose log is captured, a
// session on a fresh directory with a model of the resources created in it, requests turned from
// recipes into bytes, the properties every response must have, and the saved-failure files.
//
// A request is kept in a symbolic form (WireRequest) until it is sent: `{{base}}` is the directory's
// SCIM base path, `{{token}}` its bearer token, `{{user:N}}` / `{{group:N}}` the N-th user or group
// alive at that moment in the session's model (modulo their number; a fixed unknown id when there is
// none), `{{self}}` the resource the URL names. A saved failure keeps that form, so that it replays on
// a fresh directory of any engine: the setup requests before it create the same resources again.
import { createHash } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { isDeepStrictEqual } from 'node:util'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import fastifyDirectorySync, { clientErrorHandler, frameworkErrors, type DbOptions, type Directory } from '../../src/index.js'
import { externalUrl } from '../helpers/app.js'
import { CORE_GROUP, CORE_USER, ENTERPRISE, PATCH_OP, PATCH_OPS, SEARCH, type Body, type GenRequest, type J, type Route } from './arbitraries.js'

export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error'
export const FAILURE_FOLDER = fileURLToPath(new URL('../fixtures/fuzz/', import.meta.url))
const NO_SUCH_ID = '00000000-0000-4000-8000-000000000000'

export type Engine = 'sqlite' | 'postgres'

const REQUEST_ID_HEADER = 'x-fuzz-request'
let requestIds = 0

/** A request as saved and replayed; placeholders are resolved when it is sent. */
export interface WireRequest {
  method: string
  url: string
  headers: Record<string, string>
  payload?: string
  /** Sent concurrently with the request before it (rather than after its answer). */
  concurrent?: true
}

/** One line of the captured log (pino's JSON), as much of it as a report needs. */
export interface LogLine {
  level: number
  msg?: string
  err?: { type?: string, message?: string, stack?: string, code?: string }
  [key: string]: unknown
}

/** A request sent and what came back. */
export interface Exchange {
  request: WireRequest
  /** The URL as sent (placeholders resolved). */
  url: string
  status: number
  body: string
  json: any
  /** Warning- and error-level lines written while it ran. */
  logs: LogLine[]
  ms: number
  /** The properties it broke (none: it passed). */
  problems: string[]
}

// ---- the app -------------------------------------------------------------------------------------------

export interface FuzzApp {
  app: FastifyInstance
  engine: Engine
  /** Every line the app logged at warn level or above, parsed. */
  logs: LogLine[]
}

/**
 * The plugin on `db`, in a Fastify instance made as the README says (with the plugin's frameworkErrors
 * and clientErrorHandler, so that a URL that does not decode or a too long id answers a SCIM error),
 * with a logger writing to a captured stream. The level is 'warn': the property is about error-level
 * lines (pino level 50 and up); warnings (a failed event delivery that will be retried, say) are kept
 * only to be reported.
 */
export async function buildFuzzApp (t: Test, db: DbOptions, engine: Engine): Promise<FuzzApp> {
  const logs: LogLine[] = []
  const stream = {
    write (line: string) {
      try {
        logs.push(JSON.parse(line))
      } catch {
        logs.push({ level: 60, msg: `unparsable log line: ${line}` })
      }
    }
  }
  // Each request's log lines carry the id the harness gives it (x-fuzz-request), so that lines of
  // requests sent together are told apart.
  const app = Fastify({ logger: { level: 'warn', stream }, requestIdHeader: REQUEST_ID_HEADER, frameworkErrors, clientErrorHandler })
  t.after(() => app.close())
  await app.register(fastifyDirectorySync, { db, externalUrl })
  await app.ready()
  return { app, engine, logs }
}

// ---- recipes to bytes ------------------------------------------------------------------------------------

/** JSON text of a recipe value, keys and number literals exactly as given. */
export function jsonText (value: J): string {
  if (value === null || typeof value !== 'object') {
    // JSON.stringify writes NaN/Infinity as null; fast-check's doubles are finite here anyway.
    return typeof value === 'number' && !Number.isFinite(value) ? 'null' : JSON.stringify(value)
  }
  if (Array.isArray(value)) return '[' + value.map(jsonText).join(',') + ']'
  if ('$n' in value) return value.$n
  return '{' + value.$o.map(([k, v]) => JSON.stringify(k) + ':' + jsonText(v)).join(',') + '}'
}

function nested (depth: number, shape: 'array' | 'object' | 'mixed'): string {
  const opens: string[] = []
  const closes: string[] = []
  for (let i = 0; i < depth; i++) {
    const array = shape === 'array' || (shape === 'mixed' && i % 2 === 0)
    opens.push(array ? '[' : '{"a":')
    closes.push(array ? ']' : '}')
  }
  return opens.join('') + '"leaf"' + closes.reverse().join('')
}

function bodyText (body: Body, kind: 'user' | 'group'): string {
  switch (body.t) {
    case 'json': return jsonText(body.v)
    case 'raw': return body.text
    case 'deep': {
      const deep = nested(body.depth, body.shape)
      switch (body.inside) {
        case 'root': return deep
        case 'attribute': return kind === 'user'
          ? `{"schemas":["${CORE_USER}"],"userName":"deep@example.com","name":${deep}}`
          : `{"schemas":["${CORE_GROUP}"],"displayName":"Deep","x":${deep}}`
        case 'patch': return body.shape === 'object'
          ? `{"schemas":["${PATCH_OP}"],"Operations":[{"op":"replace","value":${deep}}]}`
          : `{"schemas":["${PATCH_OP}"],"Operations":[{"op":"add","path":"x","value":${deep}}]}`
        case 'search': return `{"schemas":["${SEARCH}"],"filter":"userName pr","attributes":${deep}}`
      }
      break
    }
    case 'huge': {
      const items = new Array(body.length).fill(jsonText(body.item)).join(',')
      switch (body.inside) {
        case 'root': return `[${items}]`
        case 'attribute': return kind === 'user'
          ? `{"schemas":["${CORE_USER}","${ENTERPRISE}"],"userName":"huge@example.com","emails":[${items}]}`
          : `{"schemas":["${CORE_GROUP}"],"displayName":"Huge","x":[${items}]}`
        case 'members': return `{"schemas":["${CORE_GROUP}"],"displayName":"Huge","members":[${items}]}`
        case 'operations': return `{"schemas":["${PATCH_OP}"],"Operations":[${items}]}`
        case 'patch': return `{"schemas":["${PATCH_OP}"],"Operations":[{"op":"add","path":"${kind === 'user' ? 'emails' : 'members'}","value":[${items}]}]}`
        case 'search': return `{"schemas":["${SEARCH}"],"filter":"userName pr","attributes":[${items}]}`
      }
    }
  }
  throw new Error(`unknown body recipe ${JSON.stringify(body).slice(0, 100)}`)
}

/** The symbolic request a recipe describes; `previous` is the request sent before it. */
export function toWire (request: GenRequest, previous?: WireRequest): WireRequest {
  if (request.together === 'copy-of-previous' && previous !== undefined) return { ...previous, concurrent: true }
  const headers: Record<string, string> = {}
  if (request.auth === 'ok') headers.authorization = 'Bearer {{token}}'
  else if (request.auth === 'wrong') headers.authorization = 'Bearer not-the-token'
  else if (request.auth === 'scheme') headers.authorization = 'Basic {{token}}'
  const wire: WireRequest = { method: request.method, url: '{{base}}' + request.path, headers }
  if (request.body !== undefined) {
    if (request.contentType !== null) headers['content-type'] = request.contentType
    wire.payload = bodyText(request.body, request.route.includes('Groups') ? 'group' : 'user')
  }
  if (request.together !== undefined && previous !== undefined) wire.concurrent = true
  return wire
}

/** Requests in the groups they are sent in: one sent `concurrent` joins the group before it. */
export function batches<T extends { request: WireRequest }> (items: T[]): T[][] {
  const out: T[][] = []
  for (const item of items) {
    if (item.request.concurrent === true && out.length > 0) out[out.length - 1].push(item)
    else out.push([item])
  }
  return out
}

// ---- the properties ----------------------------------------------------------------------------------------

/** The properties every response must have; answers those it breaks. */
export function problemsOf (status: number, json: any, body: string, logs: LogLine[]): string[] {
  const problems: string[] = []
  if (status >= 500) problems.push(`answered ${status}`)
  if (status >= 400 && status < 500) {
    if (json === undefined) problems.push(`a ${status} whose body is not JSON: ${body.slice(0, 200)}`)
    else if (!isDeepStrictEqual(json?.schemas, [ERROR_SCHEMA]) || json?.status !== String(status)) {
      problems.push(`a ${status} whose body is not a SCIM error: ${body.slice(0, 200)}`)
    }
  }
  for (const line of logs.filter((l) => l.level >= 50)) problems.push(`logged an error: ${describeLog(line)}`)
  return problems
}

export function describeLog (line: LogLine): string {
  const err = line.err
  return err === undefined ? String(line.msg) : `${line.msg ?? ''} (${err.type ?? 'Error'}: ${err.message ?? ''})`
}

const normalise = (text: string) => text
  .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '<id>')
  .replace(/"[^"]*"/g, '"…"')
  .replace(/'[^']*'/g, "'…'")
  .replace(/\d+/g, 'N')
  .slice(0, 160)

/**
 * What a failure is about, the same for every request that trips the same defect: the status and the
 * error logged (its class and message, without ids, quoted text and numbers), or the kind of bad body.
 */
export function causeOf (exchange: Pick<Exchange, 'request' | 'url' | 'status' | 'json' | 'logs' | 'problems'>): string {
  const error = exchange.logs.find((l) => l.level >= 50)
  // A server error is about the code path too: the same database error from a filter and from a PUT are two defects.
  const route = routeOf(exchange.request.method, exchange.url)
  if (error !== undefined) return `${route} → ${exchange.status} ${normalise(error.err === undefined ? String(error.msg) : `${error.err.type ?? 'Error'}: ${error.err.message ?? ''}`)}`
  if (exchange.status >= 500) return `${route} → ${exchange.status} without an error logged`
  // Fastify's own error bodies have a code (FST_ERR_…): it names the cause better than the message.
  const json = exchange.json
  const detail = typeof json?.code === 'string' ? json.code : typeof json?.detail === 'string' ? json.detail : typeof json?.message === 'string' ? json.message : ''
  return `${exchange.status} not a SCIM error: ${normalise(detail)}`
}

/** The route a request went to: method, collection, and :id / .search. */
export function routeOf (method: string, url: string): string {
  const path = url.split('?')[0].replace(/^\/api\/scim\/v2\.0\/[^/]+/, '')
  const match = /^\/(users|groups)(?:\/(.*))?$/i.exec(path)
  if (match === null) return `${method} ${path.slice(0, 40)}`
  const collection = match[1].toLowerCase() === 'users' ? 'Users' : 'Groups'
  const rest = match[2] ?? ''
  return `${method} /${collection}${rest === '' ? '' : rest === '.search' ? '/.search' : '/:id'}`
}

// ---- a session: one directory, its model, requests sent in order ------------------------------------------

let tenants = 0

export class Session {
  readonly base: string
  readonly token: string
  /** Ids of the users and groups alive, in the order they were created. */
  readonly users: string[] = []
  readonly groups: string[] = []

  constructor (readonly fuzz: FuzzApp, readonly directory: Directory) {
    this.base = `/api/scim/v2.0/${directory.id}`
    this.token = directory.scim.secret
  }

  static async open (fuzz: FuzzApp, type: string): Promise<Session> {
    const tenant = `fuzz-${process.pid}-${++tenants}`
    const { data, error } = await fuzz.app.directorySync.directories.create({ tenant, product: 'fuzz', type: type as Directory['type'], name: tenant })
    if (error) throw new Error(`creating a ${type} directory: ${error.message}`)
    return new Session(fuzz, data)
  }

  private pick (list: string[], n: number): string {
    return list.length === 0 ? NO_SUCH_ID : list[n % list.length]
  }

  /** `text` with its placeholders resolved; `self` is what {{self}} stands for. */
  resolve (text: string, self = NO_SUCH_ID): string {
    return text.replace(/\{\{(base|token|self|user|group)(?::(\d+))?\}\}/g, (_whole, name: string, n?: string) => {
      switch (name) {
        case 'base': return this.base
        case 'token': return this.token
        case 'self': return self
        case 'user': return this.pick(this.users, Number(n ?? 0))
        default: return this.pick(this.groups, Number(n ?? 0))
      }
    })
  }

  async send (request: WireRequest): Promise<Exchange> {
    return (await this.sendTogether([request]))[0]
  }

  /**
   * Sends requests concurrently (placeholders resolved against the model as it is before them); the
   * model takes their answers in order. A line logged meanwhile belongs to the request whose id it
   * carries, or, without one (work done outside a request), to each of them.
   */
  async sendTogether (requests: WireRequest[]): Promise<Exchange[]> {
    const logged = this.fuzz.logs.length
    const sent = await Promise.all(requests.map((request) => this.inject(request)))
    // A line logged just after the answer (an event delivered on the next turn) still belongs to it.
    await new Promise((resolve) => setImmediate(resolve))
    const lines = this.fuzz.logs.slice(logged)
    const ids = new Set(sent.map(({ id }) => id))
    return sent.map(({ id, request, url, status, body, ms }) => {
      let json: any
      try {
        json = body === '' ? undefined : JSON.parse(body)
      } catch {}
      const logs = lines.filter((line) => line.reqId === id || !ids.has(String(line.reqId)))
      const problems = status === 0 ? [body] : problemsOf(status, json, body, logs)
      this.track(request.method, url, status, json)
      return { request, url, status, body, json, logs, ms, problems }
    })
  }

  private async inject (request: WireRequest) {
    const url = this.resolve(request.url)
    const self = targetId(url) ?? NO_SUCH_ID
    const id = `fuzz-${++requestIds}`
    const headers = { ...Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, this.resolve(v)])), [REQUEST_ID_HEADER]: id }
    const payload = request.payload === undefined ? undefined : this.resolve(request.payload, self)
    const started = performance.now()
    let status: number
    let body: string
    try {
      const res = await this.fuzz.app.inject({ method: request.method as 'GET', url, headers, ...(payload === undefined ? {} : { payload }) })
      status = res.statusCode
      body = res.body
    } catch (err) {
      status = 0
      body = `inject threw: ${(err as Error).message}`
    }
    return { id, request, url, status, body, ms: performance.now() - started }
  }

  /** Keeps the model: a 201 adds the resource created, a 204 to a DELETE takes the resource out. */
  private track (method: string, url: string, status: number, json: any) {
    if (method === 'POST' && status === 201 && typeof json?.id === 'string') {
      if (json.meta?.resourceType === 'Group') this.groups.push(json.id)
      else this.users.push(json.id)
    }
    if (method === 'DELETE' && status === 204) {
      const id = targetId(url)
      for (const list of [this.users, this.groups]) {
        const at = list.indexOf(id ?? '')
        if (at >= 0) list.splice(at, 1)
      }
    }
  }
}

/** The id a resource URL names (decoded), if it names one. */
function targetId (url: string): string | undefined {
  const raw = /\/(?:Users|Groups)\/([^/?]+)/i.exec(url)?.[1]
  if (raw === undefined || raw === '.search') return undefined
  try {
    return decodeURIComponent(raw)
  } catch {
    return raw
  }
}

// ---- the prelude: what every run starts with -------------------------------------------------------------

const json = (body: unknown) => JSON.stringify(body)
const post = (path: string, body: unknown): WireRequest => ({
  method: 'POST', url: `{{base}}${path}`, headers: { authorization: 'Bearer {{token}}', 'content-type': 'application/scim+json' }, payload: json(body)
})

/**
 * Three users and two groups, shaped like the providers' fixtures (Okta, Entra, OneLogin), so that
 * about half the requests naming an id find a resource from the first request on.
 */
export const PRELUDE: WireRequest[] = [
  post('/Users', {
    schemas: [CORE_USER],
    userName: 'priya.raman@example.com',
    name: { givenName: 'Priya', familyName: 'Raman' },
    emails: [{ primary: true, value: 'priya.raman@example.com', type: 'work' }],
    displayName: 'Priya Raman',
    locale: 'en-US',
    externalId: '00ujl29u0le5T6Aj10h7',
    groups: [],
    password: '1mz050nq',
    active: true
  }),
  post('/Users', {
    schemas: [CORE_USER, ENTERPRISE],
    externalId: 'mlindqvist',
    userName: 'mateo.lindqvist@example.org',
    active: true,
    displayName: 'Mateo Lindqvist',
    emails: [{ primary: true, type: 'work', value: 'mateo.lindqvist@example.org' }],
    meta: { resourceType: 'User' },
    name: { formatted: 'Mateo Lindqvist', familyName: 'Lindqvist', givenName: 'Mateo' },
    [ENTERPRISE]: { department: 'Finance', employeeNumber: '4711' }
  }),
  post('/Users', {
    schemas: [CORE_USER],
    userName: 'olu.adebayo@example.net',
    name: { givenName: 'Olu', familyName: 'Adebayo', formatted: 'Olu Adebayo' },
    emails: { value: 'olu.adebayo@example.net', type: 'work', primary: true }
  }),
  post('/Groups', {
    schemas: [CORE_GROUP],
    displayName: 'Field Engineering',
    members: [{ value: '{{user:0}}', display: 'priya.raman@example.com' }, { value: '{{user:1}}' }]
  }),
  post('/Groups', {
    schemas: [CORE_GROUP, 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group'],
    externalId: '5b0e3c8a-71d2-4f69-9a0b-c4e7d21f8a36',
    displayName: 'Finance Approvers',
    meta: { resourceType: 'Group' }
  })
]

// ---- statistics ----------------------------------------------------------------------------------------------

/** Whether the operation itself answered, rather than auth, routing, the body parser or the query schema. */
export function reachedOperation (route: Route, exchange: Exchange): boolean {
  if (route === 'other') return false
  if (exchange.status >= 200 && exchange.status < 300) return true
  if (![400, 404, 409].includes(exchange.status)) return false
  const detail = typeof exchange.json?.detail === 'string' ? exchange.json.detail : ''
  return !/^No SCIM endpoint|not valid JSON|^(querystring|params|body|headers)\b/.test(detail)
}

export class Stats {
  requests = 0
  reached = 0
  readonly statuses = new Map<number, number>()
  readonly routes = new Map<Route, number>()
  readonly patchOps = new Map<string, number>()
  readonly slowest: Array<{ ms: number, route: Route, url: string }> = []
  warnings = new Map<string, number>()
  ignored = new Map<string, number>()

  add (route: Route, exchange: Exchange): void {
    this.requests++
    if (reachedOperation(route, exchange)) this.reached++
    this.statuses.set(exchange.status, (this.statuses.get(exchange.status) ?? 0) + 1)
    this.routes.set(route, (this.routes.get(route) ?? 0) + 1)
    if (exchange.request.method === 'PATCH' && route !== 'other') {
      for (const op of patchOpsOf(exchange.request.payload)) {
        const key = (PATCH_OPS as readonly string[]).includes(op) ? op : 'other'
        this.patchOps.set(key, (this.patchOps.get(key) ?? 0) + 1)
      }
    }
    for (const line of exchange.logs.filter((l) => l.level < 50)) {
      const key = normalise(describeLog(line))
      this.warnings.set(key, (this.warnings.get(key) ?? 0) + 1)
    }
    this.slowest.push({ ms: exchange.ms, route, url: exchange.url.slice(0, 120) })
    this.slowest.sort((a, b) => b.ms - a.ms)
    this.slowest.length = Math.min(this.slowest.length, 3)
  }
}

/** The ops (lower case) of a PATCH body, when it is JSON with an Operations array. */
function patchOpsOf (payload: string | undefined): string[] {
  if (payload === undefined || payload.length > 100_000) return []
  try {
    const ops = JSON.parse(payload)?.Operations
    return Array.isArray(ops) ? ops.map((op) => typeof op?.op === 'string' ? op.op.toLowerCase() : '').filter((op) => op !== '') : []
  } catch {
    return []
  }
}

// ---- saved failures ---------------------------------------------------------------------------------------------

export interface SavedFailure {
  /** The fast-check seed of the run that found it (null: saved by hand). */
  seed: number | null
  /** The engine it failed on; the replay sends it to every engine. */
  engine: Engine
  commit: string
  directoryType: string
  /** What it is about (causeOf), and every property it broke. */
  cause: string
  problems: string[]
  /** Sent in order before `request`, on a fresh directory: the prelude and the shrunk requests before it. */
  setup: WireRequest[]
  request: WireRequest
  /** Sent concurrently with `request`, after it in its group (only when the failure came from such a group). */
  alongside?: WireRequest[]
  /** The URL as it was sent (for reading; `request.url` is what is replayed). */
  sentUrl: string
  status: number
  body: unknown
  log: LogLine[]
  /** fast-check's counterexample path: FUZZ_SEED=<seed> FUZZ_PATH=<path> runs exactly the shrunk case. */
  fastCheckPath?: string
}

export function failureId (failure: Pick<SavedFailure, 'directoryType' | 'setup' | 'request' | 'alongside'>): string {
  return createHash('sha256').update(JSON.stringify([failure.directoryType, failure.setup, failure.request, failure.alongside ?? []])).digest('hex').slice(0, 10)
}

/** Writes a failure to test/fixtures/fuzz/<short hash>.json; answers the path. */
export function saveFailure (failure: SavedFailure): string {
  mkdirSync(FAILURE_FOLDER, { recursive: true })
  const file = join(FAILURE_FOLDER, `${failureId(failure)}.json`)
  writeFileSync(file, JSON.stringify(failure, null, 2) + '\n')
  return file
}

export function loadFailures (): Array<{ file: string, failure: SavedFailure }> {
  if (!existsSync(FAILURE_FOLDER)) return []
  return readdirSync(FAILURE_FOLDER).filter((f) => f.endsWith('.json')).sort()
    .map((file) => ({ file, failure: JSON.parse(readFileSync(join(FAILURE_FOLDER, file), 'utf8')) as SavedFailure }))
}

/** A response body as a saved failure keeps it: parsed when JSON, else its text (cut at 2,000 characters). */
export function savedBody (exchange: Exchange): unknown {
  return exchange.json !== undefined ? exchange.json : exchange.body.slice(0, 2000)
}

/** A log line as a saved failure keeps it: the stack cut to its first lines. */
export function savedLog (line: LogLine): LogLine {
  if (line.err?.stack === undefined) return line
  return { ...line, err: { ...line.err, stack: line.err.stack.split('\n').slice(0, 8).join('\n') } }
}

export function gitCommit (): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || 'unknown'
  } catch {
    return 'unknown'
  }
}
