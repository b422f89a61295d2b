// Fairness between directories: one process serves every customer, so one directory's expensive
// requests (full scans, large membership changes, large pages) may only take a bounded share of it.
// Each directory may run `concurrency` expensive operations at once; further ones wait in a queue of
// `queue`, and past that are answered 429 with Retry-After. Cheap requests (a read by id, an indexed
// lookup, a small write) never wait here, so another directory's traffic keeps flowing.
import { ScimProblem } from './errors.js'

export interface FairnessOptions {
  /** Expensive operations one directory may run at once. */
  concurrency: number
  /** Expensive operations of one directory that may wait for a slot; more answer 429. */
  queue: number
  /** Seconds a client is told to wait (Retry-After) when the queue is full. */
  retryAfter: number
}

// One at a time: the event loop then alternates between a directory's expensive work (in slices that
// yield) and everyone else's requests, so that another directory waits at most one slice.
export const DEFAULT_FAIRNESS: Readonly<FairnessOptions> = Object.freeze({ concurrency: 1, queue: 16, retryAfter: 1 })

interface DirectoryState {
  running: number
  waiting: Array<() => void>
}

export class DirectoryGate {
  private readonly states = new Map<string, DirectoryState>()

  constructor (private readonly options: FairnessOptions) {}

  /** Runs `fn` in one of the directory's slots for expensive work, waiting for one if need be. */
  async run<T> (directoryId: string, fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire(directoryId)
    try {
      return await fn()
    } finally {
      release()
    }
  }

  /**
   * Takes one of the directory's slots, waiting for one if need be; answers the function that gives it
   * back (once, however often it is called). Throws the 429 when the directory's queue is full.
   */
  async acquire (directoryId: string): Promise<() => void> {
    let state = this.states.get(directoryId)
    if (state === undefined) {
      state = { running: 0, waiting: [] }
      this.states.set(directoryId, state)
    }
    if (state.running < this.options.concurrency) {
      state.running++
    } else {
      if (state.waiting.length >= this.options.queue) {
        throw new ScimProblem(429, `Too many expensive requests for this directory at once; retry after ${this.options.retryAfter} s`, undefined,
          { 'retry-after': String(this.options.retryAfter) })
      }
      // The slot is handed over by the one that finishes (running stays as it is).
      await new Promise<void>((resolve) => state.waiting.push(resolve))
    }
    let released = false
    return () => {
      if (released) return
      released = true
      const next = state.waiting.shift()
      if (next !== undefined) next()
      else if (--state.running === 0) this.states.delete(directoryId)
    }
  }

  /** Expensive operations running and waiting for a directory (for tests and status). */
  load (directoryId: string): { running: number, waiting: number } {
    const state = this.states.get(directoryId)
    return { running: state?.running ?? 0, waiting: state?.waiting.length ?? 0 }
  }
}

/** Lets other requests run: a long loop over a directory calls it between batches. */
export const yieldToOthers = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))
