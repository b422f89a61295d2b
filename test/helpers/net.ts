// Network helpers of the tests.
import { createServer } from 'node:net'

/** A port nobody listens on now (for a server whose externalUrl must name its port before it listens). */
export function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}
