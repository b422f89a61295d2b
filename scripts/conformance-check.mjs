// Reads the suites' results and fails on any failed assertion that is not a documented deviation.
//   node scripts/conformance-check.mjs <logs folder> <deviations.json>
import { readFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'

const [folder, deviationsFile] = process.argv.slice(2)
const deviations = JSON.parse(readFileSync(deviationsFile, 'utf8'))
const allowed = new Set(deviations.map((d) => `${d.suite} | ${d.request} | ${d.assertion}`))
const failures = []

const okta = join(folder, 'okta.out')
if (!existsSync(okta)) failures.push('okta | (no result) | the suite did not run')
else {
  const text = readFileSync(okta, 'utf8')
  const line = text.match(/^(\d+) passed, (\d+) failed/m)
  if (!line) failures.push('okta | (no result) | the runner stopped early')
  else if (Number(line[2]) > 0) {
    for (const m of text.matchAll(/^\s*FAIL\s+(.*)$/gm)) failures.push(`okta | ${m[1]} | failed`)
    if (failures.length === 0) failures.push(`okta | ${line[0]} | see ${okta}`)
  }
}

const entra = join(folder, 'entra-result.json')
if (!existsSync(entra)) failures.push('entra | (no result) | newman produced no result')
else {
  const run = JSON.parse(readFileSync(entra, 'utf8')).run
  for (const f of run.failures) failures.push(`entra | ${f.source.name} | ${f.error.test}`)
}

const unexpected = failures.filter((f) => !allowed.has(f))
const documented = failures.length - unexpected.length
console.log(`conformance: ${failures.length} failed assertions, ${documented} of them documented deviations`)
for (const f of unexpected) console.log(`  unexpected: ${f}`)
process.exit(unexpected.length === 0 ? 0 : 1)
