// The SCIM URLs a host hands out, computed when a directory is read, from the current registration:
// the external URL, the prefix of the context the plugin is registered in, and scimPath. jackson stores
// a directory's path when it is created and builds its endpoint from that, so a later prefix or
// scimPath would otherwise give a URL that answers 404.
import type { Directory, DirectorySyncController, Result } from '../types.js'

// Entra ID's "Tenant URL" carries this flag, which makes Entra follow RFC 7644 more closely
// (jackson adds it to an azure-scim-v2 directory's endpoint, as Microsoft documents).
export const ENTRA_FLAG = '/?aadOptscim062020'

/** `directory` with scim.path and scim.endpoint as this registration serves them (`baseUrl`: external URL + base path). */
export function withEndpoint (directory: Directory, baseUrl: string): Directory {
  if (!directory.scim?.path) return directory // not a SCIM directory (google): it has no endpoint
  const endpoint = `${baseUrl}/${directory.id}${directory.type === 'azure-scim-v2' ? ENTRA_FLAG : ''}`
  const { pathname, search } = new URL(endpoint)
  return { ...directory, scim: { ...directory.scim, path: pathname + search, endpoint } }
}

type Directories = DirectorySyncController['directories']

/** The controller's directories, every directory they answer with its endpoint as served (withEndpoint). */
export function presentingEndpoints (directories: Directories, baseUrl: string): Directories {
  const one = async (result: Promise<Result<Directory>>): Promise<Result<Directory>> => {
    const answer = await result
    return answer.error === null ? { ...answer, data: withEndpoint(answer.data, baseUrl) } : answer
  }
  const many = async (result: Promise<Result<Directory[]>>): Promise<Result<Directory[]>> => {
    const answer = await result
    return answer.error === null ? { ...answer, data: answer.data.map((d) => withEndpoint(d, baseUrl)) } : answer
  }
  return {
    create: (params) => one(directories.create(params)),
    get: (id) => one(directories.get(id)),
    update: (id, params) => one(directories.update(id, params)),
    rotateToken: (id, options) => one(directories.rotateToken(id, options)),
    status: (id) => directories.status(id),
    delete: (id) => directories.delete(id),
    getByTenantAndProduct: (tenant, product) => many(directories.getByTenantAndProduct(tenant, product)),
    getAll: (page) => many(directories.getAll(page)),
    list: async (params) => {
      const answer = await directories.list(params)
      return answer.error === null ? { data: { ...answer.data, items: answer.data.items.map((d) => withEndpoint(d, baseUrl)) }, error: null } : answer
    }
  }
}
