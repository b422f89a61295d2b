// The simulator's HTTP side: how the base URL it is given becomes request URLs (Entra's Tenant URL
// included), and one `send` that every phase uses, with Node's global fetch. A response whose status is
// not the one the provider expects is a RequestFailure carrying the response body; 401, 403 and network
// errors are fatal (an identity provider stops its provisioning job on them too).
import { STATUS_CODES } from 'node:http'

export interface Target {
  /** The base URL requests are built from: no query, no trailing slash. */
  base: string
  /** Entra only: the Tenant URL carried ?aadOptscim062020, so Entra speaks its RFC-compliant dialect. */
  entraFlag: boolean
  /** What was done to the URL given, for the person running the simulator. */
  notes: string[]
}

export const ENTRA_FLAG = 'aadOptscim062020'

/**
 * The base URL as the provider uses it. Entra's Tenant URL is pasted with a query
 * (`…/<id>/?aadOptscim062020` as the plugin prints it, or `…/<id>?aadOptscim062020`); Entra appends
 * `/Users` and `/Groups` to the path, before that query, and the flag only selects the dialect it
 * speaks. How the flag then appears on each request is not documented (test/fixtures/idp's Entra
 * fixtures omit it), and the plugin ignores it on requests, so the query is removed from the base, the
 * flag remembered, and requests carry no flag. Other providers append paths to the URL as given; a
 * query there cannot be meant as part of a resource path, so it is removed too, with a note.
 */
export function parseBaseUrl (raw: string, provider: string): Target {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new Error(`--url is not a URL: ${JSON.stringify(raw)}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`--url must be http or https, got ${url.protocol}`)
  const notes: string[] = []
  const flagged = url.searchParams.has(ENTRA_FLAG)
  const entraFlag = provider === 'entra' && flagged
  if (provider === 'entra') {
    notes.push(entraFlag
      ? `Tenant URL carries ?${ENTRA_FLAG}: Entra's RFC 7644 dialect (lowercase ops, real booleans); the query is not sent on requests`
      : `Tenant URL without ?${ENTRA_FLAG}: Entra's default dialect (capitalised ops, "False" as a string)`)
  } else if (url.search !== '') {
    notes.push(`the query ${url.search} is not part of a base URL; requests are built without it`)
  }
  url.search = ''
  url.hash = ''
  const base = url.toString().replace(/\/+$/, '')
  return { base, entraFlag, notes }
}

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

export interface Answer {
  status: number
  /** The parsed JSON body, or undefined (204, or a body that is not JSON). */
  body: any
  text: string
}

export class RequestFailure extends Error {
  constructor (
    readonly request: string,
    readonly detail: string,
    readonly status: number | null,
    readonly body: string,
    readonly fatal: boolean
  ) {
    super(`${request}: ${detail}`)
  }
}

const statusText = (status: number): string => STATUS_CODES[status] ?? ''

export class ScimClient {
  requests = 0

  constructor (
    readonly target: Target,
    private readonly token: string,
    private readonly headers: Record<string, string>,
    private readonly timeoutMs = 30_000
  ) {}

  /** Sends one request; a status outside `expect` throws a RequestFailure. */
  async send (method: Method, path: string, body: unknown, expect: number[]): Promise<Answer> {
    const request = `${method} ${path}`
    const headers: Record<string, string> = { ...this.headers, Authorization: `Bearer ${this.token}` }
    if (body !== undefined) headers['Content-Type'] = 'application/scim+json'
    this.requests++
    let response: Response
    let text: string
    try {
      response = await fetch(this.target.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs)
      })
      text = await response.text()
    } catch (err) {
      const cause = (err as { cause?: { code?: string, message?: string } }).cause
      const reason = cause?.code ?? cause?.message ?? (err as Error).message
      throw new RequestFailure(request, `network error: ${reason} (${this.target.base})`, null, '', true)
    }
    let parsed: unknown
    try {
      parsed = text === '' ? undefined : JSON.parse(text)
    } catch {
      parsed = undefined
    }
    if (!expect.includes(response.status)) {
      const fatal = response.status === 401 || response.status === 403
      const hint = response.status === 401 ? ' (is --token the directory\'s SCIM token, and --url its base URL?)' : response.status === 403 ? ' (is the directory deactivated?)' : ''
      throw new RequestFailure(request, `expected ${expect.join(' or ')}, got ${response.status} ${statusText(response.status)}${hint}`.trim(), response.status, text, fatal)
    }
    return { status: response.status, body: parsed, text }
  }
}
