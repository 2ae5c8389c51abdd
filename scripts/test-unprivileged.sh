#!/usr/bin/env bash
# The core crate's tests as an unprivileged user. Root may raise SO_SNDBUF past
# net.core.wmem_max (SO_SNDBUFFORCE), so under root the "too big for this socket" errors
# never happen; most users are not root. As root: build the test binaries, copy them where
# `nobody` can run them, and run them as `nobody`. Otherwise: plain `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  exec cargo test -p unixgram-core
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cargo test -q -p unixgram-core --no-run --message-format=json |
  python3 -c 'import sys, json
for line in sys.stdin:
    msg = json.loads(line)
    if msg.get("executable") and msg.get("profile", {}).get("test"):
        print(msg["executable"])' |
  while read -r bin; do cp "$bin" "$dir/"; done
chmod -R a+rX "$dir"
cd "$dir"
for bin in "$dir"/*; do
  echo "-- $(basename "$bin") as nobody"
  setpriv --reuid=65534 --regid=65534 --clear-groups "$bin" -q
done
