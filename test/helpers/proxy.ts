// A TCP proxy on 127.0.0.1 in front of one database, for one test: cut() drops every connection
// through it and refuses new ones, as an outage or a network partition would, without touching the
// database service that other test files use; restore() lets connections through again.
import net from 'node:net'
import type { Test } from 'tap'
import type { DbOptions } from '../../src/index.js'

export interface TcpProxy {
  port: number
  /** Rewrites a connection URL to go through the proxy. */
  through (url: string): string
  cut (): void
  restore (): void
}

/** Where the database of `db` listens (its URL's host and port). */
export function serverOf (db: DbOptions): { host: string, port: number } {
  const url = new URL((db as { url: string }).url)
  const port = Number(url.port) || ({ 'postgres:': 5432, 'postgresql:': 5432, 'mysql:': 3306, 'mariadb:': 3306, 'redis:': 6379 } as Record<string, number>)[url.protocol]
  return { host: url.hostname, port }
}

export async function tcpProxy (t: Test, target: { host: string, port: number }): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>()
  let open = true
  const server = net.createServer((client) => {
    if (!open) {
      client.destroy()
      return
    }
    const upstream = net.connect(target.port, target.host)
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      socket.on('error', () => {})
    }
    client.pipe(upstream)
    upstream.pipe(client)
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  t.teardown(() => {
    for (const socket of sockets) socket.destroy()
    return new Promise<void>((resolve) => server.close(() => resolve()))
  })
  return {
    port,
    through: (url) => {
      const parsed = new URL(url)
      parsed.hostname = '127.0.0.1'
      parsed.port = String(port)
      return parsed.toString()
    },
    cut: () => {
      open = false
      for (const socket of sockets) socket.destroy()
    },
    restore: () => { open = true }
  }
}
