#!/usr/bin/env bash
# Proves the published artifact, not the working tree: packs the package (`npm pack` runs prepack, which
# builds), installs the tarball in a temp consumer made from test/consumers (fastify 5, TypeScript 5.9 and
# 7.0, @arethetypeswrong/cli, @types/node 20), then
#   - runs an ESM (.mjs) and a CommonJS (.cjs) consumer: register, create a directory, one SCIM POST /Users → 201
#   - type-checks strict .mts and .cts consumers with TypeScript 5.9 and 7.0 (skipLibCheck false)
#   - runs attw on the tarball
#   - checks that every .js.map in the installed package resolves its sources
# Temp folders are removed on exit; prints a summary; exits non-zero if any check failed.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD

work=$(mktemp -d "${TMPDIR:-/tmp}/dsync-check-package.XXXXXX")
cleanup () { rm -rf "$work"; }
trap cleanup EXIT

results=()
failed=0
pass () { results+=("ok    $1"); echo "ok: $1"; }
fail () { results+=("FAIL  $1"); echo "FAIL: $1" >&2; failed=$((failed + 1)); }
summary () {
  echo
  echo "--- check-package summary"
  printf '  %s\n' "${results[@]}"
  if [ "$failed" -eq 0 ]; then echo "check-package: all ${#results[@]} checks passed"; else echo "check-package: $failed of ${#results[@]} checks failed"; fi
}
fatal () { fail "$1"; summary; exit 1; }

echo "--- npm pack (prepack builds dist/)"
mkdir -p "$work/pack"
npm pack --pack-destination "$work/pack" >"$work/pack.log" 2>&1 || { cat "$work/pack.log" >&2; fatal "npm pack"; }
tarball=$(ls "$work"/pack/*.tgz 2>/dev/null | head -n 1)
[ -n "$tarball" ] || { cat "$work/pack.log" >&2; fatal "npm pack produced no tarball"; }
tar -tzf "$tarball" >"$work/contents.txt" || fatal "tar -tzf $tarball"
files=$(wc -l <"$work/contents.txt" | tr -d ' ')
size=$(wc -c <"$tarball" | tr -d ' ')
pass "npm pack: $(basename "$tarball"), $files files, $size bytes"
for required in package/dist/esm/index.js package/dist/esm/index.d.ts package/dist/esm/admin/index.js package/dist/cjs/admin/index.js package/dist/cjs/admin/index.d.ts package/dist/cjs/index.js package/dist/cjs/index.d.ts package/dist/cjs/package.json package/README.md package/LICENSE package/CHANGELOG.md; do
  grep -qx "$required" "$work/contents.txt" || fail "tarball lacks ${required#package/}"
done

echo "--- consumer install"
consumer="$work/consumer"
mkdir -p "$consumer"
cp "$root"/test/consumers/* "$consumer"/
TARBALL="$tarball" node -e '
  const fs = require("node:fs")
  const file = process.argv[1]
  const pkg = JSON.parse(fs.readFileSync(file, "utf8"))
  pkg.dependencies["fastify-directory-sync"] = "file:" + process.env.TARBALL
  fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + "\n")
' "$consumer/package.json"
(cd "$consumer" && npm install --no-audit --no-fund --no-package-lock --loglevel=error) >"$work/install.log" 2>&1 \
  || { cat "$work/install.log" >&2; fatal "consumer npm install"; }
installed="$consumer/node_modules/fastify-directory-sync"
pass "consumer install (fastify $(node -p "require('$consumer/node_modules/fastify/package.json').version"))"

echo "--- runtime: ESM and CommonJS consumers"
(cd "$consumer" && node esm.mjs) && pass "ESM consumer (esm.mjs): register, directory, SCIM POST /Users 201" || fail "ESM consumer (esm.mjs)"
(cd "$consumer" && node cjs.cjs) && pass "CommonJS consumer (cjs.cjs): register, directory, SCIM POST /Users 201" || fail "CommonJS consumer (cjs.cjs)"

echo "--- the installed command line"
cli_db="$work/cli.db"
(cd "$consumer" && ./node_modules/.bin/fastify-directory-sync directories create --db "$cli_db" --external-url http://127.0.0.1:3000 --tenant t --product p --json > "$work/cli.json") \
  && node -e "const d = JSON.parse(require('fs').readFileSync('$work/cli.json', 'utf8')); if (!String(d.scim?.endpoint ?? d.directory?.scim?.endpoint).startsWith('http://127.0.0.1:3000/api/scim/v2.0/')) process.exit(1)" \
  && pass "bin fastify-directory-sync: directories create --json against a sqlite file" || fail "bin fastify-directory-sync"

echo "--- types: strict .mts and .cts consumers, TypeScript 5.9 and 7.0"
for ts in typescript5 typescript7; do
  tsc="$consumer/node_modules/$ts/bin/tsc"
  version=$(cd "$consumer" && node "$tsc" -v 2>&1)
  (cd "$consumer" && node "$tsc" -p tsconfig.json) && pass "tsc $ts ($version): types-esm.mts, types-cjs.cts" || fail "tsc $ts ($version)"
done

echo "--- attw (are the types wrong)"
(cd "$consumer" && node_modules/.bin/attw "$tarball" --format ascii) && pass "attw: no problems" || fail "attw"

echo "--- source maps resolve their sources"
node - "$installed" <<'EOF' && pass "source maps: every source resolves" || fail "source maps"
const fs = require('node:fs')
const path = require('node:path')
const dir = process.argv[2]
const walk = (d) => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)])
const files = walk(dir)
const maps = files.filter((f) => f.endsWith('.js.map'))
const problems = []
let sources = 0
let inline = 0
for (const map of maps) {
  const json = JSON.parse(fs.readFileSync(map, 'utf8'))
  json.sources.forEach((source, i) => {
    sources++
    if (typeof json.sourcesContent?.[i] === 'string') { inline++; return }
    const file = path.resolve(path.dirname(map), json.sourceRoot ?? '', source)
    if (!fs.existsSync(file)) problems.push(`${path.relative(dir, map)}: ${source} (not shipped, no sourcesContent)`)
  })
}
for (const js of files.filter((f) => f.endsWith('.js'))) {
  const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(fs.readFileSync(js, 'utf8'))?.[1]
  if (url === undefined) problems.push(`${path.relative(dir, js)}: no sourceMappingURL`)
  else if (!url.startsWith('data:') && !fs.existsSync(path.resolve(path.dirname(js), url))) problems.push(`${path.relative(dir, js)}: ${url} missing`)
}
if (maps.length === 0) problems.push('no .js.map files in the package')
console.log(`${maps.length} maps, ${sources} sources (${inline} embedded in sourcesContent, ${sources - inline} as files)`)
for (const p of problems.slice(0, 20)) console.error('  ' + p)
if (problems.length > 20) console.error(`  ... and ${problems.length - 20} more`)
process.exit(problems.length === 0 ? 0 : 1)
EOF

summary
[ "$failed" -eq 0 ]
