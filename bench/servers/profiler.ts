// On-demand profiles of a contender, so that a profile covers one scenario run and not the start-up or
// the seeding before it: V8's sampling CPU profiler (as node --cpu-prof uses), and its sampling heap
// profiler (what the memory still held at the end was allocated by).
import { Session } from 'node:inspector/promises'

let session: Session | undefined

async function open (): Promise<Session> {
  if (session === undefined) {
    session = new Session()
    session.connect()
  }
  return session
}

export async function startProfile (): Promise<{ started: true }> {
  const s = await open()
  await s.post('Profiler.enable')
  await s.post('Profiler.setSamplingInterval', { interval: 200 })
  await s.post('Profiler.start')
  return { started: true }
}

export async function stopProfile (): Promise<unknown> {
  const s = await open()
  const { profile } = await s.post('Profiler.stop')
  return profile
}

export async function startHeapSampling (): Promise<{ started: true }> {
  const s = await open()
  await s.post('HeapProfiler.enable')
  // Objects a collection has freed drop out of the profile: what remains is what is still on the heap.
  await s.post('HeapProfiler.startSampling', { samplingInterval: 4096 })
  return { started: true }
}

export async function stopHeapSampling (): Promise<unknown> {
  const s = await open()
  const { profile } = await s.post('HeapProfiler.stopSampling')
  return profile
}
