// The admin store on SQL (tables of migration 6): setup links, and the grace periods of rotated tokens.
// Only digests of tokens are stored.
import { insertIgnore, type Executor } from './sql-client.js'
import type { AdminStore, SetupLinkRecord, TokenGrace } from './types.js'

const LINKS = 'dsync_setup_links'
const GRACE = 'dsync_token_grace'
const COLUMNS = 'id, token_digest, tenant, product, created_at, expires_at, revoked_at, directory_id, first_request_at'

interface LinkRow {
  id: string
  token_digest: string
  tenant: string
  product: string
  created_at: number | string
  expires_at: number | string
  revoked_at: number | string | null
  directory_id: string | Buffer | null
  first_request_at: number | string | null
}

const fromRow = (row: LinkRow): SetupLinkRecord => ({
  id: row.id,
  tokenDigest: row.token_digest,
  tenant: row.tenant,
  product: row.product,
  createdAt: Number(row.created_at),
  expiresAt: Number(row.expires_at),
  revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
  directoryId: row.directory_id === null ? null : String(row.directory_id),
  firstRequestAt: row.first_request_at === null ? null : Number(row.first_request_at)
})

export class SqlAdminStore implements AdminStore {
  constructor (private readonly db: Executor) {}

  async createLink (link: SetupLinkRecord): Promise<void> {
    await this.db.query(`INSERT INTO ${LINKS} (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [link.id, link.tokenDigest, link.tenant, link.product, link.createdAt, link.expiresAt, link.revokedAt, link.directoryId, link.firstRequestAt])
  }

  async linkById (id: string): Promise<SetupLinkRecord | null> {
    const { rows } = await this.db.query<LinkRow>(`SELECT ${COLUMNS} FROM ${LINKS} WHERE id = ?`, [id])
    return rows.length === 0 ? null : fromRow(rows[0])
  }

  async linkByDigest (tokenDigest: string): Promise<SetupLinkRecord | null> {
    const { rows } = await this.db.query<LinkRow>(`SELECT ${COLUMNS} FROM ${LINKS} WHERE token_digest = ?`, [tokenDigest])
    return rows.length === 0 ? null : fromRow(rows[0])
  }

  async links (filter?: { tenant: string, product: string }): Promise<SetupLinkRecord[]> {
    const { rows } = filter === undefined
      ? await this.db.query<LinkRow>(`SELECT ${COLUMNS} FROM ${LINKS} ORDER BY created_at DESC, id`)
      : await this.db.query<LinkRow>(`SELECT ${COLUMNS} FROM ${LINKS} WHERE tenant = ? AND product = ? ORDER BY created_at DESC, id`, [filter.tenant, filter.product])
    return rows.map(fromRow)
  }

  async updateLink (id: string, changes: Partial<Pick<SetupLinkRecord, 'revokedAt' | 'directoryId'>>): Promise<void> {
    const sets: string[] = []
    const values: unknown[] = []
    if ('revokedAt' in changes) { sets.push('revoked_at = ?'); values.push(changes.revokedAt) }
    if ('directoryId' in changes) { sets.push('directory_id = ?'); values.push(changes.directoryId) }
    if (sets.length > 0) await this.db.query(`UPDATE ${LINKS} SET ${sets.join(', ')} WHERE id = ?`, [...values, id])
  }

  async claimLinkDirectory (id: string, directoryId: string): Promise<boolean> {
    const { changes } = await this.db.query(`UPDATE ${LINKS} SET directory_id = ? WHERE id = ? AND directory_id IS NULL`, [directoryId, id])
    return changes === 1
  }

  async markFirstRequest (directoryId: string, at: number): Promise<void> {
    await this.db.query(`UPDATE ${LINKS} SET first_request_at = ? WHERE directory_id = ? AND first_request_at IS NULL`, [at, directoryId])
  }

  async setGrace (directoryId: string, grace: TokenGrace | null): Promise<void> {
    if (grace === null) {
      await this.db.query(`DELETE FROM ${GRACE} WHERE directory_id = ?`, [directoryId])
      return
    }
    await this.db.query(insertIgnore(this.db.dialect, GRACE, ['directory_id', 'token_digest', 'until_at']), [directoryId, grace.tokenDigest, grace.until])
    await this.db.query(`UPDATE ${GRACE} SET token_digest = ?, until_at = ? WHERE directory_id = ?`, [grace.tokenDigest, grace.until, directoryId])
  }

  async grace (directoryId: string): Promise<TokenGrace | null> {
    const { rows } = await this.db.query<{ token_digest: string, until_at: number | string }>(`SELECT token_digest, until_at FROM ${GRACE} WHERE directory_id = ?`, [directoryId])
    return rows.length === 0 ? null : { tokenDigest: rows[0].token_digest, until: Number(rows[0].until_at) }
  }
}
