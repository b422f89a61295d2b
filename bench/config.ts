// The two sizes of the benchmark: the full run (npm run bench, at most 15 minutes on the reference
// 2-core machine) and the quick one CI runs so that the benchmark cannot rot (npm run bench:quick,
// at most 90 s, sqlite only).

export interface Config {
  name: 'full' | 'quick'
  engines: Array<'sqlite' | 'postgres'>
  /** Connections (concurrent callers) for reads, and for writes and the initial sync (IdP-like). */
  readConnections: number
  writeConnections: number
  /** Each read run lasts this long. */
  readSeconds: number
  /** Each write run sends this many requests. */
  writeRequests: number
  sync: { users: number, groups: number, groupSize: number }
  /** Users read in turn by the read scenarios. */
  readPool: number
  /** The userName lookup at `small` users and at `large` users (plugin, sqlite). */
  scaling: { small: number, large: number, seconds: number }
  /**
   * GET requests before the soak (long enough for V8 to size its heap: after the write scenarios the
   * first full collections come some 50,000 requests in), then the soak, RSS sampled every `every` requests.
   */
  soak: { warmup: number, requests: number, every: number }
  coldStarts: number
  /**
   * Fairness (plugin only): tenant A grows to `aUsers` (the initial sync's users reused, topped up
   * in-process) and attacks while tenant B's `bUsers` are read at `bConnections`; each of B's three
   * windows (alone, under attack, alone again) lasts `seconds`. A attacks at `aConnections`.
   */
  fairness: { aUsers: number, bUsers: number, seconds: number, bConnections: number, aConnections: number }
}

export const full: Config = {
  name: 'full',
  engines: ['sqlite', 'postgres'],
  readConnections: 16,
  writeConnections: 8,
  readSeconds: 5,
  writeRequests: 800,
  sync: { users: 10_000, groups: 200, groupSize: 50 },
  readPool: 2000,
  scaling: { small: 100, large: 100_000, seconds: 5 },
  soak: { warmup: 60_000, requests: 100_000, every: 10_000 },
  coldStarts: 5,
  fairness: { aUsers: 20_000, bUsers: 300, seconds: 10, bConnections: 4, aConnections: 8 }
}

export const quick: Config = {
  name: 'quick',
  engines: ['sqlite'],
  readConnections: 16,
  writeConnections: 8,
  readSeconds: 0.5,
  writeRequests: 80,
  sync: { users: 320, groups: 8, groupSize: 40 },
  readPool: 200,
  scaling: { small: 100, large: 5_000, seconds: 1 },
  soak: { warmup: 1000, requests: 5_000, every: 1000 },
  coldStarts: 1,
  fairness: { aUsers: 2_000, bUsers: 100, seconds: 3, bConnections: 4, aConnections: 8 }
}
