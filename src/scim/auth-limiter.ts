// A limit on failed authentication per client address: past `max` failures within `windowMs`, a
// request from that address whose token fails is answered 429 with Retry-After instead of 401. A valid
// token is still accepted from such an address (an identity provider may share its egress address with
// whoever is failing), so the limit costs a guesser time without locking a customer out. Kept in
// process memory, bounded in size: each instance of a scaled-out app counts on its own.
export interface AuthFailureOptions {
  /** Failed authentications one address may make in a window before it is answered 429. */
  max: number
  /** The window, in milliseconds, from an address's first failure. */
  windowMs: number
}

export const DEFAULT_AUTH_FAILURES: Readonly<AuthFailureOptions> = Object.freeze({ max: 20, windowMs: 60_000 })

// Addresses remembered at once; the oldest is forgotten first.
const MAX_ADDRESSES = 10_000

export class FailedAuthLimiter {
  private readonly addresses = new Map<string, { failures: number, resetAt: number }>()

  constructor (private readonly options: AuthFailureOptions, private readonly now: () => number = Date.now) {}

  /**
   * Notes a failed authentication from `address`; answers the seconds to wait when the address is over
   * the limit (answer 429), or undefined (answer 401).
   */
  fail (address: string): number | undefined {
    const now = this.now()
    let entry = this.addresses.get(address)
    if (entry === undefined || entry.resetAt <= now) {
      this.addresses.delete(address)
      if (this.addresses.size >= MAX_ADDRESSES) this.addresses.delete(this.addresses.keys().next().value!)
      entry = { failures: 0, resetAt: now + this.options.windowMs }
      this.addresses.set(address, entry)
    }
    entry.failures++
    if (entry.failures <= this.options.max) return undefined
    return Math.max(1, Math.ceil((entry.resetAt - now) / 1000))
  }
}
