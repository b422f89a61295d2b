// What the driver and a contender child say to each other. The child reads its settings from the
// environment, prints one JSON line once it listens, and answers a few inspection routes (outside the
// SCIM API) that the driver reads between runs: its memory, and what it actually stored.

export const ENV = {
  port: 'BENCH_PORT',
  /** The contender's database, as the plugin's `db` option (JSON). */
  db: 'BENCH_DB',
  /** Plugin only: create users in-process until the directory has this many, before listening. */
  seedUsers: 'BENCH_SEED_USERS'
} as const

/** The line a child prints on stdout once it listens. */
export interface Ready {
  ready: true
  /** The directory's SCIM base URL, e.g. http://127.0.0.1:4000/api/scim/v2.0/<id> */
  base: string
  token: string
  directoryId: string
  /** How long the in-process seeding took, when there was one. */
  seeded?: { users: number, ms: number }
}

export const INSPECT = '/__bench'

/** What a contender holds for its directory, read from its own storage. */
export interface Stored {
  users: number
  inactive: number
  groups: number
}

export interface Sample {
  users: Array<{ id: string, userName: string }>
  groups: Array<{ id: string, members: string[] }>
}

/** Reads a contender's storage: over HTTP for the servers, directly for the in-process reference. */
export interface Inspector {
  stored (): Promise<Stored>
  sample (users: number, groups: number): Promise<Sample>
  /** The member ids of each group. */
  members (groupIds: string[]): Promise<Record<string, string[]>>
}

export function readEnv (name: string, fallback?: string): string {
  const value = process.env[name] ?? fallback
  if (value === undefined) throw new Error(`${name} is not set`)
  return value
}

export function announce (ready: Omit<Ready, 'ready'>): void {
  process.stdout.write(JSON.stringify({ ready: true, ...ready }) + '\n')
}
