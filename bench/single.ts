// A fixed number of GET /Users/:id, for the soak (which reads the RSS between chunks).
import type { Workload } from './workload.js'
import { chainCounter, wholeChains } from './workload.js'

export function getUser (users: Array<{ id: string }>, connections: number, requests: number): Workload {
  return {
    connections,
    steps: [{ op: (ctx) => ({ method: 'GET', resourceType: 'Users', id: users[ctx.n % users.length].id }) }],
    begin: chainCounter(),
    chains: wholeChains(requests, connections)
  }
}
