// Tenant A's side of the fairness scenario (bench/fairness.ts), in a process of its own so that A's
// large bodies (sent and received) never delay the driver's clock on tenant B's requests. It reads its
// plan from FAIRNESS_ATTACK (JSON), sends it with autocannon in turns (request n is ops[n % ops.length]),
// prints {"started":true} once the connections are opening, and on "stop" (a line on stdin) or stdin's
// end stops and prints its tally as one JSON line.
import autocannon from 'autocannon'
import { createInterface } from 'node:readline'
import { percentile } from './workload.js'

export interface AttackOp {
  kind: string
  method: 'GET' | 'POST' | 'PATCH'
  path: string
  /** Serialised once: the largest bodies are half a megabyte. */
  body?: string
}

export interface AttackPlan {
  origin: string
  token: string
  connections: number
  ops: AttackOp[]
}

export interface KindTally {
  requests: number
  /** Answers by status code. */
  statuses: Record<string, number>
  p50: number
  p99: number
  max: number
  /** Sent but not answered when the attack stopped, and how long the oldest of them had waited (ms). */
  inFlight: number
  inFlightMaxMs: number
}

export interface AttackTally {
  seconds: number
  kinds: Record<string, KindTally>
  /** Connection errors and timeouts (autocannon's), whatever the kind. */
  errors: number
  timeouts: number
}

interface Ctx { kind?: string, sentAt?: number }

/** Starts the attack; answers how to stop it. */
function attack (plan: AttackPlan): () => void {
  const latencies: Record<string, number[]> = {}
  const statuses: Record<string, Record<string, number>> = {}
  for (const op of plan.ops) {
    latencies[op.kind] = []
    statuses[op.kind] = {}
  }
  const contexts = new Set<Ctx>()
  let next = 0
  const started = Date.now()

  const instance = autocannon({
    url: plan.origin,
    connections: plan.connections,
    // Runs until told to stop (the driver measures tenant B meanwhile).
    duration: 3600,
    timeout: 120,
    // A stop takes effect at autocannon's next sample: sample often, so that the attack ends promptly.
    sampleInt: 100,
    requests: [{
      setupRequest: (request: autocannon.Request, ctx: Ctx) => {
        const op = plan.ops[next++ % plan.ops.length]
        contexts.add(ctx)
        ctx.kind = op.kind
        ctx.sentAt = performance.now()
        const headers: Record<string, string> = { authorization: `Bearer ${plan.token}` }
        if (op.body !== undefined) headers['content-type'] = 'application/scim+json'
        return { ...request, method: op.method, path: op.path, headers, body: op.body }
      },
      onResponse: (status: number, _body: string, ctx: Ctx) => {
        if (ctx.kind === undefined || ctx.sentAt === undefined) return
        latencies[ctx.kind].push(performance.now() - ctx.sentAt)
        statuses[ctx.kind][status] = (statuses[ctx.kind][status] ?? 0) + 1
        ctx.sentAt = undefined
      }
    }]
  }, (err, result) => {
    if (err) throw err
    const kinds: Record<string, KindTally> = {}
    const now = performance.now()
    for (const op of plan.ops) {
      const sorted = latencies[op.kind].sort((a, b) => a - b)
      const waiting = [...contexts].filter((c) => c.kind === op.kind && c.sentAt !== undefined).map((c) => now - c.sentAt!)
      kinds[op.kind] = {
        requests: sorted.length,
        statuses: statuses[op.kind],
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        max: sorted[sorted.length - 1] ?? 0,
        inFlight: waiting.length,
        inFlightMaxMs: Math.max(0, ...waiting)
      }
    }
    const tally: AttackTally = { seconds: (Date.now() - started) / 1000, kinds, errors: result.errors, timeouts: result.timeouts }
    process.stdout.write(JSON.stringify({ tally }) + '\n', () => process.exit(0))
  })

  process.stdout.write(JSON.stringify({ started: true }) + '\n')
  return () => instance.stop()
}

let stop: (() => void) | undefined
let stopped = false
createInterface({ input: process.stdin })
  .on('line', (line) => {
    if (stop === undefined) stop = attack(JSON.parse(line) as AttackPlan)
    else if (line.trim() === 'stop' && !stopped) {
      stopped = true
      stop()
    }
  })
  .on('close', () => {
    if (stop === undefined) process.exit(1)
    if (!stopped) {
      stopped = true
      stop()
    }
  })
