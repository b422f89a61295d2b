// Errors that Fastify (or Node's HTTP parser) answers before any route or plugin runs: a URL that does
// not decode (400), a path parameter longer than maxParamLength (414), headers past maxHeaderSize (431),
// a slow request (408). Under the SCIM base path an identity provider expects RFC 7644 §3.12 errors for
// those too; they can only be set where the host creates its Fastify instance:
//
//   const app = Fastify({ frameworkErrors, clientErrorHandler })
//
// Elsewhere both answer as Fastify does by default. For a scimPath other than the default, use
// `scimFrameworkErrors({ scimPath })`.
import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { scimError, sendScimError, SCIM_CONTENT_TYPE } from './errors.js'

const DEFAULT_SCIM_PATH = '/api/scim/v2.0'

export interface ScimFrameworkErrors {
  /** Fastify's `frameworkErrors` option. */
  frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => void
  /** Fastify's `clientErrorHandler` option. */
  clientErrorHandler: (error: Error & { code?: string, rawPacket?: unknown }, socket: Socket) => void
}

export function scimFrameworkErrors ({ scimPath = DEFAULT_SCIM_PATH }: { scimPath?: string } = {}): ScimFrameworkErrors {
  const base = scimPath.replace(/\/+$/, '')
  const underScim = (url: string | undefined) => url !== undefined && (url === base || url.startsWith(base + '/') || url.startsWith(base + '?'))
  return {
    frameworkErrors (error, request, reply) {
      const status = error.statusCode ?? 400
      if (underScim(request.raw.url)) {
        sendScimError(reply, status, status === 414 ? 'A path segment of the URL is too long' : 'The URL is not valid (it does not decode)')
        return
      }
      reply.code(status).send(error)
    },
    clientErrorHandler (error, socket) {
      // A reset connection has nobody to answer.
      if (error.code === 'ECONNRESET' || socket.destroyed) return
      const status = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400
      const detail = { 408: 'The request took too long to arrive', 431: 'The request headers are too large', 400: 'The request is not valid HTTP' }[status]
      const scim = underScim(requestPath(error.rawPacket))
      const body = JSON.stringify(scim ? scimError(status, detail) : { error: STATUS_CODES[status], message: detail, statusCode: status })
      if (socket.writable) {
        socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
          `Content-Type: ${scim ? SCIM_CONTENT_TYPE : 'application/json'}\r\nConnection: close\r\n\r\n${body}`)
      }
      socket.destroy(error)
    }
  }
}

// The path of the request line in what the parser had read ("GET /api/scim/v2.0/… HTTP/1.1").
function requestPath (raw: unknown): string | undefined {
  if (!Buffer.isBuffer(raw)) return undefined
  const line = raw.subarray(0, 8192).toString('latin1').split('\r\n', 1)[0]
  return /^[A-Z]+ (\S+)/.exec(line)?.[1]
}

export const { frameworkErrors, clientErrorHandler } = scimFrameworkErrors()
