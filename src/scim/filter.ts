// SCIM 2.0 filter expressions (RFC 7644 §3.4.2.2) and PATCH paths (§3.5.2):
// parsing, in-memory evaluation and index planning.

import { foldKey } from '../keys.js'
import { textProblem } from './hygiene.js'

export class FilterError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'FilterError'
  }
}

export interface AttrPath {
  uri?: string
  attribute: string
  subAttribute?: string
}

export type CompareOperator = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le'
export type FilterValue = string | number | boolean | null

export type Filter =
  | { op: 'and' | 'or', left: Filter, right: Filter }
  | { op: 'not', filter: Filter }
  | { op: CompareOperator, path: AttrPath, value: FilterValue }
  | { op: 'pr', path: AttrPath }
  | { op: 'valuePath', path: AttrPath, filter: Filter }

export interface PatchPath {
  attr: AttrPath
  valueFilter?: Filter
  subAttribute?: string
}

export type LookupAttribute = 'userName' | 'externalId' | 'id' | 'displayName' | 'emails.value'

export const MAX_FILTER_LENGTH = 4096
export const MAX_FILTER_DEPTH = 50

/** Bounds on one filter (the plugin's `limits` option sets the last two). */
export interface FilterLimits {
  /** Characters (default 4096). */
  length?: number
  /** Nesting of parentheses and value filters (default 50). */
  depth?: number
  /** Comparisons and presence tests (default: unbounded but for the length). */
  terms?: number
}

