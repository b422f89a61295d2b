// How a userName (and a group's displayName) compares: one derivation for what is stored as the unique
// key, for index lookups and for case-insensitive filters, so that the three always agree.
//
// Unicode NFC first, so that "é" typed as one code point and as "e" + a combining accent are the same
// name; then case folding. JavaScript has no full case folding, so it is approximated by a round trip
// through upper case: that folds "ß" and "SS" together, the three Greek sigmas, and ligatures such as
// "ﬁ", which toLowerCase() alone keeps apart. NFC again at the end, since case mapping can decompose
// ("İ" lowercases to "i" + a combining dot).

/** The comparison form of a case-insensitive name: NFC, then case-folded. */
export function foldKey (value: string): string {
  return value.normalize('NFC').toUpperCase().toLowerCase().normalize('NFC')
}

/** foldKey for a value that may not be a string (answers null then). */
export function foldedOrNull (value: unknown): string | null {
  return typeof value === 'string' ? foldKey(value) : null
}
