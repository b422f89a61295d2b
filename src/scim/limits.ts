// The bounds on what one SCIM request may ask of the server, so that the work it causes stays linear
// and small whatever a token holder sends. Each is an option (`limits`) with its default here; the
// README's limits table gives the provider evidence that real traffic stays under each default.

/** Bounds on one request; see the README's limits table. */
export interface Limits {
  /** Operations in one PATCH request. */
  operationsPerPatch: number
  /** Values of one array (a group's members included) in a request body. A stored resource is bounded by resourceBytes. */
  valuesPerAttribute: number
  /** Names in `attributes` plus `excludedAttributes`. */
  attributeNames: number
  /** Comparisons and presence tests in one filter. */
  filterTerms: number
  /** Nesting of parentheses and value filters in one filter. */
  filterDepth: number
  /** Nesting of objects and arrays in a request body, checked while parsing. */
  jsonDepth: number
  /** A stored resource (without a group's members) as JSON, in bytes. */
  resourceBytes: number
  /** Members returned in all by one page of a group listing: the page is cut short past it. */
  membersPerPage: number
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  operationsPerPatch: 1000,
  // Okta may replace a group's members with the full list in one request: groups up to 50,000 members.
  valuesPerAttribute: 50_000,
  attributeNames: 200,
  filterTerms: 64,
  filterDepth: 20,
  jsonDepth: 32,
  // jackson's copy keeps every user in one row of its store, a 64 KB column on MySQL/MariaDB, and with
  // an encryptionKey as base64 of the ciphertext (4/3 larger): 32 KiB leaves room for both.
  resourceBytes: 32_768,
  membersPerPage: 10_000
})

/**
 * Whether a JSON text nests objects and arrays deeper than `max`, counted without parsing it: such a
 * body is refused before JSON.parse builds anything, and before any recursive code meets it.
 */
export function jsonDepthExceeds (text: string, max: number): boolean {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c) i++ // a backslash escapes the next character
      else if (c === 0x22) inString = false
    } else if (c === 0x22) {
      inString = true
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true
    } else if (c === 0x7d || c === 0x5d) {
      depth--
    }
  }
  return false
}
