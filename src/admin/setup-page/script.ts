// The setup-link page's browser script, shipped as a string so the package needs no build step for it.
// Plain ES2020, no modules, no framework. Every piece of data goes into the DOM through textContent or
// text nodes (never innerHTML). Written with String.raw: keep it free of backticks and dollar-brace.
export const SETUP_JS: string = String.raw`// fastify-directory-sync: setup-link page
(() => {
  'use strict'

  const POLL_MS = 3000
  // The API sits next to the page: <prefix>/api/..., whether the page was opened as <prefix> or <prefix>/.
  const base = location.pathname.replace(/\/+$/, '')
  const app = document.getElementById('app')
  const alertBox = document.getElementById('alert')
  const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' })

  const state = {
    token: '',
    view: null, // the last SetupLinkView
    key: '', // what the page is built for; the DOM is rebuilt only when it changes (keeps focus and input)
    refs: {}, // nodes that polling updates in place
    progressSig: '', // the progress last drawn, to skip redrawing identical data
    liveKey: null, // the headline last put in the aria-live region, so it is only announced on change
    choosing: false, // the provider list is open to change provider
    secret: null, // the revealed token, kept across polls
    secretDir: null, // ...for this directory only
    busy: 0, // requests in flight: a poll never overlaps one
    gen: 0, // bumped by actions: a poll answer that started before one is stale and dropped
    pollTimer: 0,
    pauseUntil: 0, // after a 429, no poll before this time
    pollFailed: false, // the alert shows a poll failure, to clear once a poll succeeds
    countdown: 0
  }

  // ---- DOM helpers --------------------------------------------------------------------------------

  // el('p', { class: 'x', onclick: fn }, 'text', node): strings become text nodes, so data is never parsed as HTML.
  function el (tag, attrs, ...children) {
    const node = document.createElement(tag)
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue
      if (k === 'class') node.className = v
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v)
      else node.setAttribute(k, v === true ? '' : String(v))
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined && child !== false) node.append(child)
    }
    return node
  }

  // replaceChildren, skipping absent parts (replaceChildren itself would write "null").
  function fill (node, children) {
    node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false))
  }

  function timeEl (iso) {
    const d = new Date(iso)
    return el('time', { datetime: iso }, isNaN(d.getTime()) ? String(iso) : dateFmt.format(d))
  }

  function plural (n, word) { return n + ' ' + word + (n === 1 ? '' : 's') }

  function focusId (id) {
    const node = document.getElementById(id)
    if (node) node.focus()
  }

  function showAlert (text) {
    // Rewriting the same text would make some screen readers announce it again on every poll.
    if (alertBox.textContent !== text) alertBox.textContent = text
  }

  function clearAlert () { alertBox.textContent = '' }

  // ---- API ----------------------------------------------------------------------------------------

  // Resolves to { ok, status, data, message, retryAfter }; never rejects, so no error reaches the console.
  function api (method, path, body) {
    const headers = { authorization: 'Bearer ' + state.token, accept: 'application/json' }
    // Fastify refuses an empty body with a JSON content-type: only send one with a body.
    if (body !== undefined) headers['content-type'] = 'application/json'
    state.busy++
    return fetch(base + '/api' + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'same-origin'
    }).then((res) => {
      return res.json().catch(() => null).then((data) => {
        if (res.ok) return { ok: true, status: res.status, data }
        const err = data && data.error
        return {
          ok: false,
          status: res.status,
          data,
          message: (err && typeof err.message === 'string' && err.message) || ('The server answered ' + res.status + (res.statusText ? ' ' + res.statusText : '') + '.'),
          retryAfter: retryAfter(res)
        }
      })
    }, () => {
      return { ok: false, status: 0, data: null, message: 'Could not reach the server. Check your connection.', retryAfter: 0 }
    }).finally(() => { state.busy-- })
  }

  // Retry-After is either seconds or an HTTP date.
  function retryAfter (res) {
    const v = (res.headers.get('retry-after') || '').trim()
    const s = /^\d+$/.test(v) ? Number(v) : Math.ceil((Date.parse(v) - Date.now()) / 1000)
    return isFinite(s) && s > 0 ? s : 30
  }

  // ---- Whole-page messages (no token, bad link, rate limited) -------------------------------------

  // focus: move to the heading when the message replaces what the admin was using (not on arrival:
  // the page is read from the top then, and a ring around the heading would only puzzle).
  function showMessage (title, lines, actions, focus) {
    stopPolling()
    state.view = null
    state.key = 'message'
    state.refs = {}
    const h = el('h2', { id: 'message-h', tabindex: '-1' }, title)
    fill(app, [el('section', { class: 'message', 'aria-labelledby': 'message-h' },
      h,
      lines.filter(Boolean).map((line) => el('p', null, line)),
      actions ? el('div', { class: 'actions' }, actions) : null)])
    if (focus) h.focus()
  }

  // 401 and 410 end the session whatever was being done: true when handled.
  function linkGone (r, focus) {
    if (r.status === 401) {
      showMessage('This link is not valid', [
        'Check that you opened the whole link from the email, including the part after the # sign. If it still does not work, ask whoever sent it to you for a new one.'
      ], null, focus)
      return true
    }
    if (r.status === 410) {
      const generic = 'This link has expired or was revoked.'
      showMessage('This link has expired or was revoked', [
        'Ask whoever sent it to you for a new one.',
        // The API's own words may say which of the two it is.
        r.message && r.message !== generic ? el('span', { class: 'muted' }, r.message) : null
      ], null, focus)
      return true
    }
    return false
  }

  // 429 on the first load: count down, then try again by itself.
  function tooMany (seconds) {
    let left = seconds
    const wait = () => 'Wait ' + plural(left, 'second') + ': this page then tries again by itself.'
    const text = el('span', null, wait())
    showMessage('Too many attempts', [text])
    state.countdown = setInterval(() => {
      left--
      if (left > 0) {
        text.textContent = wait()
      } else {
        clearInterval(state.countdown)
        state.countdown = 0
        load()
      }
    }, 1000)
  }

  // ---- Loading and polling ------------------------------------------------------------------------

  function start () {
    stopPolling()
    clearInterval(state.countdown)
    state.gen++
    state.view = null
    state.key = ''
    state.secret = null
    state.choosing = false
    state.pauseUntil = 0
    state.pollFailed = false
    clearAlert()
    state.token = readToken()
    if (!state.token) {
      showMessage('This page needs the link you were sent', [
        'Open the setup link from the email exactly as it was sent: the part after the # sign is what lets you in.'
      ])
      return
    }
    fill(app, [el('p', { class: 'muted' }, 'Loading…')])
    load()
  }

  // The token comes in the fragment; it is then kept in this tab's sessionStorage and taken out of the
  // address bar, so that it stays out of the browser's history (a reload in this tab still works).
  const TOKEN_KEY = 'dsync-setup-link'
  function readToken () {
    const raw = location.hash.replace(/^#/, '').trim()
    let token = raw
    try { token = decodeURIComponent(raw) } catch (e) {}
    if (token) {
      try { sessionStorage.setItem(TOKEN_KEY, token) } catch (e) {}
      history.replaceState(history.state, '', location.pathname + location.search)
      return token
    }
    try { return sessionStorage.getItem(TOKEN_KEY) || '' } catch (e) { return '' }
  }

  function load () {
    const gen = state.gen
    return api('GET', '/link').then((r) => {
      if (gen !== state.gen) return
      if (r.ok) {
        clearAlert()
        show(r.data)
      } else if (!linkGone(r)) {
        if (r.status === 429) tooMany(r.retryAfter)
        else showMessage('Could not load your setup', [r.message], el('button', { type: 'button', class: 'primary', onclick: start }, 'Try again'))
      }
    })
  }

  function stopPolling () {
    clearTimeout(state.pollTimer)
    state.pollTimer = 0
  }

  // Polls only once a directory exists (that is when progress can change), and only while the page is visible.
  function schedulePoll (delay) {
    stopPolling()
    if (!state.view || !state.view.directory || document.hidden) return
    const wait = Math.max(delay || POLL_MS, state.pauseUntil - Date.now())
    state.pollTimer = setTimeout(poll, wait)
  }

  function poll () {
    state.pollTimer = 0
    if (document.hidden || !state.view) return
    if (Date.now() < state.pauseUntil || state.busy > 0) { schedulePoll(); return }
    const gen = state.gen
    api('GET', '/link').then((r) => {
      if (gen !== state.gen) { schedulePoll(); return } // an action answered meanwhile: its view is newer
      if (r.ok) {
        if (state.pollFailed) { clearAlert(); state.pollFailed = false }
        show(r.data)
      } else if (!linkGone(r, true)) {
        state.pollFailed = true
        if (r.status === 429) {
          state.pauseUntil = Date.now() + r.retryAfter * 1000
          showAlert('Too many attempts, wait ' + plural(r.retryAfter, 'second') + '.')
        } else {
          showAlert('Could not refresh the status. ' + r.message + ' Trying again…')
        }
        schedulePoll()
      }
    })
  }

  document.addEventListener('visibilitychange', () => {
    if (document.hidden) stopPolling()
    else if (state.view && state.view.directory && !state.pollTimer) poll()
  })

  // A different link pasted into the same tab changes only the fragment: start over with its token.
  window.addEventListener('hashchange', start)

  // ---- Rendering ----------------------------------------------------------------------------------

  function providerName (view) {
    const dir = view && view.directory
    if (view && view.steps && view.steps.providerName) return view.steps.providerName
    if (dir && view.providers && view.providers[dir.type]) return view.providers[dir.type]
    return 'your identity provider'
  }

  function show (view) {
    state.view = view
    const dir = view.directory
    if (!dir || dir.id !== state.secretDir) state.secret = null
    if (state.choosing && (!dir || !view.canChangeProvider)) {
      // The first request arrived while the list was open: the provider is now fixed.
      state.choosing = false
      if (dir) showAlert(providerName(view) + ' has already sent a request, so the provider can no longer be changed.')
    }
    const key = dir
      ? ['dir', dir.id, dir.type, dir.deactivated ? 'off' : 'on', state.choosing ? 'choosing' : 'shown'].join(':')
      : 'choose'
    if (key !== state.key) {
      state.key = key
      state.refs = {}
      state.progressSig = ''
      state.liveKey = null
      fill(app, dir && !state.choosing ? directoryView(view) : chooserView(view))
    }
    if (state.refs.change) state.refs.change.hidden = !view.canChangeProvider
    renderProgress(view)
    schedulePoll()
  }

  function expiryNote (view) {
    if (!view.link || !view.link.expiresAt) return null
    return el('p', { class: 'muted footnote' }, 'This setup link works until ', timeEl(view.link.expiresAt), '. Keep the email to come back to this page.')
  }

  // The provider list: first choice, or a change while no request has arrived yet.
  function chooserView (view) {
    const dir = view.directory
    const providers = view.providers || {}
    const types = Object.keys(providers)
    const group = el('div', { class: 'options' }, types.map((type) => {
      return el('label', { class: 'option' },
        el('input', { type: 'radio', name: 'provider', value: type, checked: dir ? type === dir.type : false }),
        el('span', null, providers[type]))
    }))
    const go = el('button', { type: 'button', class: 'primary', onclick: () => { chooseProvider(group, go) } },
      dir ? 'Use this provider' : 'Continue')
    const section = el('section', { class: 'choose' },
      el('fieldset', null,
        el('legend', null, el('h2', { id: 'choose-h', tabindex: '-1' }, 'Choose your identity provider')),
        el('p', { class: 'muted' }, dir
          ? 'Changing it gives new setup steps. Copy the SCIM URL again afterwards.'
          : 'Pick the service where your organisation manages its users. You can change it until the first request arrives.'),
        types.length ? group : el('p', null, 'No identity provider is available. Ask whoever sent you this link.')),
      types.length
        ? el('div', { class: 'actions' }, go, dir ? el('button', { type: 'button', onclick: closeChooser }, 'Cancel') : null)
        : null)
    return [section, expiryNote(view)]
  }

  function openChooser () {
    state.choosing = true
    clearAlert()
    show(state.view)
    focusId('choose-h')
  }

  function closeChooser () {
    state.choosing = false
    show(state.view)
    focusId('change-provider')
  }

  function chooseProvider (group, button) {
    const picked = group.querySelector('input[name="provider"]:checked')
    if (!picked) { showAlert('Choose an identity provider first.'); return }
    const dir = state.view.directory
    if (dir && dir.type === picked.value) { closeChooser(); return }
    action(button, () => api('POST', '/provider', { type: picked.value })).then((r) => {
      if (!r) return
      state.choosing = false
      state.secret = null
      show(r.data)
      focusId('provider-h')
    })
  }

  // The directory: provider, status, what to paste, and the steps.
  function directoryView (view) {
    const dir = view.directory
    const name = providerName(view)
    const refs = state.refs

    refs.change = el('button', { type: 'button', id: 'change-provider', onclick: openChooser }, 'Change provider')
    const head = el('section', { class: 'provider', 'aria-labelledby': 'provider-h' },
      el('div', { class: 'provider-row' },
        el('h2', { id: 'provider-h', tabindex: '-1' }, 'Identity provider: ', name),
        refs.change),
      dir.deactivated
        ? el('p', { class: 'notice' }, 'This connection is switched off: requests from ', name, ' are refused until it is switched back on. Ask whoever sent you this link.')
        : null)

    // The headline is the live region (announced when waiting turns into connected); the details are not.
    refs.live = el('p', { class: 'status', 'aria-live': 'polite' })
    refs.facts = el('div')
    const status = el('section', { 'aria-labelledby': 'status-h' },
      el('h2', { id: 'status-h' }, 'Status'), refs.live, refs.facts)

    const url = (dir.scim && dir.scim.tenantUrl) || (view.steps && view.steps.url) || ''
    refs.token = el('div')
    refs.tokenNote = el('p', { class: 'hint', 'aria-live': 'polite' })
    const paste = el('section', { 'aria-labelledby': 'paste-h' },
      el('h2', { id: 'paste-h' }, 'What to paste into ', name),
      el('h3', null, 'SCIM URL'),
      copyable(url, 'Copy URL').node,
      el('h3', null, 'Token'),
      refs.token,
      refs.tokenNote)
    renderToken()

    const steps = view.steps && Array.isArray(view.steps.steps) ? view.steps.steps : []
    const guide = steps.length
      ? el('section', { 'aria-labelledby': 'steps-h' },
        el('h2', { id: 'steps-h' }, 'Steps in ', name),
        // role=list: Safari drops list semantics from a list without list-style.
        el('ol', { class: 'steps', role: 'list' }, steps.map((s) => {
          return el('li', null, el('h3', null, s.title), el('p', null, s.detail))
        })))
      : null

    return [head, status, paste, guide, expiryNote(view)]
  }

  // A monospace box and its Copy button; the hint under it says what happened (and is announced).
  function copyable (text, label, extra) {
    const box = el('div', { class: 'mono' }, text)
    const hint = el('p', { class: 'hint', 'aria-live': 'polite' })
    let timer = 0
    function say (msg) {
      hint.textContent = msg
      clearTimeout(timer)
      timer = setTimeout(() => { hint.textContent = '' }, 6000)
    }
    const button = el('button', { type: 'button', onclick: () => { copy(text, box, say) } }, label)
    return { node: el('div', { class: 'copyable' }, box, el('div', { class: 'actions' }, button, extra), hint), button }
  }

  function copy (text, box, say) {
    const clip = navigator.clipboard
    const written = clip && window.isSecureContext ? clip.writeText(text) : Promise.reject(new Error('no clipboard'))
    written.then(() => { say('Copied.') }, () => {
      // No clipboard access (plain http, permission refused): select the text so the usual shortcut copies it.
      const range = document.createRange()
      range.selectNodeContents(box)
      const sel = window.getSelection()
      sel.removeAllRanges()
      sel.addRange(range)
      say('Selected: press Ctrl+C (⌘C on a Mac) to copy.')
    })
  }

  // The token stays hidden until asked for (revealing it is an API call, so the server can log it).
  function renderToken () {
    const slot = state.refs.token
    if (!slot) return
    const name = providerName(state.view)
    const rotate = el('button', { type: 'button', class: 'danger', onclick: rotateToken }, 'Generate a new token')
    if (state.secret) {
      const shown = copyable(state.secret, 'Copy token', [
        el('button', { type: 'button', id: 'hide-token', onclick: hideToken }, 'Hide token'), rotate])
      fill(slot, [shown.node])
      return shown.button
    }
    fill(slot, [
      el('p', { class: 'muted' }, 'Hidden. Reveal it when you are ready to paste it into ', name, '.'),
      el('div', { class: 'actions' },
        el('button', { type: 'button', id: 'reveal-token', class: 'primary', onclick: revealToken }, 'Reveal token'),
        rotate)])
    return null
  }

  function revealToken (ev) {
    const button = ev.currentTarget
    action(button, () => api('POST', '/credentials')).then((r) => {
      if (!r) return
      state.secret = r.data.token
      state.secretDir = state.view.directory.id
      const copyButton = renderToken()
      if (copyButton) copyButton.focus()
    })
  }

  function hideToken () {
    state.secret = null
    renderToken()
    state.refs.tokenNote.textContent = ''
    focusId('reveal-token')
  }

  function rotateToken (ev) {
    const button = ev.currentTarget
    const name = providerName(state.view)
    if (!window.confirm('Generate a new token?\n\nThe current token stops working at once: ' + name + ' cannot sync until you paste the new token into it.')) return
    action(button, () => api('POST', '/token')).then((r) => {
      if (!r) return
      state.secret = r.data.token
      state.secretDir = state.view.directory.id
      const copyButton = renderToken()
      state.refs.tokenNote.textContent = 'New token generated. Paste it into ' + name + ': the old one no longer works.'
      if (copyButton) copyButton.focus()
    })
  }

  // Runs a button's request: ignores clicks while it runs (aria-disabled keeps the focus where it is,
  // unlike disabled), and shows the failure. Resolves to the answer when it succeeded, else null.
  function action (button, request) {
    if (button.getAttribute('aria-disabled') === 'true') return Promise.resolve(null)
    button.setAttribute('aria-disabled', 'true')
    state.gen++
    clearAlert()
    return request().then((r) => {
      button.removeAttribute('aria-disabled')
      if (r.ok) return r
      if (!linkGone(r, true)) {
        showAlert(r.status === 429 ? 'Too many attempts, wait ' + plural(r.retryAfter, 'second') + '.' : r.message)
      }
      return null
    })
  }

  function renderProgress (view) {
    const refs = state.refs
    if (!refs.live) return
    // No progress yet with a directory: nothing has arrived, which is waiting too.
    const p = view.progress || { firstRequestAt: null, users: 0, groups: 0, lastRequest: null, lastError: null }
    const sig = JSON.stringify(p)
    if (sig === state.progressSig) return
    state.progressSig = sig
    const name = providerName(view)
    const waiting = p.firstRequestAt === null || p.firstRequestAt === undefined

    const liveKey = waiting ? 'waiting' : p.firstRequestAt
    if (liveKey !== state.liveKey) {
      state.liveKey = liveKey
      refs.live.className = waiting ? 'status waiting' : 'status connected'
      fill(refs.live, waiting
        ? [el('span', { class: 'dot', 'aria-hidden': 'true' }), el('span', null, 'Waiting for the first request from ', name, '…')]
        : [el('span', { class: 'dot', 'aria-hidden': 'true' }), el('span', null, 'Connected: first request at ', timeEl(p.firstRequestAt), '.')])
    }

    if (waiting) {
      fill(refs.facts, [el('p', { class: 'muted' },
        'Follow the steps below. Once you save the settings in ', name, ', this page updates by itself.')])
      return
    }
    const rows = [['Users', String(p.users)], ['Groups', String(p.groups)]]
    if (p.lastRequest) rows.push(['Last request', requestLine(p.lastRequest)])
    const facts = el('dl', { class: 'facts' }, rows.map((row) => {
      return el('div', null, el('dt', null, row[0]), el('dd', null, row[1]))
    }))
    const lastError = p.lastError
      ? el('div', { class: 'notice' },
        el('p', { class: 'notice-title' }, 'Last error: ', String(p.lastError.status), ' on ', el('code', null, p.lastError.method + ' ' + p.lastError.route), ', ', timeEl(p.lastError.at)),
        p.lastError.detail ? el('p', null, p.lastError.detail) : null)
      : null
    fill(refs.facts, [facts, lastError])
  }

  function requestLine (req) {
    return el('span', null, el('code', null, req.method + ' ' + req.route), ' answered ', String(req.status), ', ', timeEl(req.at))
  }

  // ---- Start --------------------------------------------------------------------------------------

  start()
})()
`
