// Directory lookups for authenticating SCIM requests. Every SCIM request needs its directory (the token,
// whether it is deactivated), and reading it through jackson takes a confined call and, with an
// encryptionKey, a decryption. Found directories are kept for a short time; a change made through this
// process's controller is seen at once (update and delete forget the entry), a change made by another
// process within `ttlMs`.
import type { Directory, Result } from '../types.js'

export class DirectoryCache {
  private readonly entries = new Map<string, { directory: Directory, until: number }>()

  constructor (private readonly load: (id: string) => Promise<Result<Directory>>, private readonly ttlMs: number, private readonly maxEntries = 10_000) {}

  async get (id: string): Promise<Result<Directory>> {
    const entry = this.entries.get(id)
    if (entry !== undefined && entry.until > Date.now()) return { data: entry.directory, error: null }
    const result = await this.load(id)
    // Only what exists is kept: an unknown id asks again next time (it may be created meanwhile).
    if (result.error === null) {
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!)
      this.entries.set(id, { directory: result.data, until: Date.now() + this.ttlMs })
    }
    return result
  }

  forget (id: string): void {
    this.entries.delete(id)
  }
}
