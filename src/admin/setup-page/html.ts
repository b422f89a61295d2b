// The setup-link page's HTML shell. It is static on purpose: no inline script or style (the page is
// served with CSP default-src 'self'), and nothing from the link itself, since the token only lives in
// the URL fragment, which the browser never sends. setup.js builds the rest from the API.

/** Escapes text for a double-quoted HTML attribute. */
function escapeAttr (value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

/**
 * The page's HTML document.
 * @param base the path prefix the setup routes are under (e.g. '/setup'): where setup.css and setup.js are served.
 */
export function setupHtml (base: string): string {
  // '/setup/' and '/' must not give '//setup.css' (a protocol-relative URL to another host).
  const prefix = escapeAttr(base.replace(/\/+$/, ''))
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex, nofollow">
<title>Set up user provisioning</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${prefix}/setup.css">
<script src="${prefix}/setup.js" defer></script>
</head>
<body>
<main>
<h1>Set up user provisioning</h1>
<p class="lead">Connect your identity provider so that your users and groups are created, updated and removed here automatically.</p>
<div id="app"><p class="muted">Loading…</p></div>
<noscript><p class="notice">This page needs JavaScript to be enabled.</p></noscript>
<div id="alert" role="alert"></div>
</main>
</body>
</html>
`
}
