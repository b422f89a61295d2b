// The onScimEvent hook registry (mercurius' `app.graphql.addHook` is the model): Fastify's own addHook
// refuses names it does not know, so the plugin keeps its own. Handlers run in registration order with
// `this` bound to the Fastify instance. A handler's delivery state is kept under its key: the id it was
// given, or else `onScimEvent#<n>` by the order of the unnamed hooks, which keeps its place in the
// queue across restarts only as long as they are registered in the same order.
import type { FastifyInstance } from 'fastify'
import { HookIdTakenError, HookNotSupportedError, InvalidOptionError } from '../errors.js'
import type { HookOptions, ScimEvent } from '../types.js'

type HookStart = NonNullable<HookOptions['from']>

export const HOOK_NAMES = ['onScimEvent'] as const

// Ids are the handlers' keys in the queue: the plugin's own handlers and the unnamed hooks' keys are taken.
const RESERVED = new Set(['jackson', 'webhook'])
const ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/

export interface Hook { key: string, run: (event: ScimEvent) => Promise<void>, from: HookStart, lifecycle: boolean }

export class HookRegistry {
  private readonly hooks: Hook[] = []
  private readonly listeners: Array<(hook: Hook) => void> = []
  private unnamed = 0

  constructor (private readonly instance: FastifyInstance) {}

  add (name: string, handler: unknown, options: HookOptions = {}): void {
    if (!(HOOK_NAMES as readonly string[]).includes(name)) throw new HookNotSupportedError(name, HOOK_NAMES.join(', '))
    if (typeof handler !== 'function') throw new InvalidOptionError(name, 'a hook must be a function')
    const { id, from = 'now' } = options
    if (from !== 'now' && from !== 'oldest') throw new InvalidOptionError(`${name} from`, `expected 'now' or 'oldest', got ${JSON.stringify(from)}`)
    if (id !== undefined && (typeof id !== 'string' || !ID.test(id) || RESERVED.has(id) || id.startsWith(`${name}#`))) {
      throw new InvalidOptionError(`${name} id`, `expected 1 to 100 letters, digits, '.', '_', ':' or '-' (not 'jackson', 'webhook' or '${name}#n'), got ${JSON.stringify(id)}`)
    }
    // Unnamed hooks count among themselves, so that naming one hook does not move the others' keys.
    const key = id ?? `${name}#${this.unnamed++}`
    if (this.hooks.some((hook) => hook.key === key)) throw new HookIdTakenError(key)
    const bound = handler.bind(this.instance) as (event: ScimEvent) => unknown
    // Whether the hook takes lifecycle events: the dispatcher passes them over for one that does not.
    const hook: Hook = { key, run: async (event: ScimEvent) => { await bound(event) }, from, lifecycle: options.lifecycle === true }
    this.hooks.push(hook)
    for (const listener of this.listeners) listener(hook)
  }

  /** Calls `listener` for every hook, now and as they are added. */
  each (listener: (hook: Hook) => void): void {
    for (const hook of this.hooks) listener(hook)
    this.listeners.push(listener)
  }

  get (key: string): ((event: ScimEvent) => Promise<void>) | undefined {
    return this.hooks.find((hook) => hook.key === key)?.run
  }
}
