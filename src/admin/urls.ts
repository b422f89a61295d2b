// Where the plugin is served, per registration (its controller): the configured external URL, and the
// setup pages' URL once directorySyncSetup is registered. Links handed out are built from these, never
// from a request's Host header (a link sent by mail must not point wherever a request said).
const served = new WeakMap<object, { externalUrl: string, setupPages?: string }>()

export function noteExternalUrl (controller: object, externalUrl: string): void {
  served.set(controller, { externalUrl })
}

export function externalUrlOf (controller: object): string | undefined {
  return served.get(controller)?.externalUrl
}

export function noteSetupPages (controller: object, path: string): void {
  const entry = served.get(controller)
  if (entry !== undefined) entry.setupPages = entry.externalUrl + (path === '/' ? '' : path)
}

/** The page a setup link's token opens (the token in the fragment, which no browser sends), or null before the pages are registered. */
export function setupUrlOf (controller: object, token: string): string | null {
  const pages = served.get(controller)?.setupPages
  return pages === undefined ? null : `${pages}#${token}`
}
