// The example admin page: plain JavaScript, no build step, no framework. Everything it shows comes from
// the package's admin routes (/admin/api) and is written with textContent (user names and group names
// come from identity providers: they are data, never markup). Changing requests carry the session's
// CSRF token in x-csrf-token.
/* global document, window, fetch, navigator, setTimeout, clearTimeout, URLSearchParams */

const API = '/admin/api'
const EVENTS_EVERY_MS = 2000
const LIST_EVERY_MS = 15000
const MAX_EVENTS_SHOWN = 200

const $ = (id) => document.getElementById(id)

const state = {
  session: null, // { scope: 'all' | { tenant, product }, csrfToken }
  providers: {},
  dirs: { offset: 0, limit: 10, total: 0 },
  dir: null, // the selected directory
  gen: 0, // bumped on every selection: answers for an older one are dropped
  users: { offset: 0, limit: 20, total: 0 },
  groups: { offset: 0, limit: 10, total: 0 },
  events: { after: undefined, shown: 0, ticks: 0 },
  eventsTimer: null,
  listTimer: null
}

// ---------------------------------------------------------------------------------------------------
// Helpers

class ApiError extends Error {
  constructor (status, message) {
    super(message)
    this.status = status
  }
}

/** A request to the server: JSON both ways, the CSRF token on every changing request. */
async function api (method, path, body) {
  const headers = { accept: 'application/json' }
  if (method !== 'GET' && state.session !== null) headers['x-csrf-token'] = state.session.csrfToken
  if (body !== undefined) headers['content-type'] = 'application/json'
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    cache: 'no-store'
  })
  const text = await response.text()
  let data = null
  if (text !== '') {
    try { data = JSON.parse(text) } catch { data = null }
  }
  if (!response.ok) {
    const message = (data && data.error && typeof data.error === 'object' && data.error.message) ||
      (data && typeof data.message === 'string' && data.message) ||
      `${response.status} ${response.statusText}`
    const error = new ApiError(response.status, message)
    if (response.status === 401 && path.startsWith(API)) {
      // The session ended (expired, or signed out in another tab): back to the sign-in form, once.
      if (state.session !== null) signedOut('Your session ended: sign in again.')
      error.handled = true
    }
    throw error
  }
  return data
}

/** An element with properties, attributes and children (strings become text nodes, never markup). */
function h (tag, props, ...children) {
  const el = document.createElement(tag)
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue
    if (key === 'class') el.className = value
    else if (key === 'text') el.textContent = String(value)
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value)
    else el.setAttribute(key, value === true ? '' : String(value))
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue
    el.append(child instanceof window.Node ? child : String(child))
  }
  return el
}

const setText = (id, text) => { $(id).textContent = text }
const show = (el, visible) => { (typeof el === 'string' ? $(el) : el).hidden = !visible }
const plural = (n, one, many = one + 's') => `${n} ${n === 1 ? one : many}`

function when (iso) {
  if (!iso) return '–'
  const date = new Date(iso)
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })
}

function ago (iso) {
  const ms = Date.now() - new Date(iso).getTime()
  if (!Number.isFinite(ms)) return String(iso)
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 5) return 'just now'
  if (s < 60) return `${s} s ago`
  if (s < 3600) return `${Math.round(s / 60)} min ago`
  if (s < 86400) return `${Math.round(s / 3600)} h ago`
  return when(iso)
}

