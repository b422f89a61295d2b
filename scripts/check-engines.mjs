// Checks package.json "engines.node" against the production dependency tree: every package reachable
// from "dependencies" (transitively, optional and peer dependencies included, as `npm ls --omit=dev`
// lists them) must accept every Node.js version our range accepts. Fails naming each package whose
// own engines.node range is narrower (ours ">=20", a dependency ">=20.19" → fails: Node 20.0 to 20.18
// would be accepted by us and refused by it). Run after `npm ci`.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const semver = require('semver') // in node_modules through fastify (and jackson's tree)

const root = JSON.parse(readFileSync('package.json', 'utf8'))
const ours = root.engines?.node
if (typeof ours !== 'string' || semver.validRange(ours) === null) {
  console.error(`check-engines: package.json engines.node is missing or not a valid range: ${JSON.stringify(ours)}`)
  process.exit(1)
}

let out
try {
  out = execFileSync('npm', ['ls', '--omit=dev', '--all', '--json', '--long'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] })
} catch (err) {
  // npm ls exits 1 on problems (missing, invalid, extraneous) but still prints the tree
  if (!err.stdout) throw err
  out = err.stdout
}
const tree = JSON.parse(out)
if (tree.problems?.length) {
  console.error('check-engines: npm ls reports problems (run npm ci first):\n  ' + tree.problems.join('\n  '))
  process.exit(1)
}

const packages = new Map() // path → { name, version, node }
const walk = (node) => {
  for (const [name, dep] of Object.entries(node.dependencies ?? {})) {
    if (!dep.path || packages.has(dep.path)) continue
    let engines = dep.engines
    if (engines === undefined) {
      try { engines = JSON.parse(readFileSync(join(dep.path, 'package.json'), 'utf8')).engines } catch {}
    }
    packages.set(dep.path, { name: dep.name ?? name, version: dep.version, node: engines?.node })
    walk(dep)
  }
}
walk(tree)
if (packages.size === 0) {
  console.error('check-engines: no production dependencies found under node_modules (run npm ci first)')
  process.exit(1)
}

// Whether range `a` accepts only versions `b` accepts. semver.subset() alone is too strict for
// unions ("^20.19.0 || >=22 <26" is not a subset of "20.x || 22.x || ... || 25.x" for it, since each
// part must fit in one part of the other), so the ranges are also compared at every version where
// either one can change its answer: the versions its comparators name and the next patch of each
// (">" and "<=" change just after theirs), plus each major. Prereleases are ignored (Node.js has none).
const boundaries = (...ranges) => {
  const points = new Map()
  const add = (v) => { const s = semver.coerce(v)?.version; if (s) points.set(s, new semver.SemVer(s)) }
  for (let major = 0; major <= 99; major++) add(`${major}.0.0`)
  for (const range of ranges) {
    for (const comparators of range.set) {
      for (const c of comparators) {
        if (c.semver === semver.Comparator.ANY) continue
        add(c.semver.version)
        add(semver.inc(c.semver.version, 'patch'))
      }
    }
  }
  return [...points.values()].sort(semver.compare)
}
/** A version `a` accepts and `b` refuses, or undefined when there is none. */
const counterexample = (a, b) => {
  if (semver.subset(a, b)) return undefined
  const ra = new semver.Range(a)
  const rb = new semver.Range(b)
  return boundaries(ra, rb).find((v) => ra.test(v) && !rb.test(v))?.version
}

const constrained = [...packages.values()].filter((p) => typeof p.node === 'string')
const offenders = []
const unreadable = []
for (const p of constrained) {
  if (semver.validRange(p.node) === null) { unreadable.push(p); continue }
  const refused = counterexample(ours, p.node)
  if (refused !== undefined) offenders.push({ ...p, refused })
}

console.log(`check-engines: engines.node "${ours}" against ${packages.size} production packages ` +
  `(${constrained.length} declare engines.node, ${packages.size - constrained.length} do not)`)
const distinct = new Map()
for (const p of constrained) distinct.set(p.node, (distinct.get(p.node) ?? 0) + 1)
console.log('  ranges declared: ' + [...distinct].sort((a, b) => b[1] - a[1]).map(([r, n]) => `"${r}" ×${n}`).join(', '))
for (const p of unreadable) console.log(`  warning: ${p.name}@${p.version} declares an engines.node semver cannot read: "${p.node}" (not checked)`)

if (offenders.length === 0) {
  console.log(`check-engines: ok, every dependency accepts every Node.js version "${ours}" accepts`)
  process.exit(0)
}

console.error(`check-engines: FAIL, ${offenders.length} dependencies refuse Node.js versions that "${ours}" accepts:`)
for (const p of offenders) console.error(`  ${p.name}@${p.version} requires node "${p.node}" (refuses ${p.refused}, which "${ours}" accepts)`)

// A suggestion: the versions accepted by ours and by every dependency, as a range, checked before it
// is offered.
const ranges = [ours, ...constrained.filter((p) => semver.validRange(p.node) !== null).map((p) => p.node)].map((r) => new semver.Range(r))
const sorted = boundaries(...ranges)
const ok = (v) => ranges.every((r) => r.test(v))
const parts = []
for (let i = 0; i < sorted.length; i++) {
  if (!ok(sorted[i])) continue
  let j = i
  while (j + 1 < sorted.length && ok(sorted[j + 1])) j++
  parts.push(j + 1 < sorted.length ? `>=${sorted[i].version} <${sorted[j + 1].version}` : `>=${sorted[i].version}`)
  i = j
}
const suggestion = parts.join(' || ')
if (parts.length === 0) {
  console.error('  no Node.js version satisfies every package')
} else if (constrained.every((p) => semver.validRange(p.node) === null || counterexample(suggestion, p.node) === undefined)) {
  console.error(`  the versions every package accepts: "${suggestion}"`)
}
process.exit(1)
