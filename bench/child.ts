// Starts a contender in a process of its own on a free port, waits for the JSON line it prints once it
// listens, and talks to it: its RSS, what it stored, and (for the in-process reference) runs.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { ENV, INSPECT, type Inspector, type Ready, type Sample, type Stored } from './protocol.js'
import type { Outcome, RunData } from './scenarios.js'

// `encrypted`: the plugin's own server on a database of its own with db.encryptionKey set.
export type ContenderName = 'plugin' | 'express' | 'inprocess' | 'bare' | 'encrypted'
const serverOf = (name: ContenderName): Exclude<ContenderName, 'encrypted'> => name === 'encrypted' ? 'plugin' : name

export interface Child {
  name: ContenderName
  ready: Ready
  /** Where the inspection routes are. */
  origin: string
  process: ChildProcess
  rss (): Promise<number>
  /** Plugin only, started with --expose-gc: a full collection, then its memory. */
  collect (): Promise<NodeJS.MemoryUsage>
  /** Waits until the process is idle (work it deferred past its answers is done); answers the seconds it took. */
  settle (maxSeconds?: number): Promise<number>
  /** In-process reference only: runs a scenario inside the child. */
  run (data: RunData): Promise<Outcome>
  stop (): Promise<void>
}

export function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

function serverFile (name: ContenderName): string {
  return fileURLToPath(new URL(`./servers/${serverOf(name)}.ts`, import.meta.url))
}

// Compiled entries (bench/compile.ts), once the driver has them; until then the TypeScript through tsx.
let compiled: Partial<Record<ContenderName, string>> = {}
export function runCompiled (entries: Partial<Record<ContenderName, string>>): void {
  compiled = entries
}

export interface StartOptions {
  db?: unknown
  port?: number
  seedUsers?: number
  /** Extra node flags, e.g. --cpu-prof. */
  nodeArgs?: string[]
  timeoutMs?: number
}

// Children die with the driver, whatever ends it.
const live = new Set<ChildProcess>()
process.on('exit', () => { for (const child of live) child.kill('SIGKILL') })

/** Spawns a contender: node itself (no wrapper process), so that its pid and RSS are its own. */
export function spawnContender (name: ContenderName, port: number, options: StartOptions = {}): ChildProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, [ENV.port]: String(port), NODE_ENV: 'production' }
  if (options.db !== undefined) env[ENV.db] = JSON.stringify(options.db)
  if (options.seedUsers !== undefined) env[ENV.seedUsers] = String(options.seedUsers)
  const script = compiled[serverOf(name)]
  const entry = script === undefined ? ['--import', 'tsx', serverFile(name)] : [script]
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...entry], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  live.add(child)
  child.once('exit', () => live.delete(child))
  return child
}

export async function inspect<T> (origin: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(origin + INSPECT + path, body === undefined
    ? {}
    : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(900_000) })
  if (!response.ok) throw new Error(`${path} answered ${response.status}: ${await response.text()}`)
  return response.json() as Promise<T>
}

/** The plugin's inspection routes (bench/servers/plugin-inspect.ts). */
export function httpInspector (origin: string): Inspector {
  return {
    stored: () => inspect<Stored>(origin, '/stored'),
    sample: (users, groups) => inspect<Sample>(origin, `/sample?users=${users}&groups=${groups}`),
    members: (groupIds) => inspect<Record<string, string[]>>(origin, '/members', { groupIds })
  }
}

export async function startContender (name: ContenderName, options: StartOptions = {}): Promise<Child> {
  const port = options.port ?? await freePort()
  const child = spawnContender(name, port, options)
  let stderr = ''
  child.stderr!.on('data', (chunk) => { stderr = (stderr + chunk).slice(-4000) })
  const ready = await new Promise<Ready>((resolve, reject) => {
    let buffer = ''
    const limit = options.timeoutMs ?? 600_000
    const timer = setTimeout(() => fail(new Error(`${name} did not listen within ${limit} ms`)), limit)
    const onExit = (code: number | null) => fail(new Error(`${name} exited with ${code} before listening`))
    const fail = (err: Error) => {
      clearTimeout(timer)
      child.kill('SIGKILL')
      reject(new Error(`${err.message}\n${stderr}`))
    }
    const onData = (chunk: Buffer) => {
      buffer += chunk
      const lines = buffer.split('\n')
      buffer = lines.pop()!
      for (const line of lines) {
        if (!line.startsWith('{"ready":true')) continue
        clearTimeout(timer)
        child.off('exit', onExit)
        // From now on its output (jackson's typeorm writes failed queries there) is only drained.
        child.stdout!.off('data', onData).resume()
        return resolve(JSON.parse(line))
      }
    }
    child.once('exit', onExit)
    child.stdout!.on('data', onData)
  })
  let stopping = false
  child.once('exit', (code, signal) => {
    if (!stopping) process.stderr.write(`${name} (pid ${child.pid}) exited unexpectedly: ${code ?? signal}\n${stderr}\n`)
  })
  const origin = `http://127.0.0.1:${port}`
  const call = async <T>(path: string, body?: unknown): Promise<T> => {
    try {
      return await inspect<T>(origin, path, body)
    } catch (err) {
      throw new Error(`${name}: ${(err as Error).message}\n${stderr}`)
    }
  }
  return {
    name,
    ready,
    origin,
    process: child,
    rss: async () => (await call<{ rss: number }>('/rss')).rss,
    collect: () => call<NodeJS.MemoryUsage>('/gc', {}),
    run: (data) => call<Outcome>('/run', data),
    settle: (maxSeconds) => settle(child, maxSeconds),
    async stop () {
      stopping = true
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    }
  }
}

// CPU time of a process in clock ticks (Linux /proc; elsewhere settling is skipped).
function cpuTicks (pid: number): number | undefined {
  const file = `/proc/${pid}/stat`
  if (!existsSync(file)) return undefined
  const fields = readFileSync(file, 'utf8').split(') ')[1].split(' ')
  return Number(fields[11]) + Number(fields[12]) // utime + stime
}

const WINDOW_MS = 250
const IDLE_TICKS = 1 // of the 25 a busy core would use in the window (clock ticks are 1/100 s)

async function settle (child: ChildProcess, maxSeconds = 120): Promise<number> {
  let busy = 0
  for (;;) {
    const before = cpuTicks(child.pid!)
    await new Promise((resolve) => setTimeout(resolve, WINDOW_MS))
    const after = cpuTicks(child.pid!)
    if (before === undefined || after === undefined || after - before <= IDLE_TICKS) break
    if (++busy * WINDOW_MS >= maxSeconds * 1000) break
  }
  return (busy * WINDOW_MS) / 1000
}
