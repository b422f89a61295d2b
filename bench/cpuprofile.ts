// Summarises a V8 CPU profile: self time per function, and per area (a package, the plugin's own
// files, Node's internals, the garbage collector), which is what the closing note cites.

interface CallFrame { functionName: string, url: string, lineNumber: number }
interface ProfileNode { id: number, callFrame: CallFrame, children?: number[] }
export interface CpuProfile { nodes: ProfileNode[], samples: number[], timeDeltas: number[], startTime: number, endTime: number }

export interface Row { name: string, ms: number, pct: number }

/** Where a function lives: `src/scim/query.ts`, a package name, `node:internal`, or V8's own entries. */
export function areaOf (frame: CallFrame): string {
  const { url, functionName } = frame
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)'
  // The contenders run compiled under node_modules/.cache (bench/compile.ts): those are our files.
  const compiled = /fastify-directory-sync-bench\/((?:src|bench)\/.*)$/.exec(url)
  if (compiled) return compiled[1].replace(/\.js$/, '.ts')
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (pkg) return pkg[1]
  const own = /\/((?:src|bench)\/.*)$/.exec(url)
  if (own) return own[1]
  if (url.startsWith('node:')) return 'node:internal'
  return url
}

function selfTimes (profile: CpuProfile): Map<number, number> {
  const self = new Map<number, number>()
  // timeDeltas[i] is the time before sample i: charge it to the node sampled.
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000))
  return self
}

function top (totals: Map<string, number>, all: number, limit: number): Row[] {
  return [...totals.entries()].sort((a, b) => b[1] - a[1]).slice(0, limit).map(([name, ms]) => ({ name, ms, pct: (ms / all) * 100 }))
}

export function summarise (profile: CpuProfile, limit = 20): { totalMs: number, functions: Row[], areas: Row[] } {
  const self = selfTimes(profile)
  const byFunction = new Map<string, number>()
  const byArea = new Map<string, number>()
  let totalMs = 0
  for (const node of profile.nodes) {
    const ms = self.get(node.id) ?? 0
    if (ms === 0) continue
    totalMs += ms
    const { functionName, url, lineNumber } = node.callFrame
    const name = `${functionName || '(anonymous)'} ${areaOf(node.callFrame)}${url ? ':' + (lineNumber + 1) : ''}`
    byFunction.set(name, (byFunction.get(name) ?? 0) + ms)
    const area = areaOf(node.callFrame)
    byArea.set(area, (byArea.get(area) ?? 0) + ms)
  }
  return { totalMs, functions: top(byFunction, totalMs, limit), areas: top(byArea, totalMs, limit) }
}

export function formatRows (rows: Row[]): string {
  return rows.map((r) => `${r.pct.toFixed(1).padStart(5)}%  ${r.ms.toFixed(0).padStart(7)} ms  ${r.name}`).join('\n')
}
