// Directory administration without delivery, for a short-lived process (the command line): the same
// directory, user and group operations as app.directorySync, with endpoints as the server hands them
// out, but no dispatcher, no claims, no webhooks and no jackson copy (delivering from a process that
// exits in a second would only take claims and leave them to expire).
import type { FastifyBaseLogger } from 'fastify'
import type { DirectorySyncController } from '../types.js'
import { joinPaths } from '../options.js'
import { presentingEndpoints } from '../scim/endpoints.js'
import { openCore, type CoreOptions } from './core.js'
import { DirectoryCache } from './directory-cache.js'
import { buildController } from './controller.js'
import { lifecycleRecorder } from '../events/lifecycle.js'

export interface DirectoryAdmin extends Pick<DirectorySyncController, 'directories' | 'providers' | 'users' | 'groups'> {
  close(): Promise<void>
}

/** `options.scimPath`: the full path the server serves SCIM under (its prefix included). */
export async function openDirectoryAdmin (options: CoreOptions, log: FastifyBaseLogger): Promise<DirectoryAdmin> {
  const core = await openCore(options, log, 1)
  // Every read goes to the database: a short-lived process has nothing to gain from caching.
  const directories = new DirectoryCache((id) => core.run(id, (set) => set.directories.get(id)), 0)
  const controller = buildController({
    run: core.run,
    providers: core.sets[0].providers(),
    store: core.storage.resources,
    queue: core.storage.events,
    admin: core.storage.admin,
    pageLimit: core.lease.database.options.pageLimit as number,
    cache: directories,
    record: lifecycleRecorder(core.storage) // lifecycle events are recorded here, and delivered by a server
  })
  const basePath = joinPaths(options.scimPath)
  return {
    ...controller,
    directories: presentingEndpoints(controller.directories, options.externalUrl + (basePath === '/' ? '' : basePath)),
    close: () => core.close()
  }
}
