// Directory lookups for authenticating SCIM requests. Every SCIM request needs its directory (the token,
// whether it is deactivated), and reading it through jackson takes a confined call and, with an
// encryptionKey, a decryption. Found directories are kept for a short time; a change made through this
// process's controller is seen at once (create, update and delete forget the entry), a change made by
// another process within `ttlMs`. Unknown ids are remembered for as long, so that a stream of random ids
// costs no more reads than a stream of wrong tokens for one directory; both kinds of entry share one
// bounded map.
import type { Directory, Result } from '../types.js'

export class DirectoryCache {
  private readonly entries = new Map<string, { result: Result<Directory>, until: number }>()
  // Counts forget()s: a load that began before one may have read the directory as it was before the
  // change (a hook's drain looking it up while an update commits), so its answer is not kept.
  private forgets = 0

  constructor (private readonly load: (id: string) => Promise<Result<Directory>>, private readonly ttlMs: number, private readonly maxEntries = 10_000) {}

  async get (id: string): Promise<Result<Directory>> {
    const entry = this.entries.get(id)
    if (entry !== undefined && entry.until > Date.now()) return entry.result
    const forgets = this.forgets
    const result = await this.load(id)
    // A directory, or the fact that there is none (404); a passing failure is not kept.
    if (forgets === this.forgets && (result.error === null || result.error.code === 404)) {
      this.entries.delete(id)
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!)
      this.entries.set(id, { result, until: Date.now() + this.ttlMs })
    }
    return result
  }

  forget (id: string): void {
    this.forgets++
    this.entries.delete(id)
  }
}
