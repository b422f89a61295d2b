export { fastifyDirectorySync, fastifyDirectorySync as default } from './plugin.js'
export type { DirectorySyncOptions, DbOptions, MemDbOptions, SqlDbOptions, RedisDbOptions } from './options.js'
export * as errors from './errors.js'
export type * from './types.js'
