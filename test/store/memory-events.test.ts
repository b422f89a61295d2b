// The mem engine's event queue forgets what retention and purges remove: a directory's events too, not
// only the stream (a long-lived process must not keep every event it ever recorded), while numbering
// goes on where it was and the events a failed delivery needs stay.
import t from 'tap'
import { MemoryEventQueue } from '../../src/store/memory-events.js'

const event = (n: number, createdAt: number) => ({ id: `e${n}`, payload: { event: 'user.created', n }, createdAt })

t.test('retention removes a directory\'s old events from its own list', async (t) => {
  const queue = new MemoryEventQueue()
  queue.record('a', [event(1, 100), event(2, 100), event(3, 100)])
  queue.record('b', [event(4, 100)])
  queue.record('a', [event(5, 5000)])
  await queue.registerHandler('h', 0)
  t.ok(await queue.claim('a', 'h', 'me', 0, 1000))
  t.ok(await queue.advance('a', 'h', 'me', 2, { attempts: 3, error: 'boom', now: 100 }), 'the second event failed for good')

  t.equal(await queue.trim(1000, 0), 3, 'three old events go; the failed one stays')
  t.same((await queue.next('a', 0, 10)).map((e) => e.id), ['e2', 'e5'], 'a keeps the failed event and the new one')
  t.same(await queue.next('b', 0, 10), [], 'b keeps nothing')
  t.same((await queue.next('a', 2, 10)).map((e) => e.seq), [4], 'next after a seq finds the right place in a list with gaps')
  t.equal(await queue.directoryHead('a'), 4, 'numbering goes on where it was')
  t.same(queue.record('a', [event(6, 6000)]).map((e) => e.seq), [5])
  t.equal(await queue.event('e1'), null)
  t.equal((await queue.failures()).length, 1)

  t.equal(await queue.trim(10_000, 1000), 3, 'once its failure is past its own retention, the failed event goes too')
  t.same(await queue.next('a', 0, 10), [])
})

t.test('a purge forgets the directory, and only it', async (t) => {
  const queue = new MemoryEventQueue()
  queue.record('a', [event(1, 100)])
  queue.record('b', [event(2, 100)])
  queue.scope('a').markDeleted(1, 200, null)
  t.same(await queue.deletedDirectories(), [{ directoryId: 'a', seq: 1 }])
  await queue.purgeDirectory('a')
  t.same(await queue.deletedDirectories(), [])
  t.equal(await queue.directoryHead('a'), 0)
  t.same((await queue.read(0, 10)).map((entry) => entry.event.id), ['e2'], 'the stream keeps b\'s event')
  t.same(await queue.pendingDirectories('h'), ['b'])
})
