// The setup-link page's stylesheet, shipped as a string (no build step, no CDN).
// Colours are chosen for at least 4.5:1 contrast on their backgrounds: text #1a1a1a, muted #555,
// accent #1d4ed8 (white on it: 6.7:1), error #b91c1c (5.9:1 on its pale background).
export const SETUP_CSS: string = `*, *::before, *::after { box-sizing: border-box; }

:root {
  color-scheme: light;
  --text: #1a1a1a;
  --muted: #555;
  --line: #d4d4d8;
  --soft: #f4f4f5;
  --accent: #1d4ed8;
  --accent-dark: #1e40af;
  --accent-soft: #eff6ff;
  --ok: #15803d;
  --error: #b91c1c;
  --error-soft: #fef2f2;
  --radius: .5rem;
}

html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }

body {
  margin: 0;
  background: #fff;
  color: var(--text);
  font: 1rem/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  /* Long words (URLs inside step details) wrap instead of widening the page. */
  overflow-wrap: break-word;
}

main { max-width: 44rem; margin: 0 auto; padding: 2.5rem 1.25rem 4rem; }

h1 { font-size: 1.75rem; line-height: 1.2; margin: 0 0 .5rem; }
h2 { font-size: 1.25rem; line-height: 1.3; margin: 0 0 .75rem; }
h3 { font-size: 1rem; line-height: 1.4; margin: .75rem 0 .35rem; }
p { margin: 0 0 .75rem; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: .9em; }

.lead { color: var(--muted); margin-bottom: 1.5rem; }
.muted { color: var(--muted); }
.footnote { font-size: .9rem; margin-top: 1.5rem; }

section { padding: 1.5rem 0; border-top: 1px solid var(--line); }
section > h3:first-of-type { margin-top: 0; }

/* Headings focused by script (to move screen readers along) need no ring for mouse users. */
[tabindex="-1"]:focus:not(:focus-visible) { outline: none; }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; border-radius: 2px; }

/* Buttons */
.actions { display: flex; flex-wrap: wrap; gap: .5rem; margin: 0 0 .5rem; }
button {
  font: inherit;
  font-weight: 600;
  min-height: 2.75rem; /* a comfortable touch target */
  padding: .5rem 1rem;
  border: 1px solid var(--muted);
  border-radius: var(--radius);
  background: #fff;
  color: var(--text);
  cursor: pointer;
}
button:hover { background: var(--soft); }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button.primary:hover { background: var(--accent-dark); border-color: var(--accent-dark); }
button.danger { color: var(--error); border-color: var(--error); }
button.danger:hover { background: var(--error-soft); }
/* aria-disabled (not disabled) while a request runs, so focus stays on the button. */
button[aria-disabled="true"] { cursor: progress; background: #e4e4e7; border-color: #a1a1aa; color: #3f3f46; }

/* Provider choice: whole rows are clickable radio labels. */
fieldset { border: 0; margin: 0; padding: 0; min-width: 0; }
legend { padding: 0; }
legend h2 { margin-bottom: .5rem; }
.options { display: grid; gap: .5rem; margin: 0 0 1.25rem; }
.option {
  display: flex;
  align-items: center;
  gap: .75rem;
  padding: .75rem 1rem;
  border: 1px solid var(--line);
  border-radius: var(--radius);
  cursor: pointer;
}
.option:hover { border-color: var(--muted); }
.option:has(input:checked) { border-color: var(--accent); background: var(--accent-soft); box-shadow: inset 0 0 0 1px var(--accent); }
.option input { width: 1.15rem; height: 1.15rem; margin: 0; flex: none; accent-color: var(--accent); }

.provider { border-top: 0; padding-top: .5rem; }
.provider-row { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: .5rem 1rem; }
.provider-row h2 { margin: 0; }
.provider-row button[hidden] { display: none; }

/* Copyable values: long URLs and tokens break anywhere rather than scroll. */
.mono {
  font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
  font-size: .9rem;
  line-height: 1.5;
  background: var(--soft);
  border: 1px solid var(--line);
  border-radius: var(--radius);
  padding: .65rem .85rem;
  margin: 0 0 .6rem;
  overflow-wrap: anywhere;
  user-select: all; /* one click selects the whole value */
}
.hint { color: var(--muted); font-size: .9rem; min-height: 1.4em; margin: 0 0 .25rem; }

/* Status */
.status { display: flex; align-items: baseline; gap: .6rem; font-weight: 600; margin-bottom: .5rem; }
.dot { width: .7rem; height: .7rem; border-radius: 50%; flex: none; background: var(--accent); align-self: center; }
.status.waiting .dot { animation: pulse 1.6s ease-in-out infinite; }
.status.connected .dot { background: var(--ok); }
@keyframes pulse { 0%, 100% { opacity: 1; transform: scale(1); } 50% { opacity: .3; transform: scale(.7); } }
@media (prefers-reduced-motion: reduce) { .status.waiting .dot { animation: none; } }

.facts { margin: .75rem 0; display: grid; gap: .35rem; }
.facts > div { display: grid; grid-template-columns: 8.5rem minmax(0, 1fr); gap: 1rem; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; min-width: 0; }

/* Errors: the page-wide alert region and the last SCIM error. */
.notice, #alert:not(:empty) {
  color: var(--text);
  background: var(--error-soft);
  border: 1px solid #fecaca;
  border-left: 4px solid var(--error);
  border-radius: var(--radius);
  padding: .75rem 1rem;
  margin: .75rem 0;
}
.notice p:last-child { margin-bottom: 0; }
.notice-title { font-weight: 600; }
/* The alert sits after the content and sticks to the bottom of the window, so it is seen wherever the admin scrolled to. */
#alert:not(:empty) { position: sticky; bottom: 1rem; box-shadow: 0 4px 16px rgb(0 0 0 / 12%); }

/* Numbered steps, the number in a circle beside each. */
.steps { list-style: none; counter-reset: step; margin: 0; padding: 0; }
.steps li { counter-increment: step; position: relative; padding: 0 0 1rem 2.75rem; }
.steps li::before {
  content: counter(step);
  position: absolute;
  left: 0;
  top: 0;
  width: 1.9rem;
  height: 1.9rem;
  border-radius: 50%;
  background: var(--accent);
  color: #fff;
  font-weight: 700;
  font-size: .95rem;
  display: grid;
  place-items: center;
}
.steps h3 { margin: .15rem 0 .25rem; }
.steps p { margin: 0; }

@media (max-width: 30rem) {
  main { padding: 1.5rem 1rem 3rem; }
  h1 { font-size: 1.5rem; }
  .facts > div { grid-template-columns: 1fr; gap: 0; }
  .actions button { flex: 1 1 auto; }
}
`
