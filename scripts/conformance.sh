#!/usr/bin/env bash
# Runs Okta's and Microsoft's SCIM conformance suites (../shared/conformance) against the example server,
# each suite on a fresh directory, and fails if any assertion fails that is not a documented deviation
# (scripts/conformance-deviations.json, explained in the README).
#   npm run conformance        CONFORMANCE_DIR=../shared/conformance PORT=3999
set -uo pipefail
cd "$(dirname "$0")/.."
suite_dir=${CONFORMANCE_DIR:-../shared/conformance}
if [ ! -f "$suite_dir/run.sh" ]; then
  echo "conformance: the suites were not found: $suite_dir/run.sh does not exist." >&2
  echo "  They live in the project's shared folder beside this checkout (../shared/conformance);" >&2
  echo "  set CONFORMANCE_DIR to where they are. Nothing was run, so this counts as a failure." >&2
  exit 2
fi
port=${PORT:-3999}
data=$(mktemp -d /tmp/dsync-conformance.XXXXXX)
out="$data/logs"
export DATA_DIR="$data" PORT="$port" HOST=127.0.0.1 LOG_LEVEL=warn
if curl -s -o /dev/null "http://127.0.0.1:$port/"; then
  echo "conformance: port $port is already in use; set PORT to a free one" >&2
  exit 1
fi
# node itself (not an npx or tsx wrapper), so that the trap stops the server and not only its parent.
node --import tsx examples/server.ts > "$data/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null' EXIT
for _ in $(seq 1 60); do
  curl -s -o /dev/null "http://127.0.0.1:$port/" && break
  kill -0 $server 2>/dev/null || { echo "conformance: the example server did not start:" >&2; cat "$data/server.log" >&2; exit 1; }
  sleep 0.5
done
NEWDIR_CMD="DATA_DIR='$data' PORT=$port node --import tsx examples/directory.ts create --tenant conformance-\$RANDOM" \
  OUT="$out" bash "$suite_dir/run.sh" "http://127.0.0.1:$port/unused" unused
node scripts/conformance-check.mjs "$out" scripts/conformance-deviations.json
