// Replays a workload in-process, without HTTP: `connections` concurrent async loops calling a SCIM
// handler with jackson's request shape. This is reference (a), the engine's own limit.
import { performance } from 'node:perf_hooks'
import type { ScimOp } from './scim.js'
import { percentile, type Context, type Runner, type Workload } from './workload.js'

export type Handle = (op: ScimOp) => Promise<{ status: number, data?: unknown }>

export function inProcessRunner (handle: Handle): Runner {
  return async (workload: Workload) => {
    const latencies: number[] = []
    let ok = 0
    let non2xx = 0
    let errors = 0
    let chains = 0
    const started = performance.now()
    const deadline = workload.seconds === undefined ? Infinity : started + workload.seconds * 1000
    const caller = async () => {
      for (;;) {
        if (workload.chains !== undefined ? chains >= workload.chains : performance.now() >= deadline) return
        chains++
        const ctx: Context = {}
        workload.begin(ctx)
        for (const step of workload.steps) {
          const t0 = performance.now()
          try {
            const { status, data } = await handle(step.op(ctx))
            latencies.push(performance.now() - t0)
            if (status >= 200 && status < 300) ok++
            else non2xx++
            step.onResponse?.(status, data === undefined ? '' : JSON.stringify(data), ctx)
          } catch {
            // jackson throws for some requests instead of answering (shared/notes/jackson.md).
            latencies.push(performance.now() - t0)
            errors++
          }
        }
      }
    }
    await Promise.all(Array.from({ length: workload.connections }, caller))
    const seconds = (performance.now() - started) / 1000
    latencies.sort((a, b) => a - b)
    const requests = ok + non2xx + errors
    return { requests, ok, non2xx, errors, seconds, rps: requests / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) }
  }
}
