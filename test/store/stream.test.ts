// The stream across directories that events.list follows, at the store: positions are given after the
// commit, so a transaction that commits late is still read (a global auto-increment would have given
// it the lower number, and a reader past the higher one would skip it for ever). Two storages on one
// database write concurrently while a reader follows cursors, and then two writer processes do: every
// event is seen exactly once, in each directory's order. On PostgreSQL and MariaDB.
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import type { DbOptions } from '../../src/index.js'
import { openStorage, type Storage } from '../../src/store/index.js'
import { withService } from '../helpers/services.js'

function event (n: number) {
  return { id: randomUUID(), payload: { event: 'user.created', n }, createdAt: Date.now() }
}

async function follow (storage: Storage, after: number): Promise<Array<{ position: number, directoryId: string, seq: number }>> {
  await storage.events.head()
  const read = await storage.events.read(after, 1000)
  return read.map(({ position, event }) => ({ position, directoryId: event.directoryId, seq: event.seq }))
}

async function suite (t: Test, db: DbOptions) {
  const a = await openStorage(db)
  const b = await openStorage(db)
  t.teardown(async () => { await a.close(); await b.close() })
  const [x, y] = [randomUUID(), randomUUID()]
  // Each directory's first write creates its head row, which on MariaDB takes a gap lock that another
  // directory's first write may wait for: both exist before the held write below.
  await a.atomically(x, (scope) => scope.record([event(0)]))
  await a.atomically(y, (scope) => scope.record([event(0)]))
  const base = await follow(a, 0)

  // Forced inversion: a write of x that started first (and so would hold the lower auto-increment) is
  // held open while a write of y commits and is read.
  let release!: () => void
  const held = new Promise<void>((resolve) => { release = resolve })
  let recorded!: () => void
  const started = new Promise<void>((resolve) => { recorded = resolve })
  const slow = a.atomically(x, async (scope) => {
    await scope.record([event(1)])
    recorded()
    await held
  })
  await started
  await b.atomically(y, (scope) => scope.record([event(2)]))
  const first = await follow(b, base[base.length - 1].position)
  t.same(first.map((e) => e.directoryId), [y], 'the reader sees the committed write of y, not the open one of x')
  release()
  await slow
  const next = await follow(b, first[first.length - 1].position)
  t.same(next.map((e) => e.directoryId), [x], 'following on from its cursor it sees x, which committed later')

  // Concurrent writers on both storages, a reader following cursors all along.
  const directories = Array.from({ length: 4 }, () => randomUUID())
  const seen: Array<{ position: number, directoryId: string, seq: number }> = []
  let cursor = next[next.length - 1].position
  const state = { writing: true }
  const reader = (async () => {
    while (state.writing) {
      const got = await follow(a, cursor)
      if (got.length > 0) cursor = got[got.length - 1].position
      seen.push(...got)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  })()
  const writers = [a, b].flatMap((storage) => directories.map(async (directoryId) => {
    for (let i = 0; i < 15; i++) await storage.atomically(directoryId, (scope) => scope.record([event(i), event(i)]))
  }))
  await Promise.all(writers)
  state.writing = false
  await reader
  seen.push(...await follow(a, cursor))
  const total = directories.length * 2 * 15 * 2
  t.equal(seen.length, total, `every one of the ${total} events is seen`)
  t.equal(new Set(seen.map((e) => `${e.directoryId}/${e.seq}`)).size, total, 'each exactly once')
  for (const directoryId of directories) {
    const seqs = seen.filter((e) => e.directoryId === directoryId).map((e) => e.seq)
    t.same(seqs, Array.from({ length: seqs.length }, (_, i) => i + 1), 'in the directory\'s own order')
  }
  const positions = seen.map((e) => e.position)
  t.ok(positions.every((p, i) => i === 0 || p > positions[i - 1]), 'positions only grow')
}

const writer = fileURLToPath(new URL('./children/stream-writer.ts', import.meta.url))
const run = promisify(execFile)

async function processes (t: Test, db: DbOptions) {
  const reader = await openStorage(db)
  t.teardown(() => reader.close())
  const directories = Array.from({ length: 4 }, () => randomUUID())
  let cursor = await reader.events.head()
  const seen: Array<{ position: number, directoryId: string, seq: number }> = []
  const state = { writing: true }
  const following = (async () => {
    while (state.writing) {
      const got = await follow(reader, cursor)
      if (got.length > 0) cursor = got[got.length - 1].position
      seen.push(...got)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  })()
  const writers = [1, 2].map(() => run(process.execPath, ['--import', 'tsx', writer, JSON.stringify(db), JSON.stringify(directories), '20'], { timeout: 120_000 }))
  const outputs = await Promise.all(writers)
  state.writing = false
  await following
  seen.push(...await follow(reader, cursor))
  const recorded = outputs.reduce((sum, { stdout }) => sum + JSON.parse(stdout.trim().split('\n').pop()!).recorded, 0)
  t.equal(recorded, 2 * 4 * 20 * 2, 'the two processes recorded 320 events')
  t.equal(seen.length, recorded, 'the reader saw as many')
  t.equal(new Set(seen.map((e) => `${e.directoryId}/${e.seq}`)).size, recorded, 'each exactly once')
  for (const directoryId of directories) {
    const seqs = seen.filter((e) => e.directoryId === directoryId).map((e) => e.seq)
    t.same(seqs, Array.from({ length: seqs.length }, (_, i) => i + 1), 'in the directory\'s own order')
  }
}

t.test('postgres', (t) => withService(t, 'postgres', 'stream', suite))
t.test('postgres, two writer processes', (t) => withService(t, 'postgres', 'stream_processes', processes))
t.test('mariadb, two writer processes', (t) => withService(t, 'mariadb', 'stream_processes', processes))
t.test('mariadb', (t) => withService(t, 'mariadb', 'stream', suite))
