// Replays a workload over HTTP with autocannon (programmatic API) against a listening contender.
import autocannon from 'autocannon'
import { pathOf } from './scim.js'
import { percentile, type Context, type LoadResult, type Runner, type Workload } from './workload.js'

export function httpRunner (base: string, token: string): Runner {
  const { origin, pathname } = new URL(base)
  return (workload: Workload) => new Promise<LoadResult>((resolve, reject) => {
    const requests: autocannon.Request[] = workload.steps.map((step, i) => ({
      setupRequest: (request: autocannon.Request, ctx: Context) => {
        if (i === 0) workload.begin(ctx)
        const op = step.op(ctx)
        const headers: Record<string, string> = { authorization: `Bearer ${token}` }
        if (op.body !== undefined) headers['content-type'] = 'application/scim+json'
        return { ...request, method: op.method, path: pathOf(pathname, op), headers, body: op.body === undefined ? undefined : JSON.stringify(op.body) }
      },
      onResponse: step.onResponse && ((status: number, body: string, ctx: Context) => step.onResponse!(status, body, ctx))
    }))
    // autocannon keeps latencies in whole milliseconds, and its duration is rounded to its samples: time
    // the responses ourselves, as the in-process runner does.
    const latencies: number[] = []
    const first = Date.now()
    let last = first
    const instance = autocannon({
      url: origin,
      connections: workload.connections,
      ...(workload.chains !== undefined ? { amount: workload.chains * workload.steps.length } : { duration: workload.seconds }),
      requests,
      timeout: 30,
      // An `amount` run ends at autocannon's next sample: sample often, so that it ends promptly.
      sampleInt: 100
    }, (err, result) => {
      if (err) return reject(err)
      const responses = result['2xx'] + result.non2xx
      const seconds = workload.chains !== undefined ? (last - first) / 1000 : result.duration
      latencies.sort((a, b) => a - b)
      resolve({
        requests: responses,
        ok: result['2xx'],
        non2xx: result.non2xx,
        errors: result.errors,
        seconds,
        rps: responses / seconds,
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99)
      })
    })
    instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => {
      latencies.push(ms)
      last = Date.now()
    })
  })
}
