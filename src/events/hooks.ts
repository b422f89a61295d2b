// The onScimEvent hook registry (mercurius' `app.graphql.addHook` is the model): Fastify's own addHook
// refuses names it does not know, so the plugin keeps its own. Handlers run in registration order with
// `this` bound to the Fastify instance. A handler's delivery state is kept under its key,
// `onScimEvent#<n>` by registration order, so a handler keeps its place in the queue across restarts as
// long as handlers are registered in the same order.
import type { FastifyInstance } from 'fastify'
import { HookNotSupportedError, InvalidOptionError } from '../errors.js'
import type { ScimEvent } from '../types.js'

export const HOOK_NAMES = ['onScimEvent'] as const

export class HookRegistry {
  private readonly hooks: Array<{ key: string, run: (event: ScimEvent) => Promise<void> }> = []
  private readonly listeners: Array<(key: string, run: (event: ScimEvent) => Promise<void>) => void> = []

  constructor (private readonly instance: FastifyInstance) {}

  add (name: string, handler: unknown): void {
    if (!(HOOK_NAMES as readonly string[]).includes(name)) throw new HookNotSupportedError(name, HOOK_NAMES.join(', '))
    if (typeof handler !== 'function') throw new InvalidOptionError(name, 'a hook must be a function')
    const key = `${name}#${this.hooks.length}`
    const bound = handler.bind(this.instance) as (event: ScimEvent) => unknown
    const run = async (event: ScimEvent) => { await bound(event) }
    this.hooks.push({ key, run })
    for (const listener of this.listeners) listener(key, run)
  }

  /** Calls `listener` for every hook, now and as they are added. */
  each (listener: (key: string, run: (event: ScimEvent) => Promise<void>) => void): void {
    for (const hook of this.hooks) listener(hook.key, hook.run)
    this.listeners.push(listener)
  }

  get (key: string): ((event: ScimEvent) => Promise<void>) | undefined {
    return this.hooks.find((hook) => hook.key === key)?.run
  }
}