function duration (ms) {
  const s = Math.round(ms / 1000)
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.round(s / 60)} min`
  return `${Math.round(s / 3600)} h`
}

let toastTimer = null
function toast (message, kind = 'info') {
  const el = $('toast')
  el.textContent = message
  el.className = `toast show ${kind}`
  clearTimeout(toastTimer)
  toastTimer = setTimeout(() => { el.className = 'toast'; el.textContent = '' }, 5000)
}

const failMessage = (err) => err instanceof ApiError ? err.message : 'The server could not be reached'

/** Runs an action from a button: the button is disabled meanwhile; an error shows in `errorId` or as a toast. */
async function act (button, fn, errorId) {
  if (errorId) setText(errorId, '')
  if (button) button.disabled = true
  try {
    await fn()
  } catch (err) {
    if (err instanceof ApiError && err.handled) return
    if (errorId) setText(errorId, failMessage(err))
    else toast(failMessage(err), 'error')
  } finally {
    if (button) button.disabled = false
  }
}

async function copy (text, what) {
  try {
    await navigator.clipboard.writeText(text)
    toast(`${what} copied`)
  } catch {
    toast(`Copy the ${what.toLowerCase()} by hand: the browser did not allow it`, 'error')
  }
}

const scopeLabel = (scope) => scope === 'all' ? 'Operator · every tenant' : `Tenant ${scope.tenant} · ${scope.product}`
const isOperator = () => state.session !== null && state.session.scope === 'all'
const providerName = (type) => state.providers[type] || type
const dirPath = (id = state.dir.id) => `${API}/directories/${encodeURIComponent(id)}`

// ---------------------------------------------------------------------------------------------------
// Session

function signedOut (message) {
  state.session = null
  stopPolling()
  clearInterval(state.listTimer)
  state.listTimer = null
  state.dir = null
  show('app-view', false)
  show('who', false)
  show('login-view', true)
  setText('login-error', message || '')
  $('login-password').value = ''
  $('login-password').focus()
}

function signedIn (session) {
  state.session = session
  setText('who-label', scopeLabel(session.scope))
  show('who', true)
  show('login-view', false)
  show('app-view', true)
  for (const el of document.querySelectorAll('.operator-only')) {
    el.hidden = !isOperator()
    for (const input of el.querySelectorAll('input')) input.disabled = !isOperator()
  }
  selectDirectory(null)
  state.dirs.offset = 0
  loadProviders().catch((err) => toast(failMessage(err), 'error'))
  loadDirectories().catch((err) => toast(failMessage(err), 'error'))
  loadLinks().catch((err) => toast(failMessage(err), 'error'))
  clearInterval(state.listTimer)
  // Directories appear through setup links too: the list follows.
  state.listTimer = window.setInterval(() => {
    if (document.hidden || state.session === null) return
    loadDirectories().catch(() => {})
    loadLinks().catch(() => {})
  }, LIST_EVERY_MS)
}

$('login-form').addEventListener('submit', (event) => {
  event.preventDefault()
  const button = event.submitter || $('login-form').querySelector('button[type=submit]')
  const password = $('login-password').value
  if (password === '') {
    setText('login-error', 'Enter the password.')
    $('login-password').focus()
    return
  }
  act(button, async () => {
    const session = await api('POST', '/login', { password, tenant: $('login-tenant').value.trim() })
    $('login-password').value = ''
    signedIn(session)
  }, 'login-error')
})

$('logout').addEventListener('click', (event) => act(event.currentTarget, async () => {
  await api('POST', '/logout')
  signedOut()
}))

// ---------------------------------------------------------------------------------------------------
// Directories

async function loadProviders () {
  const { providers } = await api('GET', `${API}/providers`)
  state.providers = providers
  const select = $('new-dir-type')
  select.replaceChildren(h('option', { value: '', text: 'Choose a provider…' }))
  for (const [type, name] of Object.entries(providers)) select.append(h('option', { value: type, text: name }))
}

function badgeFor (directory) {
  return directory.deactivated ? h('span', { class: 'badge off', text: 'deactivated' }) : h('span', { class: 'badge ok', text: 'active' })
}

async function loadDirectories () {
  const { offset, limit } = state.dirs
  const page = await api('GET', `${API}/directories?${new URLSearchParams({ offset: String(offset), limit: String(limit) })}`)
  if (page.items.length === 0 && offset > 0 && page.total > 0) {
    state.dirs.offset = Math.max(0, Math.floor((page.total - 1) / limit) * limit)
    return loadDirectories()
  }
  state.dirs.total = page.total
  const list = $('dirs-list')
  list.replaceChildren(...page.items.map((d) => h('li', null,
    h('button', {
      type: 'button',
      class: 'dir-item',
      'aria-current': state.dir !== null && state.dir.id === d.id ? 'true' : null,
      'data-id': d.id,
      onclick: () => selectDirectory(d.id, { scroll: true })
    },
    h('span', { class: 'dir-name', text: d.name || '(no name)' }),
    h('span', { class: 'dir-meta' },
      h('span', { class: 'dir-tenant', text: `${d.tenant} · ${d.product}` }),
      h('span', { class: 'dir-type', text: providerName(d.type) }),
      badgeFor(d))))))
  setText('dirs-count', page.total === 0 ? '' : String(page.total))
  show('dirs-empty', page.total === 0)
  pager('dirs', state.dirs, page.items.length)
}

function pager (name, paging, shown) {
  const { offset, limit, total } = paging
  setText(`${name}-range`, total === 0 ? '' : `${offset + 1}–${offset + shown} of ${total}`)
  $(`${name}-prev`).disabled = offset === 0
  $(`${name}-next`).disabled = offset + limit >= total
  $(`${name}-prev`).parentElement.hidden = total <= limit && offset === 0
}

function pages (name, paging, load) {
  $(`${name}-prev`).addEventListener('click', () => {
    paging.offset = Math.max(0, paging.offset - paging.limit)
    load().catch((err) => toast(failMessage(err), 'error'))
  })
  $(`${name}-next`).addEventListener('click', () => {
    paging.offset += paging.limit
    load().catch((err) => toast(failMessage(err), 'error'))
  })
}
pages('dirs', state.dirs, () => loadDirectories())
pages('users', state.users, () => loadUsers(state.gen))
pages('groups', state.groups, () => loadGroups(state.gen))

$('new-dir-form').addEventListener('submit', (event) => {
  event.preventDefault()
  const form = event.currentTarget
  const type = $('new-dir-type').value
  const body = { type }
  const name = $('new-dir-name').value.trim()
  if (name !== '') body.name = name
  if (isOperator()) {
    body.tenant = $('new-dir-tenant').value.trim()
    body.product = $('new-dir-product').value.trim()
    if (body.tenant === '' || body.product === '') return setText('new-dir-error', 'Enter the tenant and the product.')
  }
  if (type === '') return setText('new-dir-error', 'Choose the identity provider.')
  act(event.submitter, async () => {
    const { directory } = await api('POST', `${API}/directories`, body)
    $('new-dir-name').value = ''
    form.querySelector('select').value = ''
    toast(`Directory "${directory.name}" created`)
    await loadDirectories()
    await selectDirectory(directory.id, { scroll: true })
  }, 'new-dir-error')
})

// ---------------------------------------------------------------------------------------------------
// The selected directory

function stopPolling () {
  clearTimeout(state.eventsTimer)
  state.eventsTimer = null
}

function hideToken () {
  setText('d-token', 'Hidden')
  $('d-token').classList.remove('revealed')
  show('d-reveal', true)
  show('d-token-copy', false)
  show('d-hide', false)
}

function showToken (token) {
  setText('d-token', token)
  $('d-token').classList.add('revealed')
  show('d-reveal', false)
  show('d-token-copy', true)
  show('d-hide', true)
}

function renderDirectory (d) {
  state.dir = d
  setText('detail-title', d.name || '(no name)')
  setText('d-meta', `${d.tenant} · ${d.product} · ${providerName(d.type)}`)
  show('d-meta', true)
  const badge = $('d-state')
  badge.textContent = d.deactivated ? 'deactivated' : 'active'
  badge.className = `badge ${d.deactivated ? 'off' : 'ok'}`
  show(badge, true)
  setText('d-url', d.scim.tenantUrl || d.scim.endpoint)
  setText('d-id', d.id)
  setText('d-toggle', d.deactivated ? 'Activate' : 'Deactivate')
  // A setup link is most often for the customer being looked at.
  if (isOperator() && $('link-tenant').value === '') {
    $('link-tenant').value = d.tenant
    $('link-product').value = d.product
  }
  for (const item of document.querySelectorAll('.dir-item')) {
    if (item.dataset.id === d.id) item.setAttribute('aria-current', 'true')
    else item.removeAttribute('aria-current')
  }
}

async function selectDirectory (id, { scroll = false } = {}) {
  const gen = ++state.gen
  stopPolling()
  hideToken()
  show('d-confirm', false)
  if (id === null) {
    state.dir = null
    setText('detail-title', 'No directory selected')
    show('d-meta', false)
    show('d-state', false)
    show('detail-empty', true)
    show('detail-body', false)
    for (const item of document.querySelectorAll('.dir-item')) item.removeAttribute('aria-current')
    return
  }
  let directory
  try {
    directory = await api('GET', dirPath(id))
  } catch (err) {
    toast(failMessage(err), 'error')
    return
  }
  if (gen !== state.gen) return
  state.users.offset = 0
  state.groups.offset = 0
  state.events = { after: undefined, shown: 0, ticks: 0 }
  $('events-list').replaceChildren()
  show('events-empty', true)
  show('events-paused', false)
  renderDirectory(directory)
  show('detail-empty', false)
  show('detail-body', true)
  if (scroll && window.matchMedia('(max-width: 1023px)').matches) $('detail').scrollIntoView({ block: 'start' })
  const quietly = (p) => p.catch((err) => { if (gen === state.gen) toast(failMessage(err), 'error') })
  quietly(loadStatus(gen))
  quietly(loadUsers(gen))
  quietly(loadGroups(gen))
  quietly(loadFailed(gen))
  quietly(loadSteps(gen))
  pollEvents(gen)
}

$('d-url-copy').addEventListener('click', () => copy($('d-url').textContent, 'SCIM URL'))
$('d-token-copy').addEventListener('click', () => copy($('d-token').textContent, 'Token'))
$('d-hide').addEventListener('click', () => { hideToken(); $('d-reveal').focus() })

$('d-reveal').addEventListener('click', (event) => act(event.currentTarget, async () => {
  const gen = state.gen
  const credentials = await api('POST', `${dirPath()}/credentials`)
  if (gen === state.gen) showToken(credentials.token)
}))

$('d-rotate').addEventListener('click', (event) => act(event.currentTarget, async () => {
  const gen = state.gen
  const graceSeconds = Number($('d-grace').value)
  const credentials = await api('POST', `${dirPath()}/token`, { graceSeconds })
  if (gen !== state.gen) return
  showToken(credentials.token)
  toast(graceSeconds === 0 ? 'New token: the old one no longer works' : `New token: the old one works for ${duration(graceSeconds * 1000)} more`)
}))

$('d-toggle').addEventListener('click', (event) => act(event.currentTarget, async () => {
  const action = state.dir.deactivated ? 'activate' : 'deactivate'
  const directory = await api('POST', `${dirPath()}/${action}`)
  if (directory.id !== (state.dir && state.dir.id)) return
  renderDirectory(directory)
  toast(directory.deactivated ? 'Deactivated: its identity provider is refused until it is activated' : 'Activated')
  await loadDirectories()
}))

$('d-delete').addEventListener('click', () => {
  setText('d-confirm-text', `Delete "${state.dir.name}"? Its users, groups and events are removed, and its identity provider is refused from now on.`)
  show('d-confirm', true)
  $('d-confirm-no').focus()
})
$('d-confirm-no').addEventListener('click', () => { show('d-confirm', false); $('d-delete').focus() })
$('d-confirm-yes').addEventListener('click', (event) => act(event.currentTarget, async () => {
  const { name } = state.dir
  await api('DELETE', dirPath())
  await selectDirectory(null)
  toast(`Directory "${name}" deleted`)
  await loadDirectories()
}))

async function loadStatus (gen) {
  const s = await api('GET', `${dirPath()}/status`)
  if (gen !== state.gen) return
  setText('s-users', String(s.users))
  setText('s-groups', String(s.groups))
  setText('s-last', s.lastRequest ? `${s.lastRequest.method} ${s.lastRequest.route} → ${s.lastRequest.status}, ${ago(s.lastRequest.at)}` : 'none yet')
  const e = s.lastError
  setText('s-error', e ? `${e.method} ${e.route} → ${e.status}${e.detail ? `: ${e.detail}` : ''}, ${ago(e.at)}` : 'none')
  $('s-error').classList.toggle('bad', Boolean(e))
  setText('s-oldest', s.oldestUndeliveredMs === null ? 'nothing pending' : `oldest pending for ${duration(s.oldestUndeliveredMs)}`)
  const guard = s.guard || { state: 'off' }
  setText('s-guard', guard.state === 'tripped'
    ? `tripped ${ago(guard.trippedAt)}: ${plural(guard.held, 'event')} held`
    : guard.state)
  $('s-guard').classList.toggle('bad', guard.state === 'tripped')
  show('s-guard-actions', guard.state === 'tripped')
  const rows = (s.deliveries || []).map((d) => h('tr', null,
    h('td', { text: d.handler }),
    h('td', { class: 'num', text: String(d.pending) }),
    h('td', { class: d.failed > 0 ? 'num bad' : 'num', text: String(d.failed) })))
  $('s-deliveries').replaceChildren(...(rows.length > 0 ? rows : [h('tr', null, h('td', { colspan: 3, class: 'muted', text: 'No handler' }))]))
}

for (const [id, coalesce] of [['s-release', false], ['s-release-coalesce', true]]) {
  $(id).addEventListener('click', (event) => act(event.currentTarget, async () => {
    const gen = state.gen
    const result = await api('POST', `${dirPath()}/guard/release`, { coalesce })
    toast(`Released ${plural(result.released, 'event')}${coalesce ? `, ${result.coalesced} coalesced away` : ''}`)
    await loadStatus(gen)
  }))
}

/** An address that may break after its @ (and, if it must, anywhere), as nodes. */
function breakable (text) {
  const at = text.indexOf('@')
  return at < 0 ? [text] : [text.slice(0, at + 1), h('wbr'), text.slice(at + 1)]
}

function fullName (u) {
  return [u.first_name, u.last_name].filter(Boolean).join(' ')
}

async function loadUsers (gen) {
  const { offset, limit } = state.users
  const page = await api('GET', `${dirPath()}/users?${new URLSearchParams({ offset: String(offset), limit: String(limit) })}`)
  if (gen !== state.gen) return
  if (page.items.length === 0 && offset > 0 && page.total > 0) {
    state.users.offset = Math.max(0, Math.floor((page.total - 1) / limit) * limit)
    return loadUsers(gen)
  }
  state.users.total = page.total
  $('users-body').replaceChildren(...page.items.map((u) => h('tr', null,
    h('td', { text: fullName(u) || '–' }),
    h('td', { class: 'email' }, ...breakable(u.email || '–')),
    h('td', null, h('span', { class: u.active ? 'badge ok' : 'badge off', text: u.active ? 'active' : 'inactive' })),
    h('td', null, h('code', { class: 'small', text: u.id })))))
  setText('users-count', String(page.total))
  show('users-empty', page.total === 0)
  $('users-body').closest('.table-wrap').hidden = page.total === 0
  pager('users', state.users, page.items.length)
}

async function loadGroups (gen) {
  const { offset, limit } = state.groups
  const page = await api('GET', `${dirPath()}/groups?${new URLSearchParams({ offset: String(offset), limit: String(limit) })}`)
  if (gen !== state.gen) return
  if (page.items.length === 0 && offset > 0 && page.total > 0) {
    state.groups.offset = Math.max(0, Math.floor((page.total - 1) / limit) * limit)
    return loadGroups(gen)
  }
  state.groups.total = page.total
  // How many members each has: the total of a one-item page of its members.
  const counts = await Promise.all(page.items.map((g) =>
    api('GET', `${dirPath()}/groups/${encodeURIComponent(g.id)}/members?limit=1`).then((m) => m.total, () => null)))
  if (gen !== state.gen) return
  $('groups-body').replaceChildren(...page.items.map((g, i) => h('tr', null,
    h('td', { text: g.name || '(no name)' }),
    h('td', { class: 'num', text: counts[i] === null ? '–' : String(counts[i]) }))))
  setText('groups-count', String(page.total))
  show('groups-empty', page.total === 0)
  $('groups-body').closest('.table-wrap').hidden = page.total === 0
  pager('groups', state.groups, page.items.length)
}

async function loadFailed (gen) {
  const { items } = await api('GET', `${dirPath()}/failed`)
  if (gen !== state.gen) return
  setText('failed-count', items.length === 0 ? '' : String(items.length))
  show('failed-empty', items.length === 0)
  show('failed-wrap', items.length > 0)
  $('failed-body').replaceChildren(...items.map((f) => h('tr', null,
    h('td', null, h('span', { class: 'ev-type', text: f.event.event }), h('br'), h('code', { class: 'small', text: f.event.id })),
    h('td', { text: f.handler }),
    h('td', { class: 'num', text: String(f.attempts) }),
    h('td', { class: 'error-cell', text: f.error }),
    h('td', { text: when(f.failedAt) }),
    h('td', null, h('button', {
      type: 'button',
      class: 'btn btn-small',
      'aria-label': `Replay ${f.event.event} to ${f.handler}`,
      text: 'Replay',
      onclick: (event) => act(event.currentTarget, async () => {
        const result = await api('POST', `${dirPath()}/failed/${encodeURIComponent(f.event.id)}/replay`, { handler: f.handler })
        toast(result.failed > 0 ? `Replay failed again (${result.delivered} delivered, ${result.failed} failed)` : 'Delivered', result.failed > 0 ? 'error' : 'info')
        await Promise.all([loadFailed(gen), loadStatus(gen)])
      })
    })))))
}

async function loadSteps (gen) {
  const steps = await api('GET', `${dirPath()}/steps`)
  if (gen !== state.gen) return
  setText('steps-title', `Setup steps in ${steps.providerName}`)
  $('steps-list').replaceChildren(...steps.steps.map((s) => h('li', null,
    h('span', { class: 'step-title', text: s.title }),
    h('p', { class: 'step-detail', text: s.detail }))))
}

// ---------------------------------------------------------------------------------------------------
// Live events

function describe (e) {
  const d = e.data || {}
  const person = (u) => {
    const name = fullName(u)
    return name && u.email ? `${name} <${u.email}>` : (name || u.email || u.id || '')
  }
  let text
  if (e.event === 'group.user_added') text = `${person(d)} → ${d.group ? d.group.name : ''}`
  else if (e.event === 'group.user_removed') text = `${person(d)} ✕ ${d.group ? d.group.name : ''}`
  else if (e.event.startsWith('user.')) text = person(d)
  else if (e.event.startsWith('group.')) text = d.name || d.id || ''
  else if (e.event === 'directory.guard_tripped') text = `${d.deprovisioned} of ${d.users} users deprovisioned: delivery held`
  else if (e.event === 'directory.guard_released') text = `${d.released ?? 0} released, ${d.coalesced ?? 0} coalesced`
  else if (e.event.startsWith('dsync.')) text = d.name || ''
  else text = ''
  const changed = e.previous ? Object.keys(e.previous) : []
  if (changed.length > 0) text += ` (changed: ${changed.join(', ')})`
  return text
}

function eventKind (type) {
  if (type.startsWith('user.')) return 'user'
  if (type.startsWith('group.')) return 'group'
  if (type.startsWith('directory.')) return 'guard'
  return 'life'
}

function addEvents (events) {
  if (events.length === 0) return
  const list = $('events-list')
  const fragment = document.createDocumentFragment()
  // Newest first: the page is oldest first.
  for (let i = events.length - 1; i >= 0 && fragment.childNodes.length < MAX_EVENTS_SHOWN; i--) {
    const e = events[i]
    fragment.append(h('li', { class: `ev ev-${eventKind(e.event)}` },
      h('span', { class: 'ev-type', text: e.event }),
      h('span', { class: 'ev-what', text: describe(e) }),
      h('time', { class: 'ev-time', datetime: e.created, title: when(e.created), text: new Date(e.created).toLocaleTimeString() })))
  }
  list.prepend(fragment)
  while (list.childElementCount > MAX_EVENTS_SHOWN) list.lastElementChild.remove()
  state.events.shown += events.length
  show('events-empty', false)
}

async function pollEvents (gen) {
  if (gen !== state.gen || state.session === null) return
  if (!document.hidden) {
    try {
      const kinds = new Set()
      let more = false
      let rounds = 0
      do {
        const query = new URLSearchParams({ limit: '200' })
        if (state.events.after !== undefined) query.set('after', state.events.after)
        const page = await api('GET', `${dirPath()}/events?${query}`)
        if (gen !== state.gen) return
        state.events.after = page.after
        addEvents(page.events)
        for (const e of page.events) kinds.add(eventKind(e.event))
        const paused = $('events-paused')
        paused.hidden = !page.paused
        if (page.paused) paused.textContent = 'The deprovisioning guard holds the events that follow: release them in Status.'
        more = page.hasMore
      } while (more && ++rounds < 10)
      state.events.ticks++
      // What the events changed, and every 10 s the status (its last request moves without events).
      const refresh = []
      if (kinds.size > 0 || state.events.ticks % 5 === 0) refresh.push(loadStatus(gen))
      if (kinds.has('user')) refresh.push(loadUsers(gen))
      if (kinds.has('group')) refresh.push(loadGroups(gen))
      if (kinds.has('life')) refresh.push(api('GET', dirPath()).then((d) => { if (gen === state.gen) renderDirectory(d) }))
      if (kinds.size > 0 && state.events.ticks % 5 === 0) refresh.push(loadFailed(gen))
      await Promise.all(refresh)
      $('events-live').classList.remove('stale')
    } catch (err) {
      if (gen !== state.gen) return
      if (err instanceof ApiError && err.status === 410) {
        // The cursor is older than the retention: start again from the oldest kept.
        state.events.after = undefined
        $('events-list').replaceChildren()
      } else if (err instanceof ApiError && err.status === 404) {
        toast('This directory no longer exists', 'error')
        selectDirectory(null)
        loadDirectories().catch(() => {})
        return
      } else if (state.session === null) {
        return
      } else {
        $('events-live').classList.add('stale')
      }
    }
  }
  if (gen === state.gen) state.eventsTimer = setTimeout(() => pollEvents(gen), EVENTS_EVERY_MS)
}

// ---------------------------------------------------------------------------------------------------
// Setup links

async function loadLinks () {
  const { items } = await api('GET', `${API}/setup-links`)
  items.sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1))
  $('links-list').replaceChildren(...items.map((link) => {
    const who = `${link.tenant} · ${link.product}`
    const badgeClass = link.state === 'active' ? 'badge ok' : link.state === 'revoked' ? 'badge bad' : 'badge off'
    return h('li', { class: 'link-item' },
      h('div', { class: 'link-top' },
        h('span', { class: 'link-who', text: who }),
        h('span', { class: badgeClass, text: link.state })),
      h('p', { class: 'link-dates' },
        `Created ${when(link.createdAt)} · `,
        link.state === 'revoked' ? `revoked ${when(link.revokedAt)}` : `${link.state === 'expired' ? 'expired' : 'expires'} ${when(link.expiresAt)}`),
      link.directoryId
        ? h('p', { class: 'link-dir' }, 'Directory ', h('button', {
          type: 'button',
          class: 'linkish',
          text: link.directoryId,
          'aria-label': `Open the directory of the link for ${who}`,
          onclick: () => selectDirectory(link.directoryId, { scroll: true })
        }))
        : h('p', { class: 'link-dir muted', text: 'No provider picked yet' }),
      link.state === 'active'
        ? h('button', {
          type: 'button',
          class: 'btn btn-small',
          'aria-label': `Revoke the link for ${who} created ${when(link.createdAt)}`,
          text: 'Revoke',
          onclick: (event) => act(event.currentTarget, async () => {
            await api('DELETE', `${API}/setup-links/${encodeURIComponent(link.id)}`)
            toast('Link revoked: it no longer opens')
            await loadLinks()
          })
        })
        : null)
  }))
  show('links-empty', items.length === 0)
}

$('link-form').addEventListener('submit', (event) => {
  event.preventDefault()
  const body = { expiresInSeconds: Number($('link-expiry').value) }
  if (isOperator()) {
    body.tenant = $('link-tenant').value.trim()
    body.product = $('link-product').value.trim()
    if (body.tenant === '' || body.product === '') return setText('link-error', 'Enter the tenant and the product.')
  }
  act(event.submitter, async () => {
    const created = await api('POST', `${API}/setup-links`, body)
    const input = $('link-url')
    input.value = created.url || created.token
    show('link-created', true)
    input.focus()
    input.select()
    await loadLinks()
  }, 'link-error')
})
$('link-copy').addEventListener('click', () => copy($('link-url').value, 'Link'))

// ---------------------------------------------------------------------------------------------------
// Start

async function start () {
  try {
    const session = await api('GET', '/session')
    if (session && session.authenticated) signedIn(session)
    else signedOut()
  } catch {
    signedOut('The server could not be reached: reload the page.')
  }
}

start()
