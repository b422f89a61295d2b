// What the benchmark measured, as the report reads it.
import type { ContenderName } from './child.js'
import type { Engine } from './databases.js'
import type { FairnessResult } from './fairness.js'
import type { Outcome, ScenarioName } from './scenarios.js'

export interface Summary {
  runs: number
  requests: number
  /** Served requests per second: 2xx reads, and 2xx writes up to what was found stored. */
  servedRps: number
  /** Every answer per second, served or not. */
  rps: number
  /** Served requests per second of the contender's busy time: answering, plus the work it deferred past its answers. */
  sustainedRps: number
  p50: number
  p99: number
  non2xx: number
  errors: number
  rssMb: number
  /** Seconds busy after the last answer, summed over the runs (deferred work). */
  busyAfter: number
  stored?: string
  complete?: boolean
}

export interface ScenarioResult {
  scenario: ScenarioName
  contenders: Partial<Record<ContenderName, Summary>>
}

export interface EngineResult {
  engine: Engine
  database: string
  scenarios: ScenarioResult[]
  /** What the section did beyond the scenarios, for the report. */
  notes?: string[]
  /** Tenant B's reads alone and while tenant A attacks (plugin only). */
  fairness?: FairnessResult
  skipped?: string
}

export interface Checks {
  scaling?: { small: number, large: number, smallP50: number, largeP50: number, smallRps: number, largeRps: number, seedSeconds: number, settleSeconds: number }
  soak?: Soak
  /** The same soak on a fresh plugin process started with BOUNDED_FLAGS (the README documents them). */
  boundedSoak?: Soak & { flags: string[] }
  coldStart?: { runsMs: number[], medianMs: number, bareRunsMs: number[], bareMedianMs: number, users: number }
}

export interface Soak {
  requests: number
  samplesMb: number[]
  firstMb: number
  minMb: number
  maxMb: number
  worstPct: number
  rps: number
  /** Heap in use and RSS after a full collection, before and after the soak. */
  heapAfterGcMb: number[]
  rssAfterGcMb: number[]
}

export function summarise (outcomes: Outcome[], rssBytes: number): Summary {
  const sum = (f: (o: Outcome) => number) => outcomes.reduce((s, o) => s + f(o), 0)
  const mean = (f: (o: Outcome) => number) => sum(f) / outcomes.length
  const seconds = sum((o) => o.load.seconds)
  const stored = outcomes.map((o) => o.stored).filter((s) => s !== undefined)
  return {
    runs: outcomes.length,
    requests: sum((o) => o.load.requests),
    servedRps: sum((o) => o.served) / seconds,
    rps: sum((o) => o.load.requests) / seconds,
    sustainedRps: sum((o) => o.served) / (seconds + sum((o) => o.busyAfter ?? 0)),
    p50: mean((o) => o.load.p50),
    p99: mean((o) => o.load.p99),
    non2xx: sum((o) => o.load.non2xx),
    errors: sum((o) => o.load.errors),
    rssMb: rssBytes / 2 ** 20,
    busyAfter: sum((o) => o.busyAfter ?? 0),
    ...(stored.length > 0 ? { stored: stored.join('; '), complete: outcomes.every((o) => o.complete !== false) } : {})
  }
}
