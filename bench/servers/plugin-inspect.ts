// Reads what the plugin stored, through its own SCIM API (app.inject: no socket, no load on the
// benchmark's connections): totals from `count=0`, inactive users through a filter, members from GET.
import type { FastifyInstance } from 'fastify'
import type { Inspector, Sample } from '../protocol.js'

type Json = Record<string, any>
const PAGE = 1000 // the plugin's largest page

export function pluginInspector (app: FastifyInstance, basePath: string, token: string): Inspector {
  const get = async (path: string): Promise<Json> => {
    const response = await app.inject({ method: 'GET', url: basePath + path, headers: { authorization: `Bearer ${token}` } })
    if (response.statusCode !== 200) throw new Error(`GET ${path} answered ${response.statusCode}: ${response.body}`)
    return response.json()
  }
  const total = async (path: string) => (await get(path)).totalResults as number
  const members = async (groupId: string) =>
    ((await get(`/Groups/${groupId}?attributes=members`)).members ?? []).map((m: Json) => m.value as string)
  return {
    async stored () {
      return {
        users: await total('/Users?count=0'),
        inactive: await total(`/Users?count=0&filter=${encodeURIComponent('active eq false')}`),
        groups: await total('/Groups?count=0')
      }
    },
    async sample (userCount, groupCount) {
      const sample: Sample = { users: [], groups: [] }
      for (let start = 1; sample.users.length < userCount; start += PAGE) {
        const page = await get(`/Users?startIndex=${start}&count=${PAGE}&attributes=userName,active`)
        for (const user of page.Resources ?? []) {
          if (sample.users.length < userCount && user.active !== false) sample.users.push({ id: user.id, userName: user.userName })
        }
        if ((page.Resources ?? []).length < PAGE) break
      }
      const groups = await get(`/Groups?count=${Math.min(groupCount, PAGE)}&attributes=members`)
      for (const group of groups.Resources ?? []) sample.groups.push({ id: group.id, members: (group.members ?? []).map((m: Json) => m.value) })
      return sample
    },
    async members (groupIds) {
      const result: Record<string, string[]> = {}
      for (const id of groupIds) result[id] = await members(id)
      return result
    }
  }
}
