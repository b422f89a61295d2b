// The admin store on Redis: setup links in the hash dsync:admin:links (id → JSON), found by token
// digest through dsync:admin:link-tokens (digest → id), and token grace periods in dsync:admin:grace
// (directory id → JSON). Only digests of tokens are stored.
import type { createClient } from 'redis'
import type { AdminStore, SetupLinkRecord, TokenGrace } from './types.js'

type Client = ReturnType<typeof createClient>

const LINKS = 'dsync:admin:links'
const LINK_TOKENS = 'dsync:admin:link-tokens'
const GRACE = 'dsync:admin:grace'

export class RedisAdminStore implements AdminStore {
  constructor (private readonly client: Client) {}

  async createLink (link: SetupLinkRecord): Promise<void> {
    await this.client.multi().hSet(LINKS, link.id, JSON.stringify(link)).hSet(LINK_TOKENS, link.tokenDigest, link.id).exec()
  }

  async linkById (id: string): Promise<SetupLinkRecord | null> {
    const json = await this.client.hGet(LINKS, id)
    return json === undefined || json === null ? null : JSON.parse(json)
  }

  async linkByDigest (tokenDigest: string): Promise<SetupLinkRecord | null> {
    const id = await this.client.hGet(LINK_TOKENS, tokenDigest)
    return id === undefined || id === null ? null : this.linkById(id)
  }

  async links (filter?: { tenant: string, product: string }): Promise<SetupLinkRecord[]> {
    const all = Object.values(await this.client.hGetAll(LINKS)).map((json) => JSON.parse(json) as SetupLinkRecord)
    return all.filter((link) => filter === undefined || (link.tenant === filter.tenant && link.product === filter.product))
      .sort((a, b) => b.createdAt - a.createdAt || a.id.localeCompare(b.id))
  }

  async updateLink (id: string, changes: Partial<Pick<SetupLinkRecord, 'revokedAt' | 'directoryId'>>): Promise<void> {
    const link = await this.linkById(id)
    if (link !== null) await this.client.hSet(LINKS, id, JSON.stringify({ ...link, ...changes }))
  }

  async setGrace (directoryId: string, grace: TokenGrace | null): Promise<void> {
    if (grace === null) await this.client.hDel(GRACE, directoryId)
    else await this.client.hSet(GRACE, directoryId, JSON.stringify(grace))
  }

  async grace (directoryId: string): Promise<TokenGrace | null> {
    const json = await this.client.hGet(GRACE, directoryId)
    return json === undefined || json === null ? null : JSON.parse(json)
  }
}
