// The admin store in process memory (the mem engine): setup links and token grace periods.
import type { AdminStore, SetupLinkRecord, TokenGrace } from './types.js'

export class MemoryAdminStore implements AdminStore {
  private readonly byId = new Map<string, SetupLinkRecord>()
  private readonly graces = new Map<string, TokenGrace>()

  async createLink (link: SetupLinkRecord): Promise<void> {
    this.byId.set(link.id, { ...link })
  }

  async linkById (id: string): Promise<SetupLinkRecord | null> {
    const link = this.byId.get(id)
    return link === undefined ? null : { ...link }
  }

  async linkByDigest (tokenDigest: string): Promise<SetupLinkRecord | null> {
    for (const link of this.byId.values()) if (link.tokenDigest === tokenDigest) return { ...link }
    return null
  }

  async links (filter?: { tenant: string, product: string }): Promise<SetupLinkRecord[]> {
    return [...this.byId.values()]
      .filter((link) => filter === undefined || (link.tenant === filter.tenant && link.product === filter.product))
      .sort((a, b) => b.createdAt - a.createdAt)
      .map((link) => ({ ...link }))
  }

  async updateLink (id: string, changes: Partial<Pick<SetupLinkRecord, 'revokedAt' | 'directoryId'>>): Promise<void> {
    const link = this.byId.get(id)
    if (link !== undefined) Object.assign(link, changes)
  }

  async claimLinkDirectory (id: string, directoryId: string): Promise<boolean> {
    const link = this.byId.get(id)
    if (link === undefined || link.directoryId !== null) return false
    link.directoryId = directoryId
    return true
  }

  async markFirstRequest (directoryId: string, at: number): Promise<void> {
    for (const link of this.byId.values()) if (link.directoryId === directoryId && link.firstRequestAt === null) link.firstRequestAt = at
  }

  async setGrace (directoryId: string, grace: TokenGrace | null): Promise<void> {
    if (grace === null) this.graces.delete(directoryId)
    else this.graces.set(directoryId, { ...grace })
  }

  async grace (directoryId: string): Promise<TokenGrace | null> {
    return this.graces.get(directoryId) ?? null
  }
}
