// The README names what the package gives: every error class with its code, every runtime and type
// export, every option. A new one that the README does not mention fails here.
import { readFileSync } from 'node:fs'
import t from 'tap'
import * as pkg from '../src/index.js'
import { OptionsSchema, MemDbSchema, SqlDbSchema, RedisDbSchema } from '../src/options.js'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

t.test('every error class, with its code, is in the errors table', async (t) => {
  for (const [name, ErrorClass] of Object.entries(pkg.errors)) {
    const code = new (ErrorClass as any)('a', 'b', 'c').code as string
    t.ok(readme.includes(`| \`${code}\` | \`${name}\` |`), `${code} (${name})`)
  }
})

t.test('every runtime export is in the exports table', async (t) => {
  for (const name of Object.keys(pkg)) t.match(readme, new RegExp(`\\| [^\\n]*\`${name}[\`(]`), name)
})

t.test('every type export is named', async (t) => {
  const source = readFileSync(new URL('../src/index.ts', import.meta.url), 'utf8') + readFileSync(new URL('../src/types.ts', import.meta.url), 'utf8')
  const names = new Set<string>()
  for (const [, list] of source.matchAll(/export type \{([^}]+)\}/g)) for (const name of list.split(',')) names.add(name.trim().replace(/^type /, ''))
  for (const [, name] of source.matchAll(/^export (?:type|interface) ([A-Za-z]+)/gm)) names.add(name)
  for (const name of names) t.ok(readme.includes(`\`${name}\``), name)
})

t.test('every option is in the options table', async (t) => {
  const section = readme.slice(readme.indexOf('## Options'), readme.indexOf('## `app.directorySync`'))
  for (const name of Object.keys(OptionsSchema.properties)) t.ok(section.includes(`\`${name}\``), name)
  for (const schema of [MemDbSchema, SqlDbSchema, RedisDbSchema]) {
    for (const name of Object.keys(schema.properties)) t.ok(readme.includes(`\`${name}\``) || readme.includes(`{ ${name}: `), `db.${name}`)
  }
})
