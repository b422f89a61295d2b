// Errors answered before any route runs (Fastify's router, Node's HTTP parser): with the plugin's
// frameworkErrors and clientErrorHandler, SCIM errors under the SCIM path, Fastify's usual answers
// elsewhere. Over a real socket, since these never reach inject's code path as a client sees them.
import net from 'node:net'
import Fastify from 'fastify'
import t, { type Test } from 'tap'
import fastifyDirectorySync, { clientErrorHandler, frameworkErrors, scimFrameworkErrors } from '../../src/index.js'
import { externalUrl, sqliteFile } from '../helpers/app.js'
import { ERROR_SCHEMA } from '../helpers/scim.js'

interface RawAnswer { status: number, contentType: string, body: any }

function send (port: number, request: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request))
    let data = ''
    socket.on('data', (chunk) => { data += chunk })
    socket.on('error', reject)
    socket.on('close', () => {
      const [head, ...rest] = data.split('\r\n\r\n')
      const body = rest.join('\r\n\r\n')
      resolve({ status: Number(head.split(' ')[1]), contentType: /content-type: ([^\r\n]+)/i.exec(head)?.[1] ?? '', body: JSON.parse(body) })
    })
  })
}

const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}Connection: close\r\n\r\n`

t.test('with the plugin\'s handlers: 400, 414 and 431 are SCIM errors under the SCIM path, Fastify\'s elsewhere', async (t) => {
  const app = Fastify({ frameworkErrors, clientErrorHandler, maxParamLength: 100 })
  t.after(() => app.close())
  await app.register(fastifyDirectorySync, { db: sqliteFile(t), externalUrl })
  app.get('/other/:id', async () => ({ ok: true }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as net.AddressInfo).port
  const scimError = (t: Test, answer: RawAnswer, status: number, what: string) => {
    t.equal(answer.status, status, `${what}: ${status}`)
    t.match(answer.contentType, /^application\/scim\+json/, `${what}: SCIM content type`)
    t.same(answer.body.schemas, [ERROR_SCHEMA], `${what}: a SCIM error`)
    t.equal(answer.body.status, String(status))
  }
  scimError(t, await send(port, get('/api/scim/v2.0/d1/Users/%E0%A4%A')), 400, 'a URL that does not decode')
  scimError(t, await send(port, get(`/api/scim/v2.0/d1/Users/${'a'.repeat(200)}`)), 414, 'a path parameter past maxParamLength')
  scimError(t, await send(port, get('/api/scim/v2.0/d1/Users', `X-Big: ${'a'.repeat(20_000)}\r\n`)), 431, 'headers past maxHeaderSize')
  scimError(t, await send(port, 'GET /api/scim/v2.0/d1/Users HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n'), 400, 'a request that is not valid HTTP')

  const elsewhere = await send(port, get(`/other/${'a'.repeat(200)}`))
  t.equal(elsewhere.status, 414, 'outside the SCIM path: the same status')
  t.equal(elsewhere.body.code, 'FST_ERR_MAX_PARAM_LENGTH', 'in Fastify\'s own shape')
  const headers = await send(port, get('/other/1', `X-Big: ${'a'.repeat(20_000)}\r\n`))
  t.equal(headers.status, 431)
  t.equal(headers.body.statusCode, 431, 'in Fastify\'s own shape')
})

t.test('scimFrameworkErrors({ scimPath }) for another base path', async (t) => {
  const app = Fastify({ ...scimFrameworkErrors({ scimPath: '/scim' }) })
  t.after(() => app.close())
  await app.register(fastifyDirectorySync, { db: sqliteFile(t), externalUrl, scimPath: '/scim' })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as net.AddressInfo).port
  const answer = await send(port, get('/scim/d1/Users/%E0%A4%A'))
  t.equal(answer.status, 400)
  t.same(answer.body.schemas, [ERROR_SCHEMA])
  const outside = await send(port, get('/api/scim/v2.0/d1/Users/%E0%A4%A'))
  t.equal(outside.body.code, 'FST_ERR_BAD_URL', 'the default path is no longer SCIM here')
})
