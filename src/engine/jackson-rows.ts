// jackson's copy written as rows of its own SQL tables, a batch of events at a time. Through jackson's
// API each change is a typeorm transaction of its own (4 to 8 round trips: a SELECT before every save,
// one more per index entry); written here, a batch of events costs a few multi-row statements in one
// transaction. The rows are what jackson's Users and Groups (dist/directory-sync/scim) would write
// through its Store and DB (dist/db): the same namespaces, keys, index entries and encryption, computed
// with jackson's own digest and encrypter. test/engine/jackson-rows.test.ts pins that the rows equal the
// ones jackson's API writes for the same events, and reads them back through jackson.
import type { JacksonRowOp } from '../store/types.js'
import type { ScimEvent } from '../types.js'
import { jacksonEncrypt, jacksonKeyDigest } from './jackson.js'

// dist/controller/utils.js storeNamespacePrefix.dsync and dist/directory-sync/scim/utils.js indexNames.
const NAMESPACE = { users: 'dsync:users', groups: 'dsync:groups', members: 'dsync:members' } as const
const INDEX = { directoryIdUsername: 'directoryIdUsername', directoryIdDisplayname: 'directoryIdDisplayname', directoryId: 'directoryId', groupId: 'groupId' } as const

type Kind = keyof typeof NAMESPACE

/** Rows of jackson's copy for a run of events; `encryptionKey`: jackson's (JacksonDb.encryptionKey), if set. */
export function jacksonRowsOf (events: ScimEvent[], encryptionKey: unknown): JacksonRowOp[] {
  const ops: JacksonRowOp[] = []
  for (const event of events) {
    // Base.store(): `${prefix}:${tenant}:${product}`.
    const namespace = (kind: Kind) => `${NAMESPACE[kind]}:${event.tenant}:${event.product}`
    // Store.put/delete: the key is digested; DB/Sql: `${namespace}:${key}` (dbutils.key).
    const storeKey = (kind: Kind, id: string) => `${namespace(kind)}:${jacksonKeyDigest(id)}`
    // Store.put digests each index value; Sql.put keys it as keyForIndex(namespace, idx).
    const indexKey = (kind: Kind, name: string, value: string) => `${namespace(kind)}:${name}:${jacksonKeyDigest(value)}`
    // DB.put: JSON, encrypted when jackson has a key.
    const put = (kind: Kind, id: string, record: unknown, indexes: string[] = []) => {
      const text = JSON.stringify(record)
      const { value, iv, tag } = encryptionKey ? jacksonEncrypt(text, encryptionKey) : { value: text, iv: null, tag: null }
      ops.push({ op: 'put', key: storeKey(kind, id), namespace: namespace(kind), value, iv, tag, indexes })
    }
    // keyFromParts: the parts joined with ':' (an undefined part as '').
    const parts = (...values: unknown[]) => values.join(':')
    const directoryId = event.directory_id
    switch (event.event) {
      case 'user.created': { // Users.create
        const user = { ...event.data, directoryId }
        put('users', user.id, user, [
          indexKey('users', INDEX.directoryIdUsername, parts(directoryId, user.email)),
          indexKey('users', INDEX.directoryId, directoryId)
        ])
        break
      }
      case 'user.updated': { // Users.update: raw.id set, no index entries
        const user = { ...event.data, directoryId }
        put('users', user.id, { ...user, raw: { ...user.raw, id: user.id } })
        break
      }
      case 'user.deleted': ops.push({ op: 'delete', key: storeKey('users', event.data.id) }); break
      case 'group.created': { // Groups.create
        const { id, name } = event.data
        put('groups', id, { id, name, raw: { ...event.data.raw, id } }, [
          indexKey('groups', INDEX.directoryIdDisplayname, parts(directoryId, name)),
          indexKey('groups', INDEX.directoryId, directoryId)
        ])
        break
      }
      case 'group.updated': put('groups', event.data.id, { id: event.data.id, name: event.data.name, raw: event.data.raw }); break
      case 'group.deleted': // Groups.delete: the group, then its memberships (removeAllUsers)
        ops.push({ op: 'delete', key: storeKey('groups', event.data.id) })
        ops.push({ op: 'deleteIndexed', index: indexKey('members', INDEX.groupId, event.data.id) })
        break
      case 'group.user_added': { // Groups.addUserToGroup: the membership's id is itself a digest
        const groupId = event.data.group.id
        const id = jacksonKeyDigest(parts(groupId, event.data.id))
        put('members', id, { id, group_id: groupId, user_id: event.data.id }, [indexKey('members', INDEX.groupId, groupId)])
        break
      }
      case 'group.user_removed': { // a membership's only index entry is its group's
        const groupId = event.data.group.id
        ops.push({ op: 'delete', key: storeKey('members', jacksonKeyDigest(parts(groupId, event.data.id))), indexes: [indexKey('members', INDEX.groupId, groupId)] })
        break
      }
    }
  }
  return ops
}
