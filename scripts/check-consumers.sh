#!/usr/bin/env bash
# Proves the dual build: an ESM and a CommonJS consumer import the built package and register it, and
# TypeScript resolves the declarations of both. Run after `npm run build`.
set -euo pipefail
cd "$(dirname "$0")/.."
node test/consumers/esm.mjs
node test/consumers/cjs.cjs
node node_modules/typescript/bin/tsc -p test/consumers/tsconfig.json
echo "types: ok"
