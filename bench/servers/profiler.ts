// On-demand CPU profiles of a contender (V8's sampling profiler, as node --cpu-prof uses), so that a
// profile covers one scenario run and not the start-up or the seeding before it.
import { Session } from 'node:inspector/promises'

let session: Session | undefined

export async function startProfile (): Promise<{ started: true }> {
  session ??= new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 200 })
  await session.post('Profiler.start')
  return { started: true }
}

export async function stopProfile (): Promise<unknown> {
  if (session === undefined) throw new Error('no profile is running')
  const { profile } = await session.post('Profiler.stop')
  session.disconnect()
  session = undefined
  return profile
}
