// A large answer (a page of 1,000 users, a group of 10,000 members) written to JSON in slices that let
// other requests run, instead of in one call that holds the event loop for the whole text.
import { yieldToOthers } from './fairness.js'

// An answer with an array longer than this is written in slices of this many elements.
const SLICE = 100

/** Whether `body` has an array long enough to be written in slices. */
export function isLarge (body: Record<string, unknown>): boolean {
  return Object.values(body).some((value) => Array.isArray(value) && value.length > SLICE)
}

/** The JSON text of `body`, as JSON.stringify writes it, computed a slice at a time. */
export async function serializeInSlices (body: Record<string, unknown>): Promise<string> {
  const parts: string[] = []
  for (const [key, value] of Object.entries(body)) {
    if (value === undefined || typeof value === 'function') continue
    if (!Array.isArray(value) || value.length <= SLICE) {
      parts.push(JSON.stringify(key) + ':' + JSON.stringify(value))
      continue
    }
    const items: string[] = []
    for (let i = 0; i < value.length; i++) {
      if (i > 0 && i % SLICE === 0) await yieldToOthers()
      items.push(JSON.stringify(value[i]) ?? 'null')
    }
    parts.push(JSON.stringify(key) + ':[' + items.join(',') + ']')
  }
  return '{' + parts.join(',') + '}'
}
