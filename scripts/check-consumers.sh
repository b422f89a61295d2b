#!/usr/bin/env bash
# Replaced by scripts/check-package.sh (the packed tarball in ESM, CommonJS and TypeScript consumers).
exec bash "$(dirname "$0")/check-package.sh" "$@"
