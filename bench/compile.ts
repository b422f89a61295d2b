// Compiles the contenders to JavaScript (tsc without a type check, a few seconds), so that they run as
// an app runs: compiled. Under tsx the plugin would pay for the loader's hooks on every one of jackson's
// ~1,900 CommonJS modules at start (about a second) and for esbuild's `__name` wrappers on every
// closure it creates per request, which jackson's (compiled) code does not. The output goes under
// node_modules/.cache, where packages still resolve from the project's node_modules and no linter or
// type check looks.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ContenderName } from './child.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const NAMES: Array<Exclude<ContenderName, 'encrypted'>> = ['plugin', 'express', 'inprocess', 'bare']

/** Answers the compiled entry of each bench/servers/<name>.ts. */
export function compileServers (): Record<Exclude<ContenderName, 'encrypted'>, string> {
  const out = join(root, 'node_modules', '.cache', 'fastify-directory-sync-bench')
  rmSync(out, { recursive: true, force: true })
  mkdirSync(out, { recursive: true })
  writeFileSync(join(out, 'package.json'), JSON.stringify({ type: 'module' }))
  const project = join(out, 'tsconfig.json')
  writeFileSync(project, JSON.stringify({
    extends: join(root, 'tsconfig.json'),
    compilerOptions: { noEmit: false, outDir: out, rootDir: root, sourceMap: false, declaration: false },
    include: [],
    files: NAMES.map((name) => join(root, 'bench', 'servers', `${name}.ts`))
  }))
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  execFileSync(process.execPath, [tsc, '-p', project, '--noCheck'], { stdio: 'inherit' })
  const entries = Object.fromEntries(NAMES.map((name) => [name, join(out, 'bench', 'servers', `${name}.js`)])) as Record<Exclude<ContenderName, 'encrypted'>, string>
  for (const entry of Object.values(entries)) if (!existsSync(entry)) throw new Error(`tsc did not write ${entry}`)
  return entries
}
