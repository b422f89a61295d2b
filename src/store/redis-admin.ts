// The admin store on Redis: setup links in the hash dsync:admin:links (id → JSON), found by token
// digest through dsync:admin:link-tokens (digest → id), and token grace periods in dsync:admin:grace
// (directory id → JSON); a link's directory through dsync:admin:link-directories (directory id → link
// id). Only digests of tokens are stored.
import type { createClient } from 'redis'
import type { AdminStore, SetupLinkRecord, TokenGrace } from './types.js'

type Client = ReturnType<typeof createClient>

const LINKS = 'dsync:admin:links'
const LINK_TOKENS = 'dsync:admin:link-tokens'
const GRACE = 'dsync:admin:grace'
const LINK_DIRECTORIES = 'dsync:admin:link-directories'

const CLAIM_SCRIPT = `
local json = redis.call('HGET', KEYS[1], ARGV[1])
if not json then return 0 end
local link = cjson.decode(json)
if link.directoryId ~= nil and link.directoryId ~= cjson.null then return 0 end
link.directoryId = ARGV[2]
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(link))
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
return 1`

// A link stored before migration 7 has no firstRequestAt.
const parseLink = (json: string): SetupLinkRecord => ({ firstRequestAt: null, ...JSON.parse(json) })

export class RedisAdminStore implements AdminStore {
  constructor (private readonly client: Client) {}

  async createLink (link: SetupLinkRecord): Promise<void> {
    await this.client.multi().hSet(LINKS, link.id, JSON.stringify(link)).hSet(LINK_TOKENS, link.tokenDigest, link.id).exec()
  }

  async linkById (id: string): Promise<SetupLinkRecord | null> {
    const json = await this.client.hGet(LINKS, id)
    return json === undefined || json === null ? null : parseLink(json)
  }

  async linkByDigest (tokenDigest: string): Promise<SetupLinkRecord | null> {
    const id = await this.client.hGet(LINK_TOKENS, tokenDigest)
    return id === undefined || id === null ? null : this.linkById(id)
  }

  async links (filter?: { tenant: string, product: string }): Promise<SetupLinkRecord[]> {
    const all = Object.values(await this.client.hGetAll(LINKS)).map(parseLink)
    return all.filter((link) => filter === undefined || (link.tenant === filter.tenant && link.product === filter.product))
      .sort((a, b) => b.createdAt - a.createdAt || a.id.localeCompare(b.id))
  }

  async updateLink (id: string, changes: Partial<Pick<SetupLinkRecord, 'revokedAt' | 'directoryId'>>): Promise<void> {
    const link = await this.linkById(id)
    if (link === null) return
    const multi = this.client.multi().hSet(LINKS, id, JSON.stringify({ ...link, ...changes }))
    if (changes.directoryId !== undefined && changes.directoryId !== null) multi.hSet(LINK_DIRECTORIES, changes.directoryId, id)
    await multi.exec()
  }

  async claimLinkDirectory (id: string, directoryId: string): Promise<boolean> {
    // Compare-and-set in one script: two processes claiming at once, one wins.
    const claimed = await this.client.eval(CLAIM_SCRIPT, { keys: [LINKS, LINK_DIRECTORIES], arguments: [id, directoryId] })
    return claimed === 1
  }

  async markFirstRequest (directoryId: string, at: number): Promise<void> {
    const id = await this.client.hGet(LINK_DIRECTORIES, directoryId)
    if (id === undefined || id === null) return
    const link = await this.linkById(id)
    // A read then a write: two processes noting the same first request both write a time within moments.
    if (link !== null && link.directoryId === directoryId && link.firstRequestAt === null) await this.client.hSet(LINKS, id, JSON.stringify({ ...link, firstRequestAt: at }))
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
