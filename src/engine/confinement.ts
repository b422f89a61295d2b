// How calls into jackson are kept from interleaving. jackson's directory-sync objects keep the current
// tenant, product and event callback in fields that every call overwrites across `await`s, so two calls
// in flight on one set of objects can write into each other's tenant. A lane is one set of those
// objects with a lock: calls on a lane run one at a time, calls on different lanes run in parallel.
// A directory always maps to the same lane, so its own calls stay in order.

export class Mutex {
  private tail: Promise<void> = Promise.resolve()

  run<T> (fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn)
    // The next caller waits for this one to settle, whatever its outcome.
    this.tail = result.then(() => undefined, () => undefined)
    return result
  }

  /** Resolves once every call queued so far has settled. */
  idle (): Promise<void> {
    return this.tail
  }
}

export class Lanes<T> {
  private readonly lanes: Array<{ set: T, lock: Mutex }>

  /** `sets[i]` is guarded by `locks[i]`; lanes may share one lock where the database needs every call serial. */
  constructor (sets: T[], locks: Mutex[]) {
    if (sets.length === 0 || sets.length !== locks.length) throw new Error('Lanes: one lock per set, at least one set')
    this.lanes = sets.map((set, i) => ({ set, lock: locks[i] }))
  }

  /** Runs `fn` with exclusive use of the lane that `key` maps to (lane 0 without a key). */
  run<R> (key: string | undefined, fn: (set: T) => Promise<R>): Promise<R> {
    const lane = this.lanes[key === undefined ? 0 : hash(key) % this.lanes.length]
    return lane.lock.run(() => fn(lane.set))
  }

  /** Resolves once every call queued so far, on every lane, has settled. */
  async idle (): Promise<void> {
    await Promise.all(this.lanes.map((lane) => lane.lock.idle()))
  }
}

// FNV-1a: cheap and spreads UUIDs evenly enough over a handful of lanes.
function hash (key: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}
