// A workload is what a contender is asked to serve: chains of SCIM requests (usually one request
// long; an identity provider's lookup-then-create is two), sent over `connections` concurrent callers
// for a fixed time or a fixed number of chains. The same workload is replayed over HTTP (autocannon)
// and in-process (jackson's requests.handle), so that both measure the same thing.
import type { ScimOp } from './scim.js'

export type Context = Record<string, any>

export interface Step {
  op (ctx: Context): ScimOp
  /** Reads the answer, e.g. to remember an id for the chain's next step. */
  onResponse? (status: number, body: string, ctx: Context): void
}

export interface Workload {
  connections: number
  /** The steps of one chain, sent in order by one caller. */
  steps: Step[]
  /** Picks the data of a new chain (its index is `ctx.n`). */
  begin (ctx: Context): void
  /** Exactly this many chains (a multiple of `connections`), or for `seconds`. */
  chains?: number
  seconds?: number
}

export interface LoadResult {
  requests: number
  ok: number
  non2xx: number
  errors: number
  seconds: number
  rps: number
  p50: number
  p99: number
}

export type Runner = (workload: Workload) => Promise<LoadResult>

/** A counter shared by every caller of a workload: chain n gets n. */
export function chainCounter () {
  let next = 0
  return (ctx: Context) => { ctx.n = next++ }
}

/** Rounds a chain count to a multiple of the connections, so that each caller runs whole chains. */
export function wholeChains (chains: number, connections: number): number {
  return Math.max(connections, Math.round(chains / connections) * connections)
}

export function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}

export function combine (results: LoadResult[]): LoadResult {
  const sum = (key: 'requests' | 'ok' | 'non2xx' | 'errors' | 'seconds') => results.reduce((s, r) => s + r[key], 0)
  const seconds = sum('seconds')
  return {
    requests: sum('requests'),
    ok: sum('ok'),
    non2xx: sum('non2xx'),
    errors: sum('errors'),
    seconds,
    rps: sum('requests') / seconds,
    // Percentiles of a combination are approximated by the requests-weighted mean of each part's.
    p50: results.reduce((s, r) => s + r.p50 * r.requests, 0) / Math.max(1, sum('requests')),
    p99: Math.max(...results.map((r) => r.p99))
  }
}
