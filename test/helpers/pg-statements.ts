// The statements this process sends to PostgreSQL (every pg client's), captured around a call: what a
// test of the write path counts. node-postgres is patched once, when this module is first imported.
import pg from 'pg'

let capturing = false
const sent: string[] = []
const query = pg.Client.prototype.query
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  if (capturing) {
    const first = args[0] as string | { text?: string }
    sent.push((typeof first === 'string' ? first : first?.text ?? '').replace(/\s+/g, ' '))
  }
  return (query as (...a: unknown[]) => unknown).apply(this, args)
} as typeof query

/** The statements sent while `fn` ran (one at a time: captures do not nest). */
export async function statementsOf (fn: () => Promise<unknown>): Promise<string[]> {
  sent.length = 0
  capturing = true
  try {
    await fn()
  } finally {
    capturing = false
  }
  return [...sent]
}
