// What the browser tests need: Debian's Chromium (never a downloaded one), the example server as a child
// process on a free port with its data in a temporary folder, the IdP simulator, axe-core, and a watch
// on each page's console errors and uncaught exceptions.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { freePort } from '../helpers/net.js'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type Page } from 'playwright-core'
import type { Test } from 'tap'

export const root = fileURLToPath(new URL('../../', import.meta.url))
export const outDir = join(root, 'test', 'out')
export const chromiumPath = process.env.DSYNC_CHROMIUM ?? '/usr/bin/chromium'

/** Whether the browser is there; when it is not, why (the test skips, or fails with DSYNC_REQUIRE_SERVICES=1). */
export function browserMissing (): string | null {
  return existsSync(chromiumPath) ? null : `${chromiumPath} is not installed (apt-get install chromium)`
}

export async function launchBrowser (t: Test): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync']
  })
  t.teardown(() => browser.close())
  return browser
}

export interface ExampleServer {
  base: string
  password: string
  /** What the server printed on standard output (its start-up banner). */
  stdout: () => string
}

/**
 * `node --import tsx examples/server.ts` on a free port of 127.0.0.1, its sqlite file in a temporary
 * folder; stopped (SIGTERM, then SIGKILL) and the folder removed when the test ends.
 */
export async function startExample (t: Test): Promise<ExampleServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'dsync-browser-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const password = `test-${Math.random().toString(36).slice(2)}-password`
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'examples/server.ts'], {
    cwd: root,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', EXTERNAL_URL: base, DATA_DIR: dataDir, ADMIN_PASSWORD: password, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    }
    if (stderr.trim() !== '') t.comment(`example server stderr:\n${stderr.slice(-4000)}`)
  })
  const deadline = Date.now() + 45_000
  while (!stdout.includes('Admin page:')) {
    if (child.exitCode !== null) throw new Error(`the example server exited with ${child.exitCode}:\n${stderr}`)
    if (Date.now() > deadline) throw new Error(`the example server did not start within 45 s:\n${stdout}\n${stderr}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return { base, password, stdout: () => stdout }
}

export interface Outcome { code: number | null, stdout: string, stderr: string }

/** The IdP simulator, as a person runs it. */
export function simulate (args: string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'examples/idp/simulate.ts', ...args], { cwd: root, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null
      resolve({ code, stdout, stderr })
    })
  })
}

/** Console errors and uncaught exceptions of the pages watched, but for those a test expects. */
export class PageProblems {
  readonly problems: string[] = []
  private readonly expected: Array<{ page: Page, pattern: RegExp }> = []

  watch (page: Page, label: string): Page {
    page.on('console', (message) => {
      if (message.type() !== 'error') return
      const text = `${message.text()} (${message.location().url})`
      if (this.expected.some((e) => e.page === page && e.pattern.test(text))) return
      this.problems.push(`${label}: console error: ${text}`)
    })
    page.on('pageerror', (error) => { this.problems.push(`${label}: page error: ${error.message}`) })
    return page
  }

  /** A console error this page is expected to log (a request the test makes fail on purpose). */
  expect (page: Page, pattern: RegExp): void {
    this.expected.push({ page, pattern })
  }
}

const axeSource = readFileSync(join(root, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8')

interface Violation { id: string, impact: string | null, help: string, nodes: string[] }

/**
 * axe-core on the page as it is: serious and critical violations fail (printed), the others are
 * printed as comments. The pages' CSP (default-src 'self') refuses an inline script, which is what
 * page.addScriptTag({ path }) adds; so axe.min.js is evaluated through the DevTools protocol instead,
 * which a CSP does not govern.
 */
export async function checkAxe (t: Test, page: Page, what: string): Promise<void> {
  if (!await page.evaluate('typeof window.axe !== "undefined"')) await page.evaluate(axeSource)
  const violations = await page.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ') + ': ' + (n.failureSummary || '').replace(/\\s+/g, ' '))
  })))`) as Violation[]
  const blocking = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
  for (const v of violations.filter((v) => !blocking.includes(v))) t.comment(`axe (${what}, ${v.impact}): ${v.id}: ${v.help} at ${v.nodes.join(' | ')}`)
  t.same(blocking, [], `${what}: no serious or critical accessibility violation (axe-core)`)
}

/** Whether the page scrolls sideways (it must not, at any width). */
export async function horizontalOverflow (page: Page): Promise<{ scrollWidth: number, innerWidth: number }> {
  return await page.evaluate('({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth })') as { scrollWidth: number, innerWidth: number }
}

export function screenshotPath (name: string): string {
  mkdirSync(outDir, { recursive: true })
  return join(outDir, name)
}