const COMPARE_OPERATORS = new Set<string>(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'])
const ORDERING_OPERATORS = new Set<string>(['gt', 'ge', 'lt', 'le'])
const ATTR_NAME = /^(?:[A-Za-z][A-Za-z0-9_-]*|\$ref)$/
// Wide enough for schema URNs (which contain dots, e.g. "2.0") plus the attribute.
const PATH_CHAR = /[A-Za-z0-9_\-.:$]/
const NAME_CHAR = /[A-Za-z0-9_$-]/
const JSON_NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/
const CORE_SCHEMA = /^urn:ietf:params:scim:schemas:core:2\.0:[A-Za-z]+$/i

/** True for core schema URNs, whose attributes live at the top level of a resource. */
export function isCoreSchemaUri (uri: string): boolean {
  return CORE_SCHEMA.test(uri)
}

class Parser {
  readonly text: string
  pos = 0
  depth = 0
  terms = 0
  readonly maxDepth: number
  readonly maxTerms: number

  constructor (text: string, limits: FilterLimits = {}) {
    this.text = text
    this.maxDepth = limits.depth ?? MAX_FILTER_DEPTH
    this.maxTerms = limits.terms ?? Infinity
  }

  fail (message: string, at = this.pos): never {
    const where = at >= this.text.length ? 'end of input' : `position ${at + 1}`
    throw new FilterError(`${message} at ${where}`)
  }

  atEnd (): boolean {
    return this.pos >= this.text.length
  }

  peek (): string {
    return this.text[this.pos] ?? ''
  }

  found (): string {
    return this.atEnd() ? 'nothing' : `"${this.peek()}"`
  }

  skipWs (): boolean {
    const start = this.pos
    while (!this.atEnd() && /\s/.test(this.peek())) this.pos++
    return this.pos > start
  }

  enter (at: number): void {
    if (++this.depth > this.maxDepth) this.fail(`filter nested deeper than ${this.maxDepth} levels`, at)
  }

  // Matches a case-insensitive keyword only as a whole word.
  keyword (word: string): boolean {
    const end = this.pos + word.length
    if (this.text.slice(this.pos, end).toLowerCase() !== word) return false
    const next = this.text[end]
    if (next !== undefined && NAME_CHAR.test(next)) return false
    this.pos = end
    return true
  }

  parseOr (inValueFilter: boolean): Filter {
    let left = this.parseAnd(inValueFilter)
    for (;;) {
      const save = this.pos
      this.skipWs()
      if (!this.keyword('or')) {
        this.pos = save
        return left
      }
      left = { op: 'or', left, right: this.parseAnd(inValueFilter) }
    }
  }

  parseAnd (inValueFilter: boolean): Filter {
    let left = this.parseUnary(inValueFilter)
    for (;;) {
      const save = this.pos
      this.skipWs()
      if (!this.keyword('and')) {
        this.pos = save
        return left
      }
      left = { op: 'and', left, right: this.parseUnary(inValueFilter) }
    }
  }

  parseUnary (inValueFilter: boolean): Filter {
    this.skipWs()
    if (this.atEnd()) this.fail('expected an expression')
    if (this.peek() === '(') return this.parseGroup(inValueFilter)
    if (this.keyword('not')) {
      this.skipWs()
      if (this.peek() !== '(') this.fail('"not" must be followed by "("')
      return { op: 'not', filter: this.parseGroup(inValueFilter) }
    }
    return this.parseAttrExp(inValueFilter)
  }

  parseGroup (inValueFilter: boolean): Filter {
    const open = this.pos
    this.enter(open)
    this.pos++
    const inner = this.parseOr(inValueFilter)
    this.skipWs()
    if (this.peek() !== ')') this.fail(`missing ")" for the "(" opened at position ${open + 1}, found ${this.found()}`)
    this.pos++
    this.depth--
    return inner
  }

  readAttrPath (): AttrPath {
    const start = this.pos
    while (!this.atEnd() && PATH_CHAR.test(this.peek())) this.pos++
    if (this.pos === start) {
      this.fail(this.atEnd() ? 'expected an attribute name' : `unexpected "${this.peek()}", expected an attribute name`)
    }
    return toAttrPath(this.text.slice(start, this.pos), start, this)
  }

  parseAttrExp (inValueFilter: boolean): Filter {
    const start = this.pos
    if (++this.terms > this.maxTerms) this.fail(`filter has more than ${this.maxTerms} terms`, start)
    const path = this.readAttrPath()
    if (this.peek() === '[') {
      if (inValueFilter) this.fail('value filters cannot be nested')
      if (path.subAttribute !== undefined) this.fail('a value filter must follow a top-level attribute', start)
      return { op: 'valuePath', path, filter: this.parseValueFilter() }
    }
    if (!this.skipWs()) {
      this.fail(this.atEnd() ? `expected an operator after "${this.text.slice(start, this.pos)}"` : `unexpected "${this.peek()}"`)
    }
    const opStart = this.pos
    while (!this.atEnd() && /[A-Za-z]/.test(this.peek())) this.pos++
    const op = this.text.slice(opStart, this.pos).toLowerCase()
    if (op === '') this.fail(`expected an operator after "${this.text.slice(start, opStart).trimEnd()}"`, opStart)
    if (op === 'pr') return { op: 'pr', path }
    if (!COMPARE_OPERATORS.has(op)) this.fail(`unknown operator "${this.text.slice(opStart, this.pos)}"`, opStart)
    if (!this.skipWs()) this.fail(`expected a value after "${op}"`)
    const valueStart = this.pos
    const value = this.readValue()
    if (ORDERING_OPERATORS.has(op) && (typeof value === 'boolean' || value === null)) {
      this.fail(`"${op}" cannot compare with ${String(value)}`, valueStart)
    }
    return { op: op as CompareOperator, path, value }
  }

  parseValueFilter (): Filter {
    const open = this.pos
    this.enter(open)
    this.pos++
    const filter = this.parseOr(true)
    this.skipWs()
    if (this.peek() !== ']') this.fail(`missing "]" for the "[" opened at position ${open + 1}, found ${this.found()}`)
    this.pos++
    this.depth--
    return filter
  }

  readValue (): FilterValue {
    if (this.peek() === '"') return this.readString()
    const start = this.pos
    while (!this.atEnd() && !/[\s()[\]"]/.test(this.peek())) this.pos++
    const word = this.text.slice(start, this.pos)
    if (word === '') this.fail('expected a value')
    const lower = word.toLowerCase()
    if (lower === 'true') return true
    if (lower === 'false') return false
    if (lower === 'null') return null
    if (JSON_NUMBER.test(word)) {
      const n = Number(word)
      if (!Number.isFinite(n)) this.fail(`number out of range "${word}"`, start)
      return n
    }
    // Microsoft's validator sends unquoted strings (`name.familyName eq Employee`).
    return word
  }

  readString (): string {
    const start = this.pos
    let i = start + 1
    while (i < this.text.length && this.text[i] !== '"') i += this.text[i] === '\\' ? 2 : 1
    if (i >= this.text.length) this.fail('unterminated string', start)
    this.pos = i + 1
    let value: string
    try {
      value = JSON.parse(this.text.slice(start, this.pos)) as string
    } catch {
      return this.fail('invalid string literal', start)
    }
    // An escape ("\u0000", "\ud800") can spell what the filter's text may not hold (hygiene.ts).
    const problem = textProblem(value)
    if (problem !== undefined) this.fail(`a string that ${problem}`, start)
    return value
  }
}

function toAttrPath (raw: string, at: number, parser: Parser): AttrPath {
  const colon = raw.lastIndexOf(':')
  const uri = colon >= 0 ? raw.slice(0, colon) : undefined
  const rest = colon >= 0 ? raw.slice(colon + 1) : raw
  if (uri === '') parser.fail(`invalid attribute path "${raw}"`, at)
  const parts = rest.split('.')
  if (parts.length > 2 || !parts.every((p) => ATTR_NAME.test(p))) {
    parser.fail(`invalid attribute path "${raw}"`, at)
  }
  const path: AttrPath = { attribute: parts[0] }
  if (uri !== undefined) path.uri = uri
  if (parts.length === 2) path.subAttribute = parts[1]
  return path
}

function checkInput (text: unknown, what: string, maxLength = MAX_FILTER_LENGTH): string {
  if (typeof text !== 'string') throw new FilterError(`${what} must be a string`)
  if (text.length > maxLength) throw new FilterError(`${what} longer than ${maxLength} characters`)
  if (text.trim() === '') throw new FilterError(`${what} is empty`)
  return text
}

export function parseFilter (text: string, limits: FilterLimits = {}): Filter {
  const parser = new Parser(checkInput(text, 'filter', limits.length), limits)
  const filter = parser.parseOr(false)
  parser.skipWs()
  if (!parser.atEnd()) parser.fail(`unexpected "${parser.peek()}"`)
  return filter
}

export function parsePath (text: string): PatchPath {
  const parser = new Parser(checkInput(text, 'path').trim())
  const attr = parser.readAttrPath()
  const result: PatchPath = { attr }
  if (parser.peek() === '[') {
    if (attr.subAttribute !== undefined) parser.fail('a value filter must follow a top-level attribute', 0)
    result.valueFilter = parser.parseValueFilter()
    if (parser.peek() === '.') {
      parser.pos++
      const start = parser.pos
      while (!parser.atEnd() && NAME_CHAR.test(parser.peek())) parser.pos++
      const sub = parser.text.slice(start, parser.pos)
      if (!ATTR_NAME.test(sub)) parser.fail('expected a sub-attribute name', start)
      result.subAttribute = sub
    }
  }
  if (!parser.atEnd()) parser.fail(`unexpected "${parser.peek()}"`)
  return result
}

function pathToString (path: AttrPath): string {
  return (path.uri !== undefined ? path.uri + ':' : '') + path.attribute +
    (path.subAttribute !== undefined ? '.' + path.subAttribute : '')
}

/** Serialises a filter back to RFC 7644 syntax; parseFilter(stringifyFilter(f)) deep-equals f. */
export function stringifyFilter (filter: Filter): string {
  switch (filter.op) {
    case 'and':
    case 'or': {
      // Parens where precedence or left-associativity would otherwise reshape the tree.
      const wrap = (child: Filter, right: boolean): string => {
        const s = stringifyFilter(child)
        const needs = (child.op === 'or' && filter.op === 'and') || (right && child.op === filter.op)
        return needs ? `(${s})` : s
      }
      return `${wrap(filter.left, false)} ${filter.op} ${wrap(filter.right, true)}`
    }
    case 'not':
      return `not (${stringifyFilter(filter.filter)})`
    case 'pr':
      return `${pathToString(filter.path)} pr`
    case 'valuePath':
      return `${pathToString(filter.path)}[${stringifyFilter(filter.filter)}]`
    default:
      return `${pathToString(filter.path)} ${filter.op} ${JSON.stringify(filter.value)}`
  }
}

// ---------------------------------------------------------------------------
// Evaluation

function isPlainObject (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function getCI (obj: Record<string, unknown>, name: string): unknown {
  if (Object.hasOwn(obj, name)) return obj[name]
  const lower = name.toLowerCase()
  for (const key of Object.keys(obj)) {
    if (key.toLowerCase() === lower) return obj[key]
  }
  return undefined
}

const CASE_EXACT_SUBATTRIBUTE = new Map([
  ['meta', 'version'],
  ['members', 'value'],
  ['groups', 'value']
])

export function isCaseExact (path: AttrPath): boolean {
  if (path.uri !== undefined && !isCoreSchemaUri(path.uri)) return false
  const attr = path.attribute.toLowerCase()
  if (path.subAttribute === undefined) return attr === 'id' || attr === 'externalid'
  return CASE_EXACT_SUBATTRIBUTE.get(attr) === path.subAttribute.toLowerCase()
}

function resolveAttribute (resource: Record<string, unknown>, path: AttrPath): unknown {
  let container: unknown = resource
  if (path.uri !== undefined && !isCoreSchemaUri(path.uri)) container = getCI(resource, path.uri)
  if (!isPlainObject(container)) return undefined
  return getCI(container, path.attribute)
}

// Values a comparison looks at: multi-valued attributes fan out, and complex
// values compared without a sub-attribute stand for their "value".
function comparableValues (resource: Record<string, unknown>, path: AttrPath): unknown[] {
  const raw = resolveAttribute(resource, path)
  const items = Array.isArray(raw) ? raw : [raw]
  const out: unknown[] = []
  for (const item of items) {
    if (path.subAttribute !== undefined) {
      if (isPlainObject(item)) {
        const sub = getCI(item, path.subAttribute)
        if (Array.isArray(sub)) out.push(...sub)
        else out.push(sub)
      }
    } else if (isPlainObject(item)) {
      out.push(getCI(item, 'value'))
    } else {
      out.push(item)
    }
  }
  return out
}

// Iterative: a stored resource may be nested deeper than the call stack allows.
function isPresent (v: unknown): boolean {
  const stack = [v]
  while (stack.length > 0) {
    const item = stack.pop()
    if (item === undefined || item === null || item === '') continue
    if (Array.isArray(item)) for (const element of item) stack.push(element)
    else if (isPlainObject(item)) for (const value of Object.values(item)) stack.push(value)
    else return true
  }
  return false
}

function compareOne (op: CompareOperator, actual: unknown, expected: FilterValue, caseExact: boolean): boolean {
  if (typeof actual === 'string' && typeof expected === 'string') {
    // Case-insensitive attributes compare in the form their keys are stored in (src/keys.ts).
    const a = caseExact ? actual : foldKey(actual)
    const e = caseExact ? expected : foldKey(expected)
    switch (op) {
      case 'eq': return a === e
      case 'co': return a.includes(e)
      case 'sw': return a.startsWith(e)
      case 'ew': return a.endsWith(e)
      case 'gt': return a > e
      case 'ge': return a >= e
      case 'lt': return a < e
      case 'le': return a <= e
      default: return false
    }
  }
  if (typeof actual === 'number' && typeof expected === 'number') {
    switch (op) {
      case 'eq': return actual === expected
      case 'gt': return actual > expected
      case 'ge': return actual >= expected
      case 'lt': return actual < expected
      case 'le': return actual <= expected
      default: return false
    }
  }
  if (op === 'eq') return actual === expected
  return false
}

function evaluate (resource: Record<string, unknown>, filter: Filter, parent: string | undefined): boolean {
  switch (filter.op) {
    case 'and': return evaluate(resource, filter.left, parent) && evaluate(resource, filter.right, parent)
    case 'or': return evaluate(resource, filter.left, parent) || evaluate(resource, filter.right, parent)
    case 'not': return !evaluate(resource, filter.filter, parent)
    case 'pr': return comparableValuesOrRaw(resource, filter.path).some(isPresent)
    case 'valuePath': {
      const raw = resolveAttribute(resource, filter.path)
      const items = Array.isArray(raw) ? raw : [raw]
      return items.some((item) => isPlainObject(item) && evaluate(item, filter.filter, filter.path.attribute))
    }
    default: {
      const { path, value } = filter
      // Inside a value filter, "value" of members/groups is still an id.
      const exact = parent !== undefined && path.uri === undefined && path.subAttribute === undefined
        ? isCaseExact({ attribute: parent, subAttribute: path.attribute })
        : isCaseExact(path)
      // Per RFC 7643 §2.5 null means unassigned, so eq/ne null test absence/presence.
      if (value === null && (filter.op === 'eq' || filter.op === 'ne')) {
        const present = comparableValuesOrRaw(resource, path).some(isPresent)
        return filter.op === 'eq' ? !present : present
      }
      // ne is the negation of eq, so a missing attribute or a non-matching list is "not equal".
      const op = filter.op === 'ne' ? 'eq' : filter.op
      const hit = comparableValues(resource, path).some((v) => compareOne(op, v, value, exact))
      return filter.op === 'ne' ? !hit : hit
    }
  }
}

// pr looks at the attribute itself, so a complex value without "value" still counts.
function comparableValuesOrRaw (resource: Record<string, unknown>, path: AttrPath): unknown[] {
  if (path.subAttribute !== undefined) return comparableValues(resource, path)
  return [resolveAttribute(resource, path)]
}

export function matches (resource: Record<string, unknown>, filter: Filter): boolean {
  return evaluate(resource, filter, undefined)
}

/** Whether one element of the multi-valued `attribute` matches a value filter (`emails[type eq "work"]`). */
export function matchesElement (element: Record<string, unknown>, filter: Filter, attribute: string): boolean {
  return evaluate(element, filter, attribute)
}

// ---------------------------------------------------------------------------
// Index planning

const LOOKUP_ATTRIBUTES = new Map<string, LookupAttribute>([
  ['username', 'userName'],
  ['externalid', 'externalId'],
  ['id', 'id'],
  ['displayname', 'displayName']
])

function isTopLevel (path: AttrPath): boolean {
  return path.uri === undefined || isCoreSchemaUri(path.uri)
}

function lookupFor (filter: Filter, insideEmails: boolean): { attribute: LookupAttribute, value: string } | undefined {
  if (filter.op === 'and') return lookupFor(filter.left, insideEmails) ?? lookupFor(filter.right, insideEmails)
  if (filter.op === 'valuePath') {
    if (insideEmails || !isTopLevel(filter.path) || filter.path.attribute.toLowerCase() !== 'emails') return undefined
    return lookupFor(filter.filter, true)
  }
  if (filter.op !== 'eq' || typeof filter.value !== 'string') return undefined
  const { path, value } = filter
  const attr = path.attribute.toLowerCase()
  const sub = path.subAttribute?.toLowerCase()
  if (insideEmails) {
    return path.uri === undefined && sub === undefined && attr === 'value'
      ? { attribute: 'emails.value', value }
      : undefined
  }
  if (!isTopLevel(path)) return undefined
  if (attr === 'emails' && (sub === undefined || sub === 'value')) return { attribute: 'emails.value', value }
  const attribute = LOOKUP_ATTRIBUTES.get(attr)
  if (attribute !== undefined && sub === undefined) return { attribute, value }
  return undefined
}

/**
 * An equality the caller can answer from an index. The candidates still have to
 * pass `matches`, so picking one side of an `and` is safe; `or`/`not` are not.
 */
export function equalityLookup (filter: Filter): { attribute: LookupAttribute, value: string } | undefined {
  return lookupFor(filter, false)
}
